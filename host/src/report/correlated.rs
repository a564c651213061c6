//! Correlated regressions that shards found apart, joined in `joule merge`: one cause seen in
//! several series (a function's inclusive share and every caller's) is one regression, but its
//! series may hash to different shards. Each shard reports its groups with the
//! `correlation-group` label (docs/findings.md): the threshold and reach the skill compared
//! with, the window of the group's strongest member, and every member's size. The merge joins
//! groups as the skill joins series within one process: strongest first, each compared with the
//! groups kept before it nearest in time, over the same stretch of points, and joined to the
//! first that correlates at least the threshold; the joined group is reported as the member the
//! change concentrates in, with the others in `also` and the as-concentrated in `alike`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use joule_stats::{alike, correlation, lead};

use crate::findings::{Finding, Kind};
use crate::untrusted::Untrusted;

/// The label a group travels in.
pub const LABEL: &str = "correlation-group";

/// Groups a regression is compared with, at most (regression-detect's `MAX_COMPARED`).
const MAX_COMPARED: usize = 256;

/// Points a signature may hold: far more than any reach a skill compares over.
const MAX_POINTS: usize = 100_000;

/// What a `correlation-group` label holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    /// Correlation at or above which two changes are one.
    threshold: f64,
    /// Points apart two changes may be and still be one.
    near: usize,
    /// Points each side of a change over which the correlation is taken.
    stretch: usize,
    signature: Signature,
    /// Every member, strongest first.
    members: Vec<Member>,
}

/// The window of a group's strongest member: its values (less the first; only their shape
/// counts) and times, and where the change is in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Signature {
    series: String,
    /// Position in `values` of the first point after the change.
    change: usize,
    /// Evenly spaced times: the first and the spacing...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    step: Option<i64>,
    /// ...or every time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<Vec<i64>>,
    values: Vec<Option<f32>>,
}

/// One member's change: its likelihood ratio (the strength groups are ordered by), absolute
/// and relative size.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    series: String,
    llr: f64,
    change: f64,
    relative: f64,
}

impl Signature {
    fn time(&self, position: usize) -> Option<i64> {
        if position >= self.values.len() {
            return None;
        }
        match (&self.times, self.start, self.step) {
            (Some(times), _, _) => times.get(position).copied(),
            (None, Some(start), Some(step)) => {
                start.checked_add(step.checked_mul(i64::try_from(position).ok()?)?)
            }
            _ => None,
        }
    }

    fn position(&self, time: i64) -> Option<usize> {
        match (&self.times, self.start, self.step) {
            (Some(times), _, _) => times.iter().position(|&t| t == time),
            (None, Some(start), Some(step)) if step != 0 => {
                let offset = time.checked_sub(start)?;
                if offset % step != 0 {
                    return None;
                }
                let p = usize::try_from(offset / step).ok()?;
                (p < self.values.len()).then_some(p)
            }
            (None, Some(start), _) => (time == start && !self.values.is_empty()).then_some(0),
            _ => None,
        }
    }

    /// Whether the signature can be used: a change inside it, times for every point.
    fn usable(&self) -> bool {
        let n = self.values.len();
        let times_fit = match (&self.times, self.start, self.step) {
            (Some(times), _, _) => times.len() == n,
            (None, Some(_), Some(_)) => true,
            _ => false,
        };
        n <= MAX_POINTS && self.change < n && times_fit
    }
}

/// A regression finding with its group, as the merge reads it.
struct Candidate {
    finding: usize,
    group: Group,
    /// The metric set and skill: only groups of the same are compared.
    scope: (String, String),
}

impl Candidate {
    fn strength(&self) -> f64 {
        self.group
            .members
            .first()
            .map_or(f64::NEG_INFINITY, |m| m.llr)
    }

    /// Time of the change in the signature.
    fn at(&self) -> Option<i64> {
        self.group.signature.time(self.group.signature.change)
    }

