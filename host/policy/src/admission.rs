//! Admission: whether a loaded component may run at all, and with which grants. A component
//! is judged by what it says it is (its id), what it is (the digest of its bytes) and what it
//! imports (read from the component itself, not from what it declares).

use crate::denial::Denial;
use crate::file::Policy;
use crate::grants::SkillGrants;

/// A component as the policy judges it.
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

impl Policy {
    /// The grants a component runs with, or why it may not run: no policy entry, a digest that
    /// is not the pinned one, or a risky WASI import the policy does not grant.
    pub fn admit(&self, component: &Component<'_>) -> Result<SkillGrants, Denial> {
        let grants = self.grants_for(component.id, component.digest)?;
        for import in component.imports {
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
        Ok(grants)
    }
}
