//! Joining the reports of a sharded run (`joule run --shard K/N`, one process per shard) into
//! the report one process would have written: inputs joined, runs kept side by side, findings
//! de-duplicated by fingerprint, correlated regressions found in different shards joined
//! (`correlated`), and ranked again, dropped counts kept in their run records.

use std::collections::BTreeMap;

use super::{FORMAT_VERSION, InputsRecord, Report, RunRecord, Shard};
use crate::findings;

/// One report to merge, with the file it came from (for errors).
pub struct Part {
    pub file: String,
    pub report: Report,
}

/// Joins `parts` into one report. Refuses parts of another format version, parts of runs
/// sharded differently, and a shard given twice, naming the files. A shard no part holds gets
/// a failed record of its own (trigger `merge`): its series were not scanned.
pub fn merge(parts: Vec<Part>) -> anyhow::Result<Report> {
    let Some(first) = parts.first() else {
        anyhow::bail!("no reports to merge");
    };
    let count = first.report.shard.map(|s| s.count);
    // One report (a conversion: `joule merge r.json --format sarif`) keeps its baseline marks;
    // shards' marks are not joined.
    let baseline = match parts.as_slice() {
        [one] => one.report.baseline.clone(),
        _ => None,
    };
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for part in &parts {
        let r = &part.report;
        if r.version != FORMAT_VERSION {
            anyhow::bail!(
                "{}: field version: findings format {} (this joule reads {FORMAT_VERSION})",
                part.file,
                r.version
            );
        }
        if r.shard.map(|s| s.count) != count {
            anyhow::bail!(
                "{}: field shard: {} but {} is {}: the reports are of differently sharded runs",
                part.file,
                Shard::describe(r.shard),
                first.file,
                Shard::describe(first.report.shard)
            );
        }
        if let Some(shard) = r.shard
            && let Some(other) = seen.insert(shard.index, &part.file)
        {
            anyhow::bail!(
                "{}: field shard: shard {} is also in {other}",
                part.file,
                Shard::describe(Some(shard))
            );
        }
    }
    let missing: Vec<u32> = match count {
        Some(n) => (0..n).filter(|k| !seen.contains_key(k)).collect(),
        None => Vec::new(),
    };

    let mut inputs = InputsRecord::default();
    let mut runs = Vec::new();
    let mut all = Vec::new();
    let fleet = first.report.fleet;
    for part in parts {
        let r = part.report;
        join_inputs(&mut inputs, r.inputs);
        runs.extend(r.runs);
        all.extend(r.findings);
    }
    for k in missing {
        let shard = Shard::describe(Some(Shard {
            index: k,
            count: count.unwrap_or_default(),
        }));
        runs.push(RunRecord::by_host(
            format!("shard {shard}"),
            "merge",
            Some(
                format!("no report of shard {shard} was given: its series were not scanned").into(),
            ),
        ));
    }
    Ok(Report {
        version: FORMAT_VERSION,
        tool: super::Tool::this(),
        inputs,
        runs,
        findings: findings::rank(super::correlated::join(all).0),
        fleet,
        shard: None,
        baseline,
        combined_patch: String::new(),
    })
}

/// Adds one shard's inputs: profiles and sources once each (every shard reads them), metric
/// sets by path with their series and points summed (each shard holds its own series).
fn join_inputs(into: &mut InputsRecord, from: InputsRecord) {
    for p in from.profiles {
        if !into.profiles.iter().any(|q| q.path == p.path) {
            into.profiles.push(p);
        }
    }
    for s in from.sources {
        if !into.sources.iter().any(|t| t.name == s.name) {
            into.sources.push(s);
        }
    }
    for m in from.metrics {
        match into.metrics.iter_mut().find(|n| n.path == m.path) {
            Some(n) => {
                n.series = sum(n.series, m.series);
                n.points = sum(n.points, m.points);
                for w in m.warnings {
                    if !n.warnings.contains(&w) {
                        n.warnings.push(w);
                    }
                }
                if n.error.is_none() {
                    n.error = m.error;
                }
            }
            None => into.metrics.push(m),
        }
    }
}

fn sum(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}
