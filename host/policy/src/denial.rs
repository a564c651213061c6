//! The one shape of a refusal: what was refused and why, and what would allow it (the policy
//! line to edit, or the policy to write). Every denial the host gives a skill, an operator or
//! the audit log is one of these.

use std::fmt;

/// A refusal and its remedy. Shown as `reason; remedy`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Denial {
    /// What was refused and why: `.env matches the built-in secret pattern ".env"`.
    pub reason: String,
    /// What would allow it, naming the policy line where there is one: `to read it, add
    /// ".env" to allow in [[skill]] "hot" (policy.toml:7)`.
    pub remedy: String,
}

impl Denial {
    pub fn new(reason: impl Into<String>, remedy: impl Into<String>) -> Self {
        Denial {
            reason: reason.into(),
            remedy: remedy.into(),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.reason, self.remedy)
    }
}
