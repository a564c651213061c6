//! A skill loaded into the runtime: its component (compiled or from the cache), its digest, what
//! it imports, what it says about itself, and its pre-instantiation, ready for fast invocations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::Runtime;
use super::cache::{self, Origin};
use crate::caps::bindings::{SkillPre, joule::skill::types as wit};
use crate::findings::Kind;
use crate::untrusted::Untrusted;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "on", rename_all = "kebab-case")]
pub enum Trigger {
    /// Once over the granted inputs.
    Scan,
    /// Once per upstream finding of this kind (and rule, when given).
    Finding {
        kind: Kind,
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<Untrusted>,
    },
}

impl Trigger {
    fn from_wit(t: wit::Trigger) -> Self {
        match t {
            wit::Trigger::Scan => Trigger::Scan,
            wit::Trigger::Finding(f) => Trigger::Finding {
                kind: f.kind.into(),
                rule: f.rule.map(Untrusted::from),
            },
        }
    }

    pub fn to_wit(&self) -> wit::Trigger {
        match self {
            Trigger::Scan => wit::Trigger::Scan,
            Trigger::Finding { kind, rule } => wit::Trigger::Finding(wit::FindingFilter {
                kind: (*kind).into(),
                rule: rule.as_ref().map(|r| r.raw().to_string()),
            }),
        }
    }

    /// `scan`, `finding:KIND` or `finding:KIND/RULE`: with the skill's rule in it, untrusted.
    pub fn describe(&self) -> Untrusted {
        match self {
            Trigger::Scan => "scan".into(),
            Trigger::Finding { kind, rule: None } => format!("finding:{}", kind.name()).into(),
            Trigger::Finding {
                kind,
                rule: Some(rule),
            } => format!("finding:{}/{}", kind.name(), rule.raw()).into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Parameter {
    pub name: Untrusted,
    pub description: Untrusted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Untrusted>,
}

/// What a skill's `describe` returned: an id checked at load ([`valid_id`]), and the rest
/// untrusted text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    pub id: String,
    pub version: Untrusted,
    pub summary: Untrusted,
    pub triggers: Vec<Trigger>,
    pub capabilities: Vec<Untrusted>,
    pub parameters: Vec<Parameter>,
}

impl Descriptor {
    fn from_wit(d: wit::Descriptor) -> Self {
        Descriptor {
            id: d.id,
            version: d.version.into(),
            summary: d.summary.into(),
            triggers: d.triggers.into_iter().map(Trigger::from_wit).collect(),
            capabilities: d.capabilities.into_iter().map(Untrusted::from).collect(),
            parameters: d
                .parameters
                .into_iter()
                .map(|p| Parameter {
                    name: p.name.into(),
                    description: p.description.into(),
                    default: p.default_value.map(Untrusted::from),
                })
                .collect(),
        }
    }
}

/// The custom section in which a component claims its id, written by the SDK's
/// `export_skill!(Skill, id = "...")`. Read before any of the component's code runs, it names
/// the component in refusals and in `joule audit`; it admits nothing (the digest does).
pub const CLAIM_SECTION: &str = "joule:skill-id";

/// Where a component's bytes come from: a file the operator gave, or the shipped skills built
/// into `joule` ([`crate::builtin`]). Shown as the file's path, or as `built-in:ID`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    File(PathBuf),
    /// A built-in skill, by its id.
    BuiltIn(&'static str),
}

impl Location {
    /// What to call the component when nothing else names it: its file's name without the
    /// extension, or the built-in skill's id.
    pub fn stem(&self) -> String {
        match self {
            Location::File(path) => file_stem(path),
            Location::BuiltIn(id) => id.to_string(),
        }
    }

    pub fn is_built_in(&self) -> bool {
        matches!(self, Location::BuiltIn(_))
    }

    /// The file, for a component read from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::BuiltIn(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::BuiltIn(id) => write!(f, "built-in:{id}"),
        }
    }
}

/// A component read, compiled and linked, none of its code run: what can be known of it
/// without trusting it.
pub struct Inspected {
    pub location: Location,
    /// sha256 of the component file, hex.
    pub digest: String,
    /// The component's imports, as `package/interface@version` names, from its type information.
    pub imports: Vec<String>,
    /// The id its `joule:skill-id` section claims, when it has one.
    pub claim: Option<String>,
    pub origin: Origin,
    pre: SkillPre<crate::caps::SkillState>,
}

