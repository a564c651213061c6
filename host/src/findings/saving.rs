//! What fixing an opportunity saves, in cores and watts, for the operator's fleet.
//!
//! A skill says what share of the profile its fix removes (the `saving` measure, unit `share`;
//! without one, the share of the profile the finding accounts for). The profile stands for the
//! program across the fleet, so the share of the fleet's cores it frees is that share, and the
//! power is those cores at the operator's watts a core. A stated saving of 0 says the fix frees
//! no CPU the skill can measure (time goroutines waited on a lock; memory, with no CPU profile
//! to price it): no saving is shown, rather than 0 cores.

use serde::{Deserialize, Serialize};

use super::{Finding, Kind};

/// The evidence measure (unit `share`) in which a skill states what its fix removes.
pub const SAVING_MEASURE: &str = "saving";

/// The operator's fleet: how many cores run the profiled program, and what a core draws.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub cores: f64,
    pub watts_per_core: f64,
}

impl Fleet {
    /// A mid-sized service: 1,000 cores.
    pub const DEFAULT_CORES: f64 = 1000.0;
    /// A two-socket server draws about 500 W at the wall for 96 cores (5.2 W a core); cooling
    /// and power distribution add about a tenth (PUE 1.1).
    pub const DEFAULT_WATTS_PER_CORE: f64 = 6.0;

    /// What fixing `finding` saves, for opportunities with a share.
    pub fn saving(&self, finding: &Finding) -> Option<Saving> {
        if finding.kind != Kind::Opportunity {
            return None;
        }
        let stated = finding
            .evidence
            .iter()
            .find(|m| m.name == SAVING_MEASURE && m.unit == "share")
            .map(|m| m.value);
        let share = stated.or(finding.impact.sample_share)?;
        if !share.is_finite() || stated == Some(0.0) {
            return None;
        }
        let share = share.clamp(0.0, 1.0);
        let cores = share * self.cores;
        Some(Saving {
            share,
            cores,
            watts: cores * self.watts_per_core,
        })
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            cores: Self::DEFAULT_CORES,
            watts_per_core: Self::DEFAULT_WATTS_PER_CORE,
        }
    }
}

/// An opportunity's estimated saving.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// The share of the profile the fix removes (0..1).
    pub share: f64,
    /// Cores freed across the fleet.
    pub cores: f64,
    /// Power saved across the fleet, in watts.
    pub watts: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Impact, Measure};

    fn finding(kind: Kind, share: Option<f64>, stated: Option<f64>) -> Finding {
        Finding {
            id: String::new(),
            skill: "s".into(),
            kind,
            rule: "r".into(),
            title: Default::default(),
            message: Default::default(),
            locations: Vec::new(),
            impact: Impact {
                sample_share: share,
                ..Impact::default()
            },
            confidence: 1.0,
            evidence: stated
                .map(|v| Measure {
                    name: SAVING_MEASURE.into(),
                    value: v,
                    unit: "share".into(),
                })
                .into_iter()
                .collect(),
            edits: Vec::new(),
            patch: None,
            patch_error: None,
            series: None,
            at: None,
            labels: Default::default(),
            saving: None,
            overlaps: Vec::new(),
        }
    }

    #[test]
    fn cores_and_watts_from_the_stated_or_the_finding_share() {
        let fleet = Fleet {
            cores: 2000.0,
            watts_per_core: 5.0,
        };
        let s = fleet
            .saving(&finding(Kind::Opportunity, Some(0.1), Some(0.08)))
            .unwrap();
        assert_eq!((s.share, s.cores, s.watts), (0.08, 160.0, 800.0));
        let s = fleet
            .saving(&finding(Kind::Opportunity, Some(0.1), None))
            .unwrap();
        assert_eq!((s.cores, s.watts), (200.0, 1000.0));
        assert!(
            fleet
                .saving(&finding(Kind::Info, Some(0.1), None))
                .is_none()
        );
        assert!(
            fleet
                .saving(&finding(Kind::Opportunity, None, None))
                .is_none()
        );
        let odd = fleet
            .saving(&finding(Kind::Opportunity, Some(0.1), Some(7.0)))
            .unwrap();
        assert_eq!(odd.share, 1.0);
        // A stated saving of 0: the fix frees no CPU the skill can measure.
        assert!(
            fleet
                .saving(&finding(Kind::Opportunity, Some(0.9), Some(0.0)))
                .is_none()
        );
        assert!(
            fleet
                .saving(&finding(Kind::Opportunity, Some(f64::NAN), None))
                .is_none()
        );
    }
}
