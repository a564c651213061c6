//! The policy file as operators write it (TOML, documented in `docs/security.md`): read with
//! spans, so every denial can name the line to edit; and `joule policy pin`, which rewrites the
//! digests and keeps the operator's comments and layout.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use toml::Spanned;

use crate::capability::RISKY_WASI;
use crate::denial::Denial;
use crate::deny::DenyRules;
use crate::grants::{ProfileSelector, SkillGrants};
use crate::limits::Limits;

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_seconds: Option<f64>,
    memory_mib: Option<u64>,
    host_call_mib: Option<u64>,
    host_calls: Option<u64>,
    handles: Option<u64>,
    findings: Option<u64>,
    findings_kib: Option<u64>,
    log_kib: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkill {
    id: String,
    digest: Spanned<String>,
    profiles: Option<Spanned<Vec<String>>>,
    sources: Option<Spanned<Vec<String>>>,
    metrics: Option<Spanned<Vec<String>>>,
    history: Option<Spanned<Vec<String>>>,
    deny: Option<Spanned<Vec<String>>>,
    allow: Option<Spanned<Vec<String>>>,
    wasi: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    limits: RawLimits,
}

/// The `[agent]` table: what an MCP client (`joule mcp`) may read through the host's own tools.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    profiles: Option<Spanned<Vec<String>>>,
    sources: Option<Spanned<Vec<String>>>,
    metrics: Option<Spanned<Vec<String>>>,
    history: Option<Spanned<Vec<String>>>,
    deny: Option<Spanned<Vec<String>>>,
    allow: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: u32,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default, rename = "skill")]
    skills: Vec<Spanned<RawSkill>>,
    agent: Option<Spanned<RawAgent>>,
}

/// The name an agent's grants and denials go by.
pub const AGENT: &str = "agent";

/// Where in the policy file something is: for messages that tell the operator what to edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyPlace {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for PolicyPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One `[[skill]]` entry.
#[derive(Clone, Debug)]
pub struct SkillPolicy {
    pub id: String,
    /// Lower-case hex sha256, without the `sha256:` prefix.
    pub digest: String,
    pub place: PolicyPlace,
    pub digest_place: PolicyPlace,
    grants: SkillGrants,
}