impl Inspected {
    /// What to call the component until it has described itself: the id it claims, else its
    /// file name (a built-in skill's id).
    pub fn name(&self) -> String {
        self.claim.clone().unwrap_or_else(|| self.location.stem())
    }

    /// Where [`Inspected::name`] comes from: `"claim"` or `"file name"`.
    pub fn named_by(&self) -> &'static str {
        if self.claim.is_some() {
            "claim"
        } else {
            "file name"
        }
    }
}

impl std::fmt::Debug for Inspected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspected")
            .field("location", &self.location)
            .field("digest", &self.digest)
            .field("claim", &self.claim)
            .finish()
    }
}

/// A file's name without its extension, as the name of a component that has not described itself.
pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The id a component claims in its `joule:skill-id` sections (in any of its modules), if
/// any; an error if it claims two, or something that is not an id.
pub fn claimed_id(bytes: &[u8]) -> Result<Option<String>, String> {
    let mut claim: Option<String> = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(wasmparser::Payload::CustomSection(section)) = payload else {
            // Malformed components fail to compile, with wasmtime's own message.
            continue;
        };
        if section.name() != CLAIM_SECTION {
            continue;
        }
        let id = String::from_utf8_lossy(section.data()).into_owned();
        if let Err(why) = valid_id(&id) {
            return Err(format!(
                "its {CLAIM_SECTION} section claims the id {id:?}, which {why}"
            ));
        }
        match &claim {
            Some(other) if *other != id => {
                return Err(format!(
                    "its {CLAIM_SECTION} sections claim two ids, `{other}` and `{id}`"
                ));
            }
            _ => claim = Some(id),
        }
    }
    Ok(claim)
}

/// A loaded, pre-instantiated skill. Cheap to share across threads.
pub struct LoadedSkill {
    pub location: Location,
    /// sha256 of the component file, hex.
    pub digest: String,
    pub descriptor: Descriptor,
    /// The component's imports, as `package/interface@version` names.
    pub imports: Vec<String>,
    pub origin: Origin,
    pub(crate) pre: SkillPre<crate::caps::SkillState>,
}

impl LoadedSkill {
    /// The skill as the policy judges it: id, digest, imports and declared capabilities.
    pub fn component(&self) -> joule_policy::Component<'_> {
        joule_policy::Component {
            id: &self.descriptor.id,
            digest: &self.digest,
            imports: &self.imports,
            declares: self
                .descriptor
                .capabilities
                .iter()
                .map(Untrusted::raw)
                .collect(),
        }
    }
}

impl std::fmt::Debug for LoadedSkill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSkill")
            .field("location", &self.location)
            .field("digest", &self.digest)
            .field("descriptor", &self.descriptor)
            .finish()
    }
}

