//! The columnar store a metric set is held in: per series its key (name and labels), its values
//! as one `f64` column, and its timestamps as a *grid* shared with every other series that has
//! exactly the same times.
//!
//! A fleet's series are mostly sampled on one clock, so 100,000 series of 1,000 points hold one
//! 1,000-entry grid and 100,000 value columns: 8 bytes a point, where a `(time, value)` pair per
//! point would take 16 and the parsed rows before grouping three times that. Series with gaps
//! or their own clocks get grids of their own, so the bound is 16 bytes a point plus the keys.
//!
//! [`Columns`] builds the store while rows arrive in file order, without ever holding a time per
//! point: each series is a position in a trie of growing grids (a series that agrees with the
//! grid it is on only advances; one that disagrees forks a grid, and later series that disagree
//! the same way follow the fork). [`Columns::finish`] sorts the series whose clock went back,
//! keeps the last of repeated times, and interns the final grids by content ([`Grids`]).

use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

/// Timestamps shared by every series sampled at exactly those times.
pub type Grid = Arc<[i64]>;

/// One time series: a name, labels, and points sorted by time, at most one per time.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    /// Sorted by key; two series with the same name differ in their labels.
    pub labels: Vec<(String, String)>,
    times: Grid,
    values: Box<[f64]>,
}

/// One value at one time. The time is in the units of [`super::MetricSet::time_format`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

impl Series {
    /// A series on `times` (sorted, distinct; usually from [`Grids::intern`]) with one value a
    /// time. Extra values or times past the shorter of the two are dropped.
    pub fn new(
        name: String,
        labels: Vec<(String, String)>,
        times: Grid,
        mut values: Vec<f64>,
    ) -> Self {
        let times = if values.len() < times.len() {
            Arc::from(&times[..values.len()])
        } else {
            values.truncate(times.len());
            times
        };
        Series {
            name,
            labels,
            times,
            values: values.into_boxed_slice(),
        }
    }

    /// Its timestamps, sorted and distinct: the shared grid.
    pub fn times(&self) -> &[i64] {
        &self.times
    }

    /// Its values, one per timestamp.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The grid itself, to tell which series share one.
    pub fn grid(&self) -> &Grid {
        &self.times
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> Option<Point> {
        Some(Point {
            t: *self.times.get(i)?,
            v: *self.values.get(i)?,
        })
    }

    /// Its points in time order (made on the fly; nothing is stored per point but the value).
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point> + '_ {
        self.times
            .iter()
            .zip(self.values.iter())
            .map(|(&t, &v)| Point { t, v })
    }

    /// `cpu{host=a,region=eu}`, or `cpu` without labels: how reports and shards name it.
    pub fn title(&self) -> String {
        title(&self.name, &self.labels)
    }
}

/// `cpu{host=a,region=eu}`, or `cpu` without labels (labels as given: sorted in a series).
pub fn title(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2 + labels.len() * 16);
    out.push_str(name);
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out.push('}');
    out
}

/// Grids interned by content: equal timestamps, one allocation.
#[derive(Default)]
pub struct Grids {
    by_hash: FxHashMap<u64, Vec<Grid>>,
}

impl Grids {
    /// The grid holding exactly `times`, shared with every earlier caller that gave the same.
    pub fn intern(&mut self, times: &[i64]) -> Grid {
        let mut hasher = FxHasher::default();
        times.hash(&mut hasher);
        let same = self.by_hash.entry(hasher.finish()).or_default();
        if let Some(grid) = same.iter().find(|g| ***g == *times) {
            return grid.clone();
        }
        let grid: Grid = Arc::from(times);
        same.push(grid.clone());
        grid
    }
}

/// Bytes a metric set holds, by kind: what the store costs a point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    pub series: usize,
    pub points: usize,
    /// Distinct grids, and the bytes of their timestamps.
    pub grids: usize,
    pub grid_bytes: usize,
    /// Values: 8 bytes a point.
    pub value_bytes: usize,
    /// Names, labels and the per-series bookkeeping.
    pub key_bytes: usize,
}

impl Footprint {
    pub fn of(series: &[Series]) -> Footprint {
        let mut seen: FxHashMap<*const i64, ()> = FxHashMap::default();
        let mut f = Footprint {
            series: series.len(),
            ..Footprint::default()
        };
        for s in series {
            f.points += s.len();
            f.value_bytes += std::mem::size_of_val(s.values());
            if seen.insert(s.times.as_ptr(), ()).is_none() {
                f.grids += 1;
                f.grid_bytes += std::mem::size_of_val(s.times());
            }
            f.key_bytes += std::mem::size_of::<Series>()
                + s.name.len()
                + s.labels
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + std::mem::size_of::<(String, String)>())
                    .sum::<usize>();
        }
        f
    }

    /// Values and grids a point, leaving out the keys.
    pub fn bytes_a_point(&self) -> f64 {
        (self.value_bytes + self.grid_bytes) as f64 / self.points.max(1) as f64
    }
}