/// A loaded policy file, or the open policy used without one.
#[derive(Clone, Debug)]
pub struct Policy {
    /// No policy file: every skill may read every input given.
    open: bool,
    pub path: Option<PathBuf>,
    pub defaults: Limits,
    pub skills: Vec<SkillPolicy>,
    /// What an MCP client may read through the host's tools (the `[agent]` table).
    agent: Option<SkillGrants>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn apply(limits: &mut Limits, raw: &RawLimits) -> anyhow::Result<()> {
    if let Some(t) = raw.timeout_seconds {
        if !(t.is_finite() && t > 0.0) {
            anyhow::bail!("timeout_seconds = {t}: give a number of seconds above zero");
        }
        limits.deadline = Duration::from_secs_f64(t.clamp(0.001, 86_400.0));
    }
    if let Some(m) = raw.memory_mib {
        limits.memory_bytes = (m.clamp(1, 4096) as usize) << 20;
    }
    if let Some(m) = raw.host_call_mib {
        limits.host_call_bytes = m.saturating_mul(1 << 20);
    }
    if let Some(n) = raw.host_calls {
        limits.host_calls = n;
    }
    if let Some(n) = raw.handles {
        limits.handles = n as usize;
    }
    if let Some(n) = raw.findings {
        limits.max_findings = n as usize;
    }
    if let Some(k) = raw.findings_kib {
        limits.findings_bytes = (k as usize).saturating_mul(1 << 10);
    }
    if let Some(k) = raw.log_kib {
        limits.log_bytes = (k as usize).saturating_mul(1 << 10);
    }
    Ok(())
}

impl Policy {
    /// No policy file: every skill may read every input given, with `defaults` limits; secrets
    /// are still denied and risky WASI imports still refused.
    pub fn open(defaults: Limits) -> Self {
        Policy {
            open: true,
            path: None,
            defaults,
            skills: Vec::new(),
            agent: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Reads a policy file; `defaults` are the limits it starts from.
    pub fn load(path: &Path, defaults: Limits) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the policy", path.display()))?;
        Self::parse(&path.display().to_string(), &text, defaults).map(|mut p| {
            p.path = Some(path.to_path_buf());
            p
        })
    }

    /// Parses policy text; `name` is used in messages.
    pub fn parse(name: &str, text: &str, defaults: Limits) -> anyhow::Result<Self> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|s| format!(":{}", line_of(text, s.start)))
                .unwrap_or_default();
            anyhow::anyhow!("{name}{place}: {}", e.message())
        })?;
        if raw.version != 1 {
            anyhow::bail!(
                "{name}: policy version {} is not one this joule reads (it reads version 1)",
                raw.version
            );
        }
        let place = |offset: usize| PolicyPlace {
            file: name.to_string(),
            line: line_of(text, offset),
        };
        let mut limits = defaults;
        apply(&mut limits, &raw.limits).map_err(|e| anyhow::anyhow!("{name}: [limits] {e}"))?;
        let mut skills: Vec<SkillPolicy> = Vec::new();
        for entry in raw.skills {
            let at = place(entry.span().start);
            let skill = entry.into_inner();
            if skills.iter().any(|s| s.id == skill.id) {
                anyhow::bail!("{at}: skill `{}` has a second [[skill]] entry", skill.id);
            }
            let digest_place = place(skill.digest.span().start);
            let digest = skill.digest.into_inner();
            let hex = digest
                .strip_prefix("sha256:")
                .unwrap_or(&digest)
                .to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                anyhow::bail!(
                    "{digest_place}: digest of `{}` must be sha256:<64 hex digits> (got {digest:?}); `joule policy pin` fills it in",
                    skill.id
                );
            }
            let mut skill_limits = limits.clone();
            apply(&mut skill_limits, &skill.limits)
                .map_err(|e| anyhow::anyhow!("{at}: [skill.limits] of `{}`: {e}", skill.id))?;
            let wasi: BTreeSet<String> = skill
                .wasi
                .as_ref()
                .map(|w| w.get_ref().iter().cloned().collect())
                .unwrap_or_default();
            if let Some(bad) = wasi
                .iter()
                .find(|w| !RISKY_WASI.iter().any(|(n, _)| n == *w))
            {
                anyhow::bail!(
                    "{}: wasi = [{bad:?}]: not one of \"filesystem\", \"sockets\", \"http\"",
                    place(skill.wasi.as_ref().map_or(0, |w| w.span().start))
                );
            }
            let lists = Lists {
                profiles: &skill.profiles,
                sources: &skill.sources,
                metrics: &skill.metrics,
                history: &skill.history,
                deny: &skill.deny,
                allow: &skill.allow,
            };
            let mut grants = lists.grants(&skill.id, &at, &place)?;
            grants.wasi = wasi;
            grants.limits = skill_limits;
            skills.push(SkillPolicy {
                id: skill.id,
                digest: hex,
                place: at,
                digest_place,
                grants,
            });
        }
        let agent = match raw.agent {
            None => None,
            Some(entry) => {
                let at = place(entry.span().start);
                let agent = entry.into_inner();
                let lists = Lists {
                    profiles: &agent.profiles,
                    sources: &agent.sources,
                    metrics: &agent.metrics,
                    history: &agent.history,
                    deny: &agent.deny,
                    allow: &agent.allow,
                };
                let mut grants = lists.grants(AGENT, &at, &place)?;
                grants.limits = limits.clone();
                Some(grants)
            }
        };
        Ok(Policy {
            open: false,
            path: Some(PathBuf::from(name)),
            defaults: limits,
            skills,
            agent,
        })
    }

    /// What an MCP client may read through the host's own tools: everything given (secrets
    /// still denied) without a policy file; with one, its `[agent]` table, or nothing.
    pub fn agent_grants(&self) -> Result<SkillGrants, Denial> {
        if self.is_open() {
            return Ok(SkillGrants::open(AGENT, self.defaults.clone()));
        }
        self.agent.clone().ok_or_else(|| {
            let file = self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Denial::new(
                format!("the policy {file} has no [agent] table: agents may read no input"),
                "deny by default. To let agents read inputs, add:\n  [agent]\n  sources = [\"NAME\"]\n  profiles = [\"*.pb.gz\"]",
            )
        })
    }

    pub fn entry(&self, id: &str) -> Option<&SkillPolicy> {
        self.skills.iter().find(|s| s.id == id)
    }

    /// The grants of a skill, or why it may not run at all.
    pub fn grants_for(&self, id: &str, digest: &str) -> Result<SkillGrants, Denial> {
        if self.is_open() {
            return Ok(SkillGrants::open(id, self.defaults.clone()));
        }
        let file = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let Some(entry) = self.entry(id) else {
            return Err(Denial::new(
                format!("skill `{id}` has no [[skill]] entry in the policy {file}"),
                format!(
                    "deny by default. To run it, add:\n  [[skill]]\n  id = \"{id}\"\n  digest = \"sha256:{digest}\""
                ),
            ));
        };
        if entry.digest != digest {
            return Err(Denial::new(
                format!(
                    "component digest sha256:{digest} does not match the policy's sha256:{} for skill `{id}` ({})",
                    entry.digest, entry.digest_place
                ),
                "the component changed since it was pinned, or it is another one giving that id: pin it again (`joule policy pin`) only if you trust it",
            ));
        }
        Ok(entry.grants.clone())
    }

    /// The largest memory cap any skill may get (the pooling allocator is sized by it).
    pub fn max_memory(&self) -> usize {
        self.skills
            .iter()
            .map(|s| s.grants.limits.memory_bytes)
            .chain([self.defaults.memory_bytes])
            .max()
            .unwrap_or(self.defaults.memory_bytes)
    }
}

