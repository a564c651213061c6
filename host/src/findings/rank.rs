//! Ranking and de-duplication of the findings of one run.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::{Finding, Kind};

/// Kinds that matter more come first when scores tie.
fn kind_priority(kind: Kind) -> u8 {
    match kind {
        Kind::Regression => 0,
        Kind::RootCause => 1,
        Kind::Mitigation => 2,
        Kind::Opportunity => 3,
        Kind::Info => 4,
    }
}

/// Drops repeated fingerprints (keeping the higher-scoring copy) and orders the rest: highest
/// score first, then by kind, then by title so equal findings keep a stable order.
pub fn rank(findings: Vec<Finding>) -> Vec<Finding> {
    let mut best: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        match best.get(&f.id) {
            Some(&i) if kept[i].score() >= f.score() => {}
            Some(&i) => kept[i] = f,
            None => {
                best.insert(f.id.clone(), kept.len());
                kept.push(f);
            }
        }
    }
    kept.sort_by(|a, b| {
        b.score()
            .partial_cmp(&a.score())
            .unwrap_or(Ordering::Equal)
            .then(kind_priority(a.kind).cmp(&kind_priority(b.kind)))
            .then_with(|| a.title.cmp(&b.title))
    });
    kept
}