/// What appending one point did, for the reader's warnings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Appended {
    Stored,
    /// The same time as the series' previous point (on `line`): the new value replaced it.
    Replaced {
        line: u64,
    },
    /// Earlier than the series' previous point (`t` on `line`); the first time this series
    /// went back, so it will be sorted.
    WentBack {
        t: i64,
        line: u64,
    },
}

/// One series being built: its place in the grid trie and its values.
struct Column {
    name: String,
    labels: Vec<(String, String)>,
    grid: u32,
    /// Points so far: the series' times are `grids[grid][..len]`.
    len: u32,
    values: Vec<f64>,
    /// The line of its last point, for duplicate warnings.
    last_line: u64,
    /// The line where its clock first went back, if it did (the series is sorted at the end).
    unsorted: Option<u64>,
}

/// Builds the columnar store from points appended in file order (see the module comment).
pub(super) struct Columns {
    grids: Vec<Vec<i64>>,
    /// Where series that left grid `g` at position `at` with time `t` went: `(g, at, t) ->`
    /// grid.
    forks: FxHashMap<(u32, u32, i64), u32>,
    series: Vec<Column>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            grids: vec![Vec::new()],
            forks: FxHashMap::default(),
            series: Vec::new(),
        }
    }
}

/// A finished store: series sorted by (name, labels), and the warnings finishing raised.
pub(super) struct Finished {
    pub series: Vec<Series>,
    /// (series title, repeated times dropped, line where its clock first went back).
    pub repeated: Vec<(String, usize, u64)>,
}

impl Columns {
    /// A new, empty series; its id for [`Columns::append`].
    pub fn add_series(&mut self, name: String, labels: Vec<(String, String)>) -> u32 {
        self.series.push(Column {
            name,
            labels,
            grid: 0,
            len: 0,
            values: Vec::new(),
            last_line: 0,
            unsorted: None,
        });
        (self.series.len() - 1) as u32
    }

    pub fn title(&self, id: u32) -> String {
        let c = &self.series[id as usize];
        title(&c.name, &c.labels)
    }

    /// Appends one point to series `id` (from [`Columns::add_series`]).
    pub fn append(&mut self, id: u32, t: i64, v: f64, line: u64) -> Appended {
        let c = &mut self.series[id as usize];
        let (g, at) = (c.grid as usize, c.len as usize);
        let mut outcome = Appended::Stored;
        if at > 0 && c.unsorted.is_none() {
            let last = self.grids[g][at - 1];
            if t == last {
                if let Some(slot) = c.values.last_mut() {
                    *slot = v;
                }
                let before = c.last_line;
                c.last_line = line;
                return Appended::Replaced { line: before };
            }
            if t < last {
                c.unsorted = Some(line);
                outcome = Appended::WentBack {
                    t: last,
                    line: c.last_line,
                };
            }
        }
        let grid = &mut self.grids[g];
        if grid.len() == at {
            grid.push(t);
        } else if grid[at] != t {
            let key = (g as u32, at as u32, t);
            c.grid = match self.forks.entry(key) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let mut fork = Vec::with_capacity(at + 1);
                    fork.extend_from_slice(&grid[..at]);
                    fork.push(t);
                    self.grids.push(fork);
                    *e.insert((self.grids.len() - 1) as u32)
                }
            };
        }
        c.len += 1;
        c.values.push(v);
        c.last_line = line;
        outcome
    }

    /// The store: series sorted by (name, labels), their clocks sorted, the last of repeated
    /// times kept (stable sort: equal times stay in file order), grids shared by content.
    pub fn finish(self) -> Finished {
        let Columns {
            grids, mut series, ..
        } = self;
        series.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        let mut interned = Grids::default();
        let mut by_prefix: FxHashMap<(u32, u32), Grid> = FxHashMap::default();
        let mut repeated = Vec::new();
        let mut out = Vec::with_capacity(series.len());
        // Series whose every row was skipped (their key was read first) hold nothing.
        for c in series.into_iter().filter(|c| c.len > 0) {
            let times = &grids[c.grid as usize][..c.len as usize];
            let (times, mut values) = if let Some(went_back) = c.unsorted {
                let (times, values, dropped) = sort_keeping_last(times, c.values);
                if dropped > 0 {
                    repeated.push((title(&c.name, &c.labels), dropped, went_back));
                }
                (interned.intern(&times), values)
            } else {
                let grid = by_prefix
                    .entry((c.grid, c.len))
                    .or_insert_with(|| interned.intern(times))
                    .clone();
                (grid, c.values)
            };
            values.shrink_to_fit();
            out.push(Series::new(c.name, c.labels, times, values));
        }
        Finished {
            series: out,
            repeated,
        }
    }
}