    /// Whether this (weaker) group's change is the same as `kept`'s: within `near` points of
    /// it, the stretch around it at the same times in both, correlating at least the threshold.
    fn same_as(&self, kept: &Candidate) -> bool {
        let (mine, theirs) = (&self.group.signature, &kept.group.signature);
        let index = mine.change;
        let from = index.saturating_sub(self.group.stretch);
        let to = (index.saturating_add(self.group.stretch)).min(mine.values.len());
        if to <= from {
            return false;
        }
        let (Some(first), Some(last), Some(at)) =
            (mine.time(from), mine.time(to - 1), mine.time(index))
        else {
            return false;
        };
        let (Some(p_first), Some(p_last), Some(p_at)) = (
            theirs.position(first),
            theirs.position(last),
            theirs.position(at),
        ) else {
            return false;
        };
        if p_last < p_first || p_last - p_first != to - 1 - from {
            return false;
        }
        if p_at.abs_diff(theirs.change) > self.group.near {
            return false;
        }
        let a: Option<Vec<f32>> = mine.values[from..to].iter().copied().collect();
        let b: Option<Vec<f32>> = theirs.values[p_first..=p_last].iter().copied().collect();
        match (a, b) {
            (Some(a), Some(b)) => correlation(&a, &b) >= self.group.threshold,
            _ => false,
        }
    }
}

/// Joins the regressions in `findings` whose `correlation-group` says they are one change,
/// keeping one finding per joined group (the member the change concentrates in, labels
/// updated); every other finding is kept as it is. Returns how many findings were joined into
/// another. A label that does not read is left alone: that finding is kept on its own.
pub fn join(mut findings: Vec<Finding>) -> (Vec<Finding>, usize) {
    let mut candidates: Vec<Candidate> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == Kind::Regression)
        .filter_map(|(i, f)| {
            let text = f.labels.get(&Untrusted::from(LABEL))?;
            let group: Group = serde_json::from_str(text.raw()).ok()?;
            let finite = group.threshold.is_finite()
                && group
                    .members
                    .iter()
                    .all(|m| m.llr.is_finite() && m.change.is_finite() && m.relative.is_finite());
            if !finite || group.members.is_empty() || !group.signature.usable() {
                return None;
            }
            let set = f
                .labels
                .get(&Untrusted::from("metric-set"))
                .map(|s| s.raw().to_string())
                .unwrap_or_default();
            Some(Candidate {
                finding: i,
                group,
                scope: (f.skill.clone(), set),
            })
        })
        .collect();
    // Strongest first; the finding id settles a tie, so the order does not depend on which
    // shard's report came first.
    candidates.sort_by(|a, b| {
        b.strength()
            .total_cmp(&a.strength())
            .then_with(|| findings[a.finding].id.cmp(&findings[b.finding].id))
    });

    // Heads of the joined groups, by scope and time of the change; each joined group's members.
    let mut heads: HashMap<(String, String), BTreeMap<i64, Vec<usize>>> = HashMap::new();
    let mut joined: Vec<Vec<usize>> = Vec::new();
    for c in 0..candidates.len() {
        let me = &candidates[c];
        let sig = &me.group.signature;
        let near = me.group.near;
        let low = sig.time(sig.change.saturating_sub(near));
        let high = sig.time(
            sig.change
                .saturating_add(near)
                .min(sig.values.len().saturating_sub(1)),
        );
        let mut twin = None;
        if let (Some(at), Some(low), Some(high), Some(by_time)) =
            (me.at(), low, high, heads.get(&me.scope))
        {
            let (low, high) = (low.min(high), high.max(low));
            let mut after = by_time.range(at..=high).peekable();
            let mut before = by_time.range(low..at).rev().peekable();
            let mut compared = 0;
            'search: while compared < MAX_COMPARED {
                let next = match (after.peek(), before.peek()) {
                    (Some(a), Some(b)) if a.0.abs_diff(at) <= b.0.abs_diff(at) => after.next(),
                    (Some(_), None) => after.next(),
                    (_, Some(_)) => before.next(),
                    (None, None) => break,
                };
                let Some((_, ks)) = next else { break };
                for &k in ks {
                    if compared >= MAX_COMPARED {
                        break 'search;
                    }
                    compared += 1;
                    let head = joined[k][0];
                    if me.same_as(&candidates[head]) {
                        twin = Some(k);
                        break 'search;
                    }
                }
            }
        }
        match twin {
            Some(k) => {
                joined[k].push(c);
            }
            None => {
                if let Some(at) = me.at() {
                    heads
                        .entry(me.scope.clone())
                        .or_default()
                        .entry(at)
                        .or_default()
                        .push(joined.len());
                }
                joined.push(vec![c]);
            }
        }
    }

    let mut drop = vec![false; findings.len()];
    let mut count = 0;
    for group in joined.iter().filter(|g| g.len() > 1) {
        let head = &candidates[group[0]];
        let mut members: Vec<Member> = group
            .iter()
            .flat_map(|&c| candidates[c].group.members.iter().cloned())
            .collect();
        // Strongest first, as the skill orders a group (stable: a shard's order within).
        members.sort_by(|a, b| b.llr.total_cmp(&a.llr));
        // Only the members a shard reported as its finding can be reported.
        let reported: HashMap<&str, usize> = group
            .iter()
            .map(|&c| {
                let f = candidates[c].finding;
                (findings[f].series.as_ref().map_or("", Untrusted::raw), f)
            })
            .collect();
        let sizes: Vec<(f64, f64)> = members.iter().map(|m| (m.change, m.relative)).collect();
        let allowed: Vec<bool> = members
            .iter()
            .map(|m| reported.contains_key(m.series.as_str()))
            .collect();
        let Some(lead) = lead(&sizes, |i| allowed[i]) else {
            continue;
        };
        let alike = alike(&sizes, lead);
        let Some(&keep) = reported.get(members[lead].series.as_str()) else {
            continue;
        };
        let names = |pick: &dyn Fn(usize) -> bool| -> Vec<String> {
            (0..members.len())
                .filter(|&k| k != lead && pick(k))
                .map(|k| members[k].series.clone())
                .collect()
        };
        let also = names(&|_| true);
        let alike = names(&|k| alike.contains(&k));
        let label = Group {
            signature: head.group.signature.clone(),
            members,
            ..head.group.clone()
        };
        let f = &mut findings[keep];
        set_label(f, "also", also.join(","));
        set_label(f, "alike", alike.join(","));
        set_label(f, LABEL, serde_json::to_string(&label).unwrap_or_default());
        for &c in group {
            if candidates[c].finding != keep {
                drop[candidates[c].finding] = true;
                count += 1;
            }
        }
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    (findings, count)
}