impl Runtime {
    /// Reads a component without running any of its code: its digest, the id it claims, its
    /// compilation (or the cached one), its imports from its type information, and its linking
    /// against the host's interfaces (which refuses an import the host does not provide).
    pub fn inspect(&self, path: &Path) -> anyhow::Result<Inspected> {
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot read skill: {}",
                path.display(),
                joule_profile::ingest::io_reason(&e)
            )
        })?;
        self.inspect_bytes(&bytes, Location::File(path.to_path_buf()))
    }

    /// [`Runtime::inspect`] of a component's bytes, from `location` (which names it in errors).
    pub fn inspect_bytes(&self, bytes: &[u8], location: Location) -> anyhow::Result<Inspected> {
        let path = &location;
        let digest = cache::digest(bytes);
        let claim = claimed_id(bytes).map_err(|why| anyhow::anyhow!("{path}: {why}"))?;
        let (component, origin) = match &self.cache {
            Some(cache) => cache.load(&self.engine, bytes, &digest),
            None => Component::new(&self.engine, bytes)
                .map(|c| (c, Origin::Compiled))
                .map_err(anyhow::Error::from),
        }
        .with_context(|| format!("{path}: not a loadable Wasm component"))?;
        let imports = component
            .component_type()
            .imports(&self.engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .map(|(name, _)| name.to_string())
            .collect();
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!("{path}: the component imports something Joule does not provide")
            })?;
        let pre = SkillPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "{path}: not a Joule skill (it must export `describe` and `run` of joule:skill/skill@0.1.x)"
                )
            })?;
        Ok(Inspected {
            location,
            digest,
            imports,
            claim,
            origin,
            pre,
        })
    }

    /// Runs a component's first code, its `describe`, under the fixed limits of
    /// [`Limits::for_describe`](joule_policy::Limits::for_describe) (never a run's), and checks
    /// what it says: an id that is one, and the one it claims, if it claims one. Call it only for
    /// a component the policy admits before running ([`Policy::admit_unrun`](joule_policy::Policy::admit_unrun)).
    pub fn describe_component(&self, component: Inspected) -> anyhow::Result<Arc<LoadedSkill>> {
        let path = &component.location;
        let descriptor = self
            .describe(&component.pre, &component.name())
            .map_err(|f| {
                let limits = joule_policy::Limits::for_describe(self.limits.memory_bytes);
                anyhow::anyhow!(
                    "{path}: `describe` failed (it runs within {:.0} s and {} MiB): {}",
                    limits.deadline.as_secs_f64(),
                    limits.memory_bytes >> 20,
                    f.reason
                )
            })?;
        let descriptor = Descriptor::from_wit(descriptor);
        // The id names the skill in policies, reports, the audit log and file names, often
        // where no escaping applies (a policy's `[[skill]]` key, `--param ID.NAME`): it is
        // checked, not escaped. Everything else a skill says of itself is `Untrusted`.
        if let Err(why) = valid_id(&descriptor.id) {
            anyhow::bail!(
                "{path}: `describe` returned the id {:?}, which {why}",
                descriptor.id
            );
        }
        if let Some(claim) = component.claim.as_deref().filter(|c| *c != descriptor.id) {
            anyhow::bail!(
                "{path}: `describe` returned the id `{}`, but the component claims `{claim}` in its {CLAIM_SECTION} section",
                descriptor.id
            );
        }
        Ok(Arc::new(LoadedSkill {
            location: component.location,
            digest: component.digest,
            descriptor,
            imports: component.imports,
            origin: component.origin,
            pre: component.pre,
        }))
    }

    /// Inspects a component and has it describe itself, with no policy to ask in between: for
    /// callers that trust the file (the operator's `joule skills` and `joule policy`, tests,
    /// benchmarks). A run goes through [`crate::session::load_skills`], which asks the policy.
    pub fn load(&self, path: &Path) -> anyhow::Result<Arc<LoadedSkill>> {
        self.describe_component(self.inspect(path)?)
    }

    /// [`Runtime::load`] of a component's bytes, from `location`.
    pub fn load_bytes(&self, bytes: &[u8], location: Location) -> anyhow::Result<Arc<LoadedSkill>> {
        self.describe_component(self.inspect_bytes(bytes, location)?)
    }
}

/// Skill ids name skills in policies, reports and the audit log: 1 to 64 characters, ASCII
/// letters, digits, `.`, `_` and `-`, starting with a letter or digit.
pub fn valid_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() || id.len() > 64 {
        return Err("must be 1 to 64 characters long");
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("may hold only ASCII letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Wasm module holding these custom sections (each under 128 bytes).
    fn module(sections: &[(&str, &str)]) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        for (name, data) in sections {
            out.extend([0, (1 + name.len() + data.len()) as u8, name.len() as u8]);
            out.extend(name.bytes().chain(data.bytes()));
        }
        out
    }

    #[test]
    fn a_component_claims_its_id_in_a_custom_section_or_not_at_all() {
        assert_eq!(claimed_id(&module(&[("name", "x")])), Ok(None));
        let claim = (CLAIM_SECTION, "hot-functions");
        assert_eq!(
            claimed_id(&module(&[claim, ("producers", "")])),
            Ok(Some("hot-functions".into()))
        );
        // The same claim twice is one claim; two claims, or one that is no id, are refused.
        assert_eq!(
            claimed_id(&module(&[claim, claim])),
            Ok(Some("hot-functions".into()))
        );
        let two = claimed_id(&module(&[claim, (CLAIM_SECTION, "regex-in-hot-path")]));
        assert!(two.unwrap_err().contains("two ids"));
        let bad = claimed_id(&module(&[(CLAIM_SECTION, "hot\nfunctions")]));
        assert!(bad.unwrap_err().contains("may hold only"));
    }
}