/// Points sorted by time (stably), the last of each run of equal times kept; and how many
/// were dropped.
fn sort_keeping_last(times: &[i64], values: Vec<f64>) -> (Vec<i64>, Vec<f64>, usize) {
    let mut order: Vec<u32> = (0..times.len() as u32).collect();
    order.sort_by_key(|&i| times[i as usize]);
    let mut t_out: Vec<i64> = Vec::with_capacity(times.len());
    let mut v_out: Vec<f64> = Vec::with_capacity(times.len());
    for i in order {
        let (t, v) = (times[i as usize], values[i as usize]);
        match (t_out.last(), v_out.last_mut()) {
            (Some(&last), Some(slot)) if last == t => *slot = v,
            _ => {
                t_out.push(t);
                v_out.push(v);
            }
        }
    }
    let dropped = times.len() - t_out.len();
    (t_out, v_out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(columns: &Columns, id: usize) -> (&[i64], &[f64]) {
        let c = &columns.series[id];
        (&columns.grids[c.grid as usize][..c.len as usize], &c.values)
    }

    #[test]
    fn series_on_one_clock_share_one_grid_and_gaps_fork_it_once() {
        let mut columns = Columns::default();
        let ids: Vec<u32> = (0..4)
            .map(|i| columns.add_series(format!("s{i}"), Vec::new()))
            .collect();
        // Time-major order; series 2 and 3 both miss time 30.
        for t in [10, 20, 30, 40] {
            for &id in &ids {
                if t == 30 && id >= 2 {
                    continue;
                }
                assert_eq!(columns.append(id, t, t as f64, 1), Appended::Stored);
            }
        }
        assert_eq!(column(&columns, 3).0, [10, 20, 40]);
        assert_eq!(columns.grids.len(), 2, "one fork for both gapped series");
        let finished = columns.finish();
        let s = &finished.series;
        assert!(Arc::ptr_eq(s[0].grid(), s[1].grid()));
        assert!(Arc::ptr_eq(s[2].grid(), s[3].grid()));
        assert_eq!(s[2].times(), [10, 20, 40]);
        assert_eq!(s[2].values(), [10.0, 20.0, 40.0]);
        let f = Footprint::of(s);
        assert_eq!((f.points, f.grids, f.grid_bytes), (14, 2, 56));
    }

    #[test]
    fn a_clock_that_goes_back_is_sorted_and_repeated_times_keep_the_last() {
        let mut columns = Columns::default();
        let id = columns.add_series("cpu".into(), Vec::new());
        assert_eq!(columns.append(id, 1, 1.0, 2), Appended::Stored);
        assert_eq!(
            columns.append(id, 1, 1.5, 3),
            Appended::Replaced { line: 2 }
        );
        assert_eq!(columns.append(id, 3, 3.0, 4), Appended::Stored);
        assert_eq!(
            columns.append(id, 2, 2.0, 5),
            Appended::WentBack { t: 3, line: 4 }
        );
        assert_eq!(columns.append(id, 3, 3.5, 6), Appended::Stored);
        let finished = columns.finish();
        let s = &finished.series[0];
        assert_eq!(s.times(), [1, 2, 3]);
        assert_eq!(s.values(), [1.5, 2.0, 3.5]);
        assert_eq!(finished.repeated, vec![("cpu".to_string(), 1, 5)]);
    }

    #[test]
    fn series_new_drops_what_the_shorter_side_lacks() {
        let s = Series::new("a".into(), Vec::new(), Arc::from(&[1, 2, 3][..]), vec![1.0]);
        assert_eq!((s.times(), s.values()), (&[1][..], &[1.0][..]));
        let s = Series::new("a".into(), Vec::new(), Arc::from(&[1][..]), vec![1.0, 2.0]);
        assert_eq!(s.points().collect::<Vec<_>>(), [Point { t: 1, v: 1.0 }]);
    }
}