fn set_label(f: &mut Finding, key: &str, value: String) {
    if value.is_empty() {
        f.labels.remove(&Untrusted::from(key));
    } else {
        f.labels
            .insert(Untrusted::from(key), Untrusted::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Impact;

    /// A window of 2 x 110 points on an even grid, its change at 110: `shared` noise, a step
    /// of `step` from the change on, and a little noise of its own (seeded by `own`).
    fn window(shared: &[f64], step: f64, own: u64) -> Vec<Option<f32>> {
        let mut state = own.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let first = shared[0];
        shared
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let jitter = (state % 1000) as f64 / 1000.0 - 0.5;
                let v = s + if i >= 110 { step } else { 0.0 } + 0.05 * jitter - first;
                Some(v as f32)
            })
            .collect()
    }

    fn shared_noise(seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
        (0..220)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 10_000) as f64 / 10_000.0 - 0.5
            })
            .collect()
    }

    /// A regression-detect finding for `members` (series, llr, change, relative; the first the
    /// one reported unless `lead` says another), its window starting at `start`.
    fn regression(
        members: &[(&str, f64, f64, f64)],
        lead: usize,
        start: i64,
        values: Vec<Option<f32>>,
    ) -> Finding {
        let group = Group {
            threshold: 0.9,
            near: 25,
            stretch: 100,
            signature: Signature {
                series: members[0].0.to_string(),
                change: 110,
                start: Some(start),
                step: Some(300),
                times: None,
                values,
            },
            members: members
                .iter()
                .map(|&(series, llr, change, relative)| Member {
                    series: series.into(),
                    llr,
                    change,
                    relative,
                })
                .collect(),
        };
        let series = members[lead].0;
        let mut labels = BTreeMap::new();
        labels.insert(Untrusted::from("metric-set"), Untrusted::from("fleet.csv"));
        labels.insert(Untrusted::from("fingerprint"), Untrusted::from("t"));
        labels.insert(
            Untrusted::from(LABEL),
            Untrusted::from(serde_json::to_string(&group).unwrap()),
        );
        Finding {
            id: String::new(),
            skill: "regression-detect".into(),
            kind: Kind::Regression,
            rule: "mean-shift".into(),
            title: series.into(),
            message: String::new().into(),
            locations: Vec::new(),
            impact: Impact {
                relative_change: Some(members[lead].3),
                ..Impact::default()
            },
            confidence: 1.0,
            evidence: Vec::new(),
            edits: Vec::new(),
            patch: None,
            patch_error: None,
            series: Some(series.into()),
            at: None,
            labels,
            saving: None,
            overlaps: Vec::new(),
        }
        .fingerprinted()
    }

    fn series(findings: &[Finding]) -> Vec<&str> {
        findings
            .iter()
            .map(|f| f.series.as_ref().unwrap().raw())
            .collect()
    }

    fn label<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
        f.labels.get(&Untrusted::from(key)).map(Untrusted::raw)
    }

    #[test]
    fn groups_of_one_change_found_in_two_shards_are_one_regression() {
        let noise = shared_noise(1);
        // Shard A found main (the strongest) and the function together, reported as the
        // function; shard B a caller; shard C an unrelated series stepping at the same time.
        let a = regression(
            &[("main", 90.0, 3.0, 0.01), ("f", 80.0, 3.0, 0.30)],
            1,
            1_000,
            window(&noise, 0.3, 1),
        );
        let b = regression(
            &[("caller", 85.0, 3.0, 0.05)],
            0,
            1_000,
            window(&noise, 0.3, 2),
        );
        let c = regression(
            &[("other", 70.0, 3.0, 0.05)],
            0,
            1_000,
            window(&shared_noise(2), 0.3, 3),
        );
        let (joined, count) = join(vec![b, c, a]);
        assert_eq!(count, 1);
        assert_eq!(series(&joined), ["other", "f"]);
        let f = &joined[1];
        assert_eq!(label(f, "also"), Some("main,caller"));
        assert_eq!(label(f, "alike"), None);
        let group: Group = serde_json::from_str(label(f, LABEL).unwrap()).unwrap();
        let names: Vec<&str> = group.members.iter().map(|m| m.series.as_str()).collect();
        assert_eq!(names, ["main", "caller", "f"]);
        assert_eq!(group.signature.series, "main");
    }

    #[test]
    fn changes_apart_in_time_or_on_other_grids_stay_apart() {
        let noise = shared_noise(1);
        let a = regression(&[("a", 90.0, 3.0, 0.03)], 0, 1_000, window(&noise, 0.3, 1));
        // The same shape 30 points later (past `near`), and a day later on its own grid.
        let late = regression(
            &[("late", 80.0, 3.0, 0.03)],
            0,
            1_000 + 30 * 300,
            window(&noise, 0.3, 2),
        );
        let other_grid = regression(
            &[("shifted", 80.0, 3.0, 0.03)],
            0,
            1_000 + 150,
            window(&noise, 0.3, 3),
        );
        let (joined, count) = join(vec![a, late, other_grid]);
        assert_eq!(count, 0);
        assert_eq!(joined.len(), 3);
    }

    #[test]
    fn a_label_that_does_not_read_leaves_its_finding_alone() {
        let noise = shared_noise(1);
        let good = regression(&[("a", 90.0, 3.0, 0.03)], 0, 1_000, window(&noise, 0.3, 1));
        let template = regression(&[("b", 80.0, 3.0, 0.03)], 0, 1_000, window(&noise, 0.3, 2));
        let text = label(&template, LABEL).unwrap().to_string();
        let hostile = [
            "".to_string(),
            "{".to_string(),
            "null".to_string(),
            text.replace("\"change\":110", "\"change\":100000000"),
            text.replace("\"change\":110", "\"change\":18446744073709551615"),
            text.replace("\"near\":25", "\"near\":18446744073709551615"),
            text.replace("\"stretch\":100", "\"stretch\":18446744073709551615"),
            text.replace("\"start\":1000", "\"start\":9223372036854775807"),
            text.replace("\"step\":300", "\"step\":0"),
            text.replace("\"step\":300", "\"step\":-9223372036854775808"),
            text.replace("\"threshold\":0.9", "\"threshold\":-1e308"),
            text.replace(
                "\"members\":[",
                "\"members\":[{\"series\":\"x\",\"llr\":1e309,\"change\":1,\"relative\":1},",
            ),
            text.replace("\"step\":300,", "\"times\":[1,2,3],"),
            text.replace("\"values\":[", "\"values\":[null,"),
            text.replace(",\"members\":[{", ",\"members\":[],\"x\":[{"),
        ];
        for bad in hostile {
            let mut f = template.clone();
            f.labels
                .insert(Untrusted::from(LABEL), Untrusted::from(bad.clone()));
            let (joined, _) = join(vec![good.clone(), f]);
            // Never a panic; a finding whose label reads joins, one that does not is kept.
            assert!(!joined.is_empty(), "{bad}");
        }
    }
}
