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

/// A loaded, pre-instantiated skill. Cheap to share across threads.
pub struct LoadedSkill {
    pub path: PathBuf,
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
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("descriptor", &self.descriptor)
            .finish()
    }
}

impl Runtime {
    /// Loads a skill component: digest, compile (or cache hit), pre-instantiate, `describe`.
    pub fn load(&self, path: &Path) -> anyhow::Result<Arc<LoadedSkill>> {
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot read skill: {}",
                path.display(),
                joule_profile::ingest::io_reason(&e)
            )
        })?;
        let digest = cache::digest(&bytes);
        let (component, origin) = match &self.cache {
            Some(cache) => cache.load(&self.engine, &bytes, &digest),
            None => Component::new(&self.engine, &bytes)
                .map(|c| (c, Origin::Compiled))
                .map_err(anyhow::Error::from),
        }
        .with_context(|| format!("{}: not a loadable Wasm component", path.display()))?;
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
                format!(
                    "{}: the component imports something Joule does not provide",
                    path.display()
                )
            })?;
        let pre = SkillPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "{}: not a Joule skill (it must export `describe` and `run` of joule:skill/skill@0.1.x)",
                    path.display()
                )
            })?;
        let mut skill = LoadedSkill {
            path: path.to_path_buf(),
            digest,
            descriptor: Descriptor {
                id: String::new(),
                version: Untrusted::default(),
                summary: Untrusted::default(),
                triggers: Vec::new(),
                capabilities: Vec::new(),
                parameters: Vec::new(),
            },
            imports,
            origin,
            pre,
        };
        let descriptor = self
            .describe(&skill)
            .map_err(|f| anyhow::anyhow!("{}: `describe` failed: {}", path.display(), f.reason))?;
        let descriptor = Descriptor::from_wit(descriptor);
        // The id names the skill in policies, reports, the audit log and file names, often
        // where no escaping applies (a policy's `[[skill]]` key, `--param ID.NAME`): it is
        // checked, not escaped. Everything else a skill says of itself is `Untrusted`.
        if let Err(why) = valid_id(&descriptor.id) {
            anyhow::bail!(
                "{}: `describe` returned the id {:?}, which {why}",
                path.display(),
                descriptor.id
            );
        }
        skill.descriptor = descriptor;
        Ok(Arc::new(skill))
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
