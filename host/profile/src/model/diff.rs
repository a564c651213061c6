//! Per-function differences between two profiles: flat and cumulative values of each function
//! (matched by name) in a base and a new profile, absolute and relative, optionally with the
//! base scaled to the new profile's total (pprof's `-normalize`).

use std::collections::HashMap;

use super::Profile;

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDelta {
    pub name: String,
    pub base_self: i64,
    pub base_total: i64,
    pub new_self: i64,
    pub new_total: i64,
}

impl FunctionDelta {
    pub fn self_delta(&self) -> i64 {
        self.new_self.saturating_sub(self.base_self)
    }

    pub fn total_delta(&self) -> i64 {
        self.new_total.saturating_sub(self.base_total)
    }

    /// `(new - base) / base` of the cumulative value; `None` when the function is new.
    pub fn total_relative(&self) -> Option<f64> {
        (self.base_total != 0).then(|| self.total_delta() as f64 / self.base_total as f64)
    }

    /// `(new - base) / base` of the flat value; `None` when there was no flat time before.
    pub fn self_relative(&self) -> Option<f64> {
        (self.base_self != 0).then(|| self.self_delta() as f64 / self.base_self as f64)
    }
}

/// How to order a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffOrder {
    /// Largest absolute change of the flat value first.
    BySelf,
    /// Largest absolute change of the cumulative value first.
    ByTotal,
}

fn per_name(p: &Profile, t: usize) -> HashMap<&str, (i64, i64)> {
    let mut out: HashMap<&str, (i64, i64)> = HashMap::new();
    for f in 0..p.functions.len() as u32 {
        let s = p.function_stat(f, t);
        if s.self_value == 0 && s.total_value == 0 {
            continue;
        }
        let slot = out.entry(p.function_name(f)).or_default();
        slot.0 = slot.0.saturating_add(s.self_value);
        slot.1 = slot.1.saturating_add(s.total_value);
    }
    out
}

/// Every function present in either profile, with its values in both, ordered by the size of
/// its change (ties by name). With `normalize`, base values are scaled by
/// `new total / base total` first, so a longer or busier capture does not look like a
/// regression everywhere.
pub fn diff(
    base: &Profile,
    base_type: usize,
    new: &Profile,
    new_type: usize,
    normalize: bool,
    order: DiffOrder,
) -> Vec<FunctionDelta> {
    let scale = if normalize {
        let (b, n) = (base.totals()[base_type], new.totals()[new_type]);
        if b == 0 { 1.0 } else { n as f64 / b as f64 }
    } else {
        1.0
    };
    let scaled = |v: i64| (v as f64 * scale).round() as i64;
    let before = per_name(base, base_type);
    let after = per_name(new, new_type);
    let mut names: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    let mut out: Vec<FunctionDelta> = names
        .into_iter()
        .map(|name| {
            let (bs, bt) = before.get(name).copied().unwrap_or_default();
            let (ns, nt) = after.get(name).copied().unwrap_or_default();
            FunctionDelta {
                name: name.to_string(),
                base_self: scaled(bs),
                base_total: scaled(bt),
                new_self: ns,
                new_total: nt,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |d: &FunctionDelta| match order {
            DiffOrder::BySelf => d.self_delta().unsigned_abs(),
            DiffOrder::ByTotal => d.total_delta().unsigned_abs(),
        };
        key(b).cmp(&key(a)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::load_bytes;

    #[test]
    fn deltas_by_function_name() {
        let base = load_bytes("base", b"main;parse 60\nmain;render 40\n").unwrap();
        let new = load_bytes("new", b"main;parse 90\nmain;render 40\nmain;log 10\n").unwrap();
        let d = diff(&base, 0, &new, 0, false, DiffOrder::BySelf);
        let parse = &d[0];
        assert_eq!(parse.name, "parse");
        assert_eq!(
            (parse.base_self, parse.new_self, parse.self_delta()),
            (60, 90, 30)
        );
        assert_eq!(parse.self_relative(), Some(0.5));
        assert_eq!(d[1].name, "log");
        assert_eq!(d[1].total_relative(), None);
        let main = d.iter().find(|x| x.name == "main").unwrap();
        assert_eq!((main.base_total, main.new_total), (100, 140));

        // Normalised: the base is scaled to the new total (140 / 100).
        let d = diff(&base, 0, &new, 0, true, DiffOrder::ByTotal);
        let render = d.iter().find(|x| x.name == "render").unwrap();
        assert_eq!((render.base_total, render.new_total), (56, 40));
    }
}
