//! The security review behind `joule audit`: for one component, its grants in words, the gaps
//! between what it imports, what it declares and what it is granted, and whether it loads.

use serde::{Serialize, Serializer};

use crate::admission::{Component, Unrun};
use crate::capability::{Capability, RISKY_WASI, risky};
use crate::denial::Denial;
use crate::file::Policy;
use crate::grants::GrantsView;

/// Whether the host would run a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Loads,
    Refused(Denial),
}

impl Verdict {
    pub fn loads(&self) -> bool {
        matches!(self, Verdict::Loads)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Loads => f.write_str("loads"),
            Verdict::Refused(denial) => write!(f, "refused: {denial}"),
        }
    }
}

/// Written as the sentence: `"loads"`, or `"refused: <reason>; <remedy>"`.
impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One component under review.
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    /// Its grants in words; `None` when it has none (refused before grants).
    pub grants: Option<GrantsView>,
    /// Mismatches between imports, declarations and grants, one sentence each.
    pub gaps: Vec<String>,
    pub verdict: Verdict,
}

impl Policy {
    /// Reviews a component against this policy.
    pub fn review(&self, component: &Component<'_>) -> Review {
        let imports = component.imports;
        let mut gaps = Vec::new();
        for capability in Capability::ALL {
            let (name, interface) = (capability.name(), capability.interface());
            let imported = capability.imported_by(imports);
            let declared = component.declares.contains(&name);
            if imported && !declared {
                gaps.push(format!(
                    "imports {interface} but does not declare \"{name}\""
                ));
            }
            if declared && !imported {
                gaps.push(format!("declares \"{name}\" but never imports {interface}"));
            }
        }
        let grants = self.grants_for(component.id, component.digest);
        if let Ok(g) = &grants {
            let granted = Capability::ALL
                .into_iter()
                .filter(|c| c.policy_key().is_some());
            for capability in granted.clone() {
                if capability.imported_by(imports) && !g.grants_any(capability) {
                    gaps.push(format!(
                        "imports {} but is granted no {}",
                        capability.interface(),
                        capability.one()
                    ));
                }
            }
            // Without a policy everything is granted to everyone: not a gap of this skill's.
            if !self.is_open() {
                for capability in granted {
                    if !capability.imported_by(imports) && g.grants_any(capability) {
                        gaps.push(format!(
                            "is granted {} but never imports {}",
                            capability.many(),
                            capability.interface()
                        ));
                    }
                }
            }
            for w in &g.wasi {
                let prefix = RISKY_WASI
                    .iter()
                    .find(|(n, _)| n == w)
                    .map_or("", |(_, p)| *p);
                if !imports.iter().any(|i| i.starts_with(prefix)) {
                    gaps.push(format!("is granted wasi \"{w}\" but never imports it"));
                }
            }
        }
        for import in imports {
            if let Some(name) = risky(import) {
                let granted = grants.as_ref().is_ok_and(|g| g.wasi.contains(name));
                gaps.push(format!(
                    "risky import {import}{}",
                    if granted {
                        " (granted)"
                    } else {
                        " (not granted: refused at load)"
                    }
                ));
            }
        }
        let verdict = match self.admit(component) {
            Ok(_) => Verdict::Loads,
            Err(denial) => Verdict::Refused(denial),
        };
        Review {
            grants: grants.ok().map(|g| g.describe()),
            gaps,
            verdict,
        }
    }

    /// Reviews a component refused before any of its code ran ([`Policy::admit_unrun`]): what
    /// its bytes say, which is its digest and imports (it has declared nothing), and the refusal.
    pub fn review_unrun(&self, component: &Unrun<'_>, denial: Denial) -> Review {
        let pinned = self.pinned_as(component.digest);
        let gaps = component
            .imports
            .iter()
            .filter_map(|import| {
                let name = risky(import)?;
                let granted = pinned.iter().any(|id| {
                    self.grants_for(id, component.digest)
                        .is_ok_and(|g| g.wasi.contains(name))
                });
                Some(format!(
                    "risky import {import}{}",
                    if granted {
                        " (granted)"
                    } else {
                        " (not granted: refused at load)"
                    }
                ))
            })
            .collect();
        Review {
            grants: None,
            gaps,
            verdict: Verdict::Refused(denial),
        }
    }
}
