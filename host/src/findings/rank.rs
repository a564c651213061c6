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

/// How findings are ordered, best first: score ([`Finding::score`]), then kind, then strength
/// ([`strength`]: what orders findings with no share of a profile, such as regressions in a
/// metric series), then title, so equal findings keep a stable order.
pub fn order(a: &Finding, b: &Finding) -> Ordering {
    b.score()
        .total_cmp(&a.score())
        .then(kind_priority(a.kind).cmp(&kind_priority(b.kind)))
        .then_with(|| {
            let strength = |f: &Finding| strength(f.impact.relative_change, f.confidence);
            strength(b).total_cmp(&strength(a))
        })
        .then_with(|| a.title.cmp(&b.title))
}

/// The ranking key of a finding before it is one (as a skill returned it, when an
/// invocation's limits keep only the best): the same order as [`order`], titles aside.
pub fn key(
    kind: Kind,
    sample_share: Option<f64>,
    relative_change: Option<f64>,
    confidence: f64,
) -> (f64, u8, f64) {
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let confidence = finite(confidence).clamp(0.0, 1.0);
    let share = sample_share.map(|s| finite(s).clamp(0.0, 1.0));
    (
        score(kind, share, confidence),
        kind_priority(kind),
        strength(relative_change.map(finite), confidence),
    )
}

/// [`Finding::score`]'s formula.
pub fn score(kind: Kind, sample_share: Option<f64>, confidence: f64) -> f64 {
    let weight = if kind == Kind::Info { 0.5 } else { 1.0 };
    sample_share.unwrap_or(0.0) * confidence * weight
}

/// The size of a relative change times the confidence in it: 0 without one.
fn strength(relative_change: Option<f64>, confidence: f64) -> f64 {
    relative_change.map_or(0.0, f64::abs) * confidence
}

/// Drops repeated fingerprints (keeping the higher-scoring copy) and orders the rest: highest
/// first, in [`order`].
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
    kept.sort_by(order);
    kept
}
