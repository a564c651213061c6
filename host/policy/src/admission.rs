//! Admission: whether a component may run at all, and with which grants. It is judged twice.
//! Before any of its code runs ([`Policy::admit_unrun`]), by what its bytes say: the digest of
//! its component, which a policy entry must pin, and the interfaces it imports (read from the
//! component's type information). Only then may its `describe` run, and the id it gives is
//! judged with the rest ([`Policy::admit`]): the entry of that id must pin this very digest.

use crate::denial::Denial;
use crate::file::Policy;
use crate::grants::SkillGrants;

/// A component as the policy judges it once it has described itself.
#[derive(Clone, Debug)]
pub struct Component<'a> {
    /// The id its `describe` gave.
    pub id: &'a str,
    /// Lower-case hex sha256 of the component's bytes.
    pub digest: &'a str,
    /// The interfaces it imports, versioned (`wasi:sockets/tcp@0.2.6`), from the component.
    pub imports: &'a [String],
    /// The capabilities its `describe` declared (`profiles`, `source` ...).
    pub declares: Vec<&'a str>,
}

/// A component as the policy judges it before any of its code has run: what its bytes say.
#[derive(Clone, Copy, Debug)]
pub struct Unrun<'a> {
    /// What to call it until it has described itself: the id it claims in its component (the
    /// `joule:skill-id` section), else its file name. It words a denial; it admits nothing.
    pub name: &'a str,
    /// Lower-case hex sha256 of the component's bytes.
    pub digest: &'a str,
    /// The interfaces it imports, from the component's type information.
    pub imports: &'a [String],
}

impl Policy {
    /// Whether any of a component's code may run, its `describe` first, judged from its bytes
    /// alone. With a policy, an entry must pin its digest (deny by default: nothing unpinned
    /// runs, not even to say what it is) and grant its risky WASI imports. Without a policy,
    /// every component given may run, but a risky import is still refused.
    pub fn admit_unrun(&self, component: &Unrun<'_>) -> Result<(), Denial> {
        if self.is_open() {
            let grants = SkillGrants::open(component.name, self.defaults.clone());
            return check_imports(&grants, component.imports);
        }
        let pinned = self.pinned_as(component.digest);
        if pinned.is_empty() {
            // No entry pins it, so neither can the entry its name points at: `grants_for` says
            // which of the two it is (no entry, or an entry pinning another digest).
            let denial = match self.grants_for(component.name, component.digest) {
                Err(denial) => denial,
                Ok(_) => unreachable!("no entry pins this digest"),
            };
            return Err(Denial {
                reason: format!("{}; none of its code was run", denial.reason),
                ..denial
            });
        }
        let mut first_denial = None;
        for id in pinned {
            match self
                .grants_for(id, component.digest)
                .and_then(|grants| check_imports(&grants, component.imports))
            {
                Ok(()) => return Ok(()),
                Err(denial) => {
                    first_denial.get_or_insert(denial);
                }
            }
        }
        Err(first_denial.expect("an entry pins the digest"))
    }

    /// The ids of the entries that pin this digest (none without a policy): what to call a
    /// component before it has described itself, and what its `describe` must give.
    pub fn pinned_as(&self, digest: &str) -> Vec<&str> {
        self.skills
            .iter()
            .filter(|s| !self.is_open() && s.digest == digest)
            .map(|s| s.id.as_str())
            .collect()
    }

    /// The grants a component runs with, or why it may not run: no policy entry, a digest that
    /// is not the pinned one, or a risky WASI import the policy does not grant.
    pub fn admit(&self, component: &Component<'_>) -> Result<SkillGrants, Denial> {
        if !self.is_open()
            && self
                .entry(component.id)
                .is_none_or(|e| e.digest != component.digest)
        {
            // A component the policy pins, describing itself with another id.
            if let Some(entry) = self.skills.iter().find(|s| s.digest == component.digest) {
                return Err(Denial::new(
                    format!(
                        "component sha256:{} describes itself as `{}`, but the policy pins it as `{}` ({})",
                        component.digest, component.id, entry.id, entry.place
                    ),
                    "a component runs only under the id its entry names: correct the entry's id, or pin the component under the id it gives",
                ));
            }
        }
        let grants = self.grants_for(component.id, component.digest)?;
        check_imports(&grants, component.imports)?;
        Ok(grants)
    }
}

/// Which component keeps an id that several give, for each component of `given` (its id and
/// its file name without the extension, in the order the operator gave them): the index of the
/// one that keeps its id, itself when it does. One named after its id (`hot-functions.wasm` for
/// `hot-functions`) keeps the id over one that is not, whatever their order; among equals, the
/// first given keeps it. So, without a policy to pin ids to components, a newcomer cannot take
/// a shipped skill's id by its file sorting first. (Under a policy, only components its entries
/// pin get this far, so two can give one id only by being the same bytes.)
pub fn id_keepers(given: &[(&str, &str)]) -> Vec<usize> {
    let named_after_id = |(id, file): (&str, &str)| id == file;
    let mut keepers: std::collections::HashMap<&str, usize> = Default::default();
    for (i, &(id, _)) in given.iter().enumerate() {
        let keeper = keepers.entry(id).or_insert(i);
        if named_after_id(given[i]) && !named_after_id(given[*keeper]) {
            *keeper = i;
        }
    }
    given.iter().map(|(id, _)| keepers[id]).collect()
}

/// Refuses a component importing a risky WASI interface its grants do not include.
fn check_imports(grants: &SkillGrants, imports: &[String]) -> Result<(), Denial> {
    for import in imports {
        if let Some((name, false)) = grants.risky_import(import) {
            return Err(Denial::new(
                format!("imports {import}, a risky WASI interface its grants do not include"),
                format!(
                    "to allow it (with no preopens or sockets it still reaches nothing), {}",
                    grants.how_to_grant(&format!("wasi = [\"{name}\"]"))
                ),
            ));
        }
    }
    Ok(())
}