/// Creates or updates `digest` in each `[[skill]]` of a policy file to the digest of the
/// component with that id: `(id, hex digest)` pairs. Comments and layout are kept. Returns the
/// ids updated.
pub fn pin(text: &str, digests: &[(String, String)]) -> anyhow::Result<(String, Vec<String>)> {
    let mut doc: toml_edit::DocumentMut = text.parse().context("not a valid TOML policy")?;
    let mut updated = Vec::new();
    if let Some(skills) = doc
        .get_mut("skill")
        .and_then(|s| s.as_array_of_tables_mut())
    {
        for table in skills.iter_mut() {
            let Some(id) = table.get("id").and_then(|v| v.as_str()).map(str::to_string) else {
                continue;
            };
            if let Some((_, digest)) = digests.iter().find(|(i, _)| *i == id) {
                table["digest"] = toml_edit::value(format!("sha256:{digest}"));
                updated.push(id);
            }
        }
    }
    Ok((doc.to_string(), updated))
}

/// The input lists of a `[[skill]]` entry or the `[agent]` table, as written.
struct Lists<'a> {
    profiles: &'a Option<Spanned<Vec<String>>>,
    sources: &'a Option<Spanned<Vec<String>>>,
    metrics: &'a Option<Spanned<Vec<String>>>,
    history: &'a Option<Spanned<Vec<String>>>,
    deny: &'a Option<Spanned<Vec<String>>>,
    allow: &'a Option<Spanned<Vec<String>>>,
}

impl Lists<'_> {
    /// The grants they make for `id` (entry at `at`; `place` turns a byte offset into a line),
    /// with no WASI import and the default limits.
    fn grants(
        &self,
        id: &str,
        at: &PolicyPlace,
        place: &dyn Fn(usize) -> PolicyPlace,
    ) -> anyhow::Result<SkillGrants> {
        let profiles = match self.profiles {
            None => Some(Vec::new()),
            Some(list) => Some(
                list.get_ref()
                    .iter()
                    .map(|s| {
                        ProfileSelector::parse(s)
                            .with_context(|| format!("{}", place(list.span().start)))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            ),
        };
        let list = |l: &Option<Spanned<Vec<String>>>| {
            l.as_ref().map(|l| l.get_ref().clone()).unwrap_or_default()
        };
        let deny = DenyRules::new(
            id,
            &list(self.deny),
            &list(self.allow),
            Some(at.clone()),
            self.deny.as_ref().map(|d| place(d.span().start)),
        )
        .with_context(|| format!("{at}: bad deny or allow pattern"))?;
        let metrics = list(self.metrics)
            .iter()
            .map(|g| {
                globset::Glob::new(g)
                    .map(|g| g.compile_matcher())
                    .with_context(|| {
                        format!(
                            "{}: metrics = [{g:?}]: not a glob",
                            place(self.metrics.as_ref().map_or(0, |m| m.span().start))
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(SkillGrants {
            skill: id.to_string(),
            profiles,
            sources: Some(list(self.sources).into_iter().collect()),
            metrics: Some(metrics),
            history: Some(list(self.history).into_iter().collect()),
            deny: std::sync::Arc::new(deny),
            wasi: BTreeSet::new(),
            limits: Limits::default(),
            place: Some(at.clone()),
        })
    }
}
