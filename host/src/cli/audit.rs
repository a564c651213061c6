//! `joule audit` (what each component imports, declares and is granted, and the gaps) and
//! `joule policy` (pin digests, start a policy), for the people who sign off on skills.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use joule_policy::{Capability, Denial, Policy, Review, risky};

use super::{EngineArgs, exit};
use crate::engine::{Inspected, LoadedSkill};
use crate::session::{self, Loaded};
use crate::untrusted::{Untrusted, terminal, toml};

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Skill components (.wasm) or directories of them, besides those of --skills; with
    /// neither, those of $JOULE_SKILLS.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The policy to check them against; without one, the grants of a run without a policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: AuditFormat,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum AuditFormat {
    Text,
    Json,
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Write each [[skill]]'s digest from the components given (comments and layout kept).
    Pin(PinArgs),
    /// Print a starting policy for the components given: pinned, granted every profile and
    /// metric set for the interfaces each imports, no source tree or repository yet.
    Init(InitArgs),
}

#[derive(clap::Args, Debug)]
pub struct PinArgs {
    /// The policy file to update in place.
    policy: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    engine: EngineArgs,
}

/// One component, as the audit reports it: what it is and imports, and the policy's review.
#[derive(Debug, Serialize)]
struct ComponentAudit {
    path: String,
    id: String,
    /// Where the id comes from: `describe`, or, for a component refused before any of its code
    /// ran, the `policy entry` pinning its digest, the `claim` in its component, its `file name`.
    id_from: &'static str,
    /// Empty when it never described itself.
    version: Untrusted,
    digest: String,
    imports: Vec<ImportView>,
    declares: Vec<Untrusted>,
    #[serde(flatten)]
    review: Review,
}

/// An interface a component imports, and what it reaches in this host.
#[derive(Debug, Serialize)]
struct ImportView {
    interface: String,
    reaches: &'static str,
}

fn import_views(imports: &[String]) -> Vec<ImportView> {
    imports
        .iter()
        .map(|i| ImportView {
            interface: i.clone(),
            reaches: joule_policy::reach(i),
        })
        .collect()
}

fn audit_one(skill: &LoadedSkill, policy: &Policy) -> ComponentAudit {
    let d = &skill.descriptor;
    ComponentAudit {
        path: skill.location.to_string(),
        id: d.id.clone(),
        id_from: "describe",
        version: d.version.clone(),
        digest: format!("sha256:{}", skill.digest),
        imports: import_views(&skill.imports),
        declares: d.capabilities.clone(),
        review: policy.review(&skill.component()),
    }
}

/// A component the policy refuses before any of its code runs, audited from its bytes alone:
/// its digest, its imports and the name it goes by.
fn audit_unrun(
    component: &Inspected,
    name: String,
    denial: Denial,
    policy: &Policy,
) -> ComponentAudit {
    let unrun = joule_policy::Unrun {
        name: &name,
        digest: &component.digest,
        imports: &component.imports,
    };
    let id_from = if policy.pinned_as(&component.digest).is_empty() {
        component.named_by()
    } else {
        "policy entry"
    };
    ComponentAudit {
        path: component.location.to_string(),
        review: policy.review_unrun(&unrun, denial),
        id: name,
        id_from,
        version: Untrusted::default(),
        digest: format!("sha256:{}", component.digest),
        imports: import_views(&component.imports),
        declares: Vec::new(),
    }
}

/// Loads the components in `paths`, asking `policy` before any of their code runs (`None`:
/// each describes itself, for the operator's own `joule policy` commands).
fn load_all(
    engine: &EngineArgs,
    paths: &[PathBuf],
    policy: Option<&Policy>,
) -> anyhow::Result<Vec<Loaded>> {
    let components = session::components(paths, engine.builtin_skills())?;
    let config = engine.config()?;
    let tokio = super::tokio_runtime()?;
    tokio.block_on(async {
        let runtime = session::runtime(config, crate::engine::default_jobs())?;
        anyhow::Ok(session::load_skills(&runtime, components, policy).await)
    })
}

/// The components described, for `joule policy`: the operator asks to trust them, so each
/// describes itself (under the fixed limits of `describe`) to say which entry it belongs to.
/// One that cannot is left out, with a warning.
fn described(engine: &EngineArgs) -> anyhow::Result<Vec<std::sync::Arc<LoadedSkill>>> {
    let (skills, failed) = session::described(load_all(engine, &engine.skill_paths()?, None)?);
    for error in failed.iter().filter_map(|r| r.error.as_ref()) {
        eprintln!("joule: warning: left out: {}", error.terminal());
    }
    Ok(skills)
}

pub fn audit(args: AuditArgs) -> anyhow::Result<u8> {
    let mut paths = args.paths.clone();
    paths.extend(args.engine.skills.iter().cloned());
    if paths.is_empty() {
        paths = args.engine.skill_paths()?;
    }
    let defaults = args.engine.config()?.limits;
    let policy = match &args.policy {
        Some(path) => Policy::load(path, defaults)?,
        None => Policy::open(defaults),
    };
    // As a run would: only a component the policy admits runs its `describe`; the others are
    // audited from their bytes.
    let mut audits = Vec::new();
    let mut failed = Vec::new();
    let mut unlisted = Vec::new();
    for loaded in load_all(&args.engine, &paths, Some(&policy))? {
        match loaded {
            Loaded::Skill(skill) => audits.push(audit_one(&skill, &policy)),
            // As a run leaves it out: named in one notice, not refused.
            Loaded::Unlisted {
                component, name, ..
            } => unlisted.push((name, component.digest)),
            Loaded::Refused {
                component,
                name,
                denial,
            } => audits.push(audit_unrun(&component, name, denial, &policy)),
            Loaded::Failed(record) => failed.extend(record.error),
        }
    }
    let refused = audits.iter().filter(|a| !a.review.verdict.loads()).count() + failed.len();
    match args.format {
        AuditFormat::Json => {
            let left_out: Vec<_> = unlisted
                .iter()
                .map(|(id, digest)| {
                    serde_json::json!({ "id": id, "digest": format!("sha256:{digest}") })
                })
                .collect();
            let out = serde_json::json!({
                "policy": args.policy.as_ref().map(|p| p.display().to_string()),
                "components": audits,
                "unloadable": failed,
                "built_in_left_out": left_out,
            });
            super::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        }
        AuditFormat::Text => {
            let mut text = render(&audits, &failed, &args.policy);
            if let Some(notice) = session::unlisted_notice(&policy, &unlisted) {
                let _ = writeln!(text, "\n{}", terminal::lines(&notice));
            }
            super::emit(&text)?
        }
    }
    Ok(if refused == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

/// The audit as text: a table of every component, then one block each. Everything from a
/// component (its version, declarations, imports, and the gaps and verdicts that quote them)
/// and from the policy is written as one terminal line ([`terminal::line`]), so the table keeps
/// one row and each block its lines.
fn render(audits: &[ComponentAudit], failed: &[Untrusted], policy: &Option<PathBuf>) -> String {
    let line = terminal::line;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Policy: {}\n",
        policy
            .as_ref()
            .map(|p| line(&p.display().to_string()))
            .unwrap_or_else(
                || "none (every skill may read every input given; secrets denied)".to_string()
            )
    );
    // The skill column as wide as the longest id (22 at least, as the table always was).
    let width = audits
        .iter()
        .map(|a| a.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(22);
    let _ = writeln!(
        out,
        "{:<width$} {:<8} {:<18} {:<9} {:<7} {:<8} {:<8} {:<4} {:<6} VERDICT",
        "SKILL", "VERSION", "DIGEST", "PROFILES", "SOURCE", "METRICS", "HISTORY", "LOG", "RISKY"
    );
    for a in audits {
        let imports: Vec<String> = a.imports.iter().map(|i| i.interface.clone()).collect();
        let has = |c: Capability| c.imported_by(&imports);
        let risky = imports.iter().filter(|i| risky(i).is_some()).count();
        let _ = writeln!(
            out,
            "{:<width$} {:<8} {:<18} {:<9} {:<7} {:<8} {:<8} {:<4} {:<6} {}",
            line(&a.id),
            if a.version.is_empty() {
                "-".to_string()
            } else {
                a.version.terminal()
            },
            format!("{}…", &a.digest[..15.min(a.digest.len())]),
            if has(Capability::Profiles) {
                "imports"
            } else {
                "-"
            },
            if has(Capability::Source) {
                "imports"
            } else {
                "-"
            },
            if has(Capability::Metrics) {
                "imports"
            } else {
                "-"
            },
            if has(Capability::History) {
                "imports"
            } else {
                "-"
            },
            if has(Capability::Log) { "yes" } else { "-" },
            if risky > 0 {
                risky.to_string()
            } else {
                "-".to_string()
            },
            if a.review.verdict.loads() {
                "loads"
            } else {
                "REFUSED"
            }
        );
    }
    for a in audits {
        component_block(&mut out, a);
    }
    for f in failed {
        let _ = writeln!(out, "\nunloadable: {}", f.terminal());
    }
    out
}

/// One component's block: digest, verdict, imports, declarations, grants, gaps.
fn component_block(out: &mut String, a: &ComponentAudit) {
    let line = terminal::line;
    let version = if a.version.is_empty() {
        String::new()
    } else {
        format!(" {}", a.version.terminal())
    };
    // A described id passed the id rule at load; a name for a component that never ran comes
    // from its bytes or its file name, so it is written as a terminal line like the rest.
    let _ = writeln!(out, "\n{}{version} ({})", line(&a.id), line(&a.path));
    if a.id_from != "describe" {
        let _ = writeln!(
            out,
            "  not run:  refused before any of its code ran; named by its {}",
            a.id_from
        );
    }
    let _ = writeln!(out, "  digest:   {}", a.digest);
    let _ = writeln!(out, "  verdict:  {}", line(&a.review.verdict.to_string()));
    let interfaces: Vec<String> = a.imports.iter().map(|i| line(&i.interface)).collect();
    let width = interfaces
        .iter()
        .map(|i| i.chars().count())
        .max()
        .unwrap_or(0);
    let imports: Vec<String> = interfaces
        .iter()
        .zip(&a.imports)
        .map(|(interface, i)| format!("{interface:width$}  {}", i.reaches))
        .collect();
    let _ = writeln!(out, "  imports:  {}", imports.join("\n            "));
    if a.id_from == "describe" {
        let declares: Vec<String> = a.declares.iter().map(Untrusted::terminal).collect();
        let _ = writeln!(out, "  declares: {}", declares.join(", "));
    }
    match &a.review.grants {
        Some(g) => {
            let _ = writeln!(out, "  grants:   profiles: {}", line(&g.profiles));
            let _ = writeln!(out, "            sources:  {}", line(&g.sources));
            let _ = writeln!(out, "            metrics:  {}", line(&g.metrics));
            let _ = writeln!(out, "            history:  {}", line(&g.history));
            let _ = writeln!(out, "            denied:   {}", line(&g.deny));
            let _ = writeln!(
                out,
                "            wasi:     {}",
                if g.wasi.is_empty() {
                    "none".to_string()
                } else {
                    line(&g.wasi.join(", "))
                }
            );
            let _ = writeln!(out, "            limits:   {}", line(&g.limits));
        }
        None => {
            let _ = writeln!(out, "  grants:   none");
        }
    }
    if a.review.gaps.is_empty() {
        let _ = writeln!(out, "  gaps:     none");
    } else {
        let gaps: Vec<String> = a.review.gaps.iter().map(|g| line(g)).collect();
        let _ = writeln!(out, "  gaps:     {}", gaps.join("\n            "));
    }
}

/// Refuses two components claiming one id: pinning either could pin an impostor.
fn one_per_id(skills: &[std::sync::Arc<LoadedSkill>]) -> anyhow::Result<()> {
    for (i, s) in skills.iter().enumerate() {
        if let Some(other) = skills[..i]
            .iter()
            .find(|o| o.descriptor.id == s.descriptor.id)
        {
            anyhow::bail!(
                "both {} and {} say they are skill `{}`; pin from a set of components with one per id",
                other.location,
                s.location,
                s.descriptor.id
            );
        }
    }
    Ok(())
}

pub fn policy(command: PolicyCommand) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Pin(args) => {
            let skills = described(&args.engine)?;
            let text = std::fs::read_to_string(&args.policy)
                .with_context(|| format!("{}: cannot read the policy", args.policy.display()))?;
            one_per_id(&skills)?;
            let digests: Vec<(String, String)> = skills
                .iter()
                .map(|s| (s.descriptor.id.clone(), s.digest.clone()))
                .collect();
            let (pinned, updated) = joule_policy::pin(&text, &digests)
                .with_context(|| args.policy.display().to_string())?;
            std::fs::write(&args.policy, pinned)
                .with_context(|| format!("{}: cannot write the policy", args.policy.display()))?;
            super::emit(&format!("pinned: {}\n", updated.join(", ")))?;
            Ok(exit::OK)
        }
        PolicyCommand::Init(args) => {
            let skills = described(&args.engine)?;
            one_per_id(&skills)?;
            let mut out = String::from(
                "# Joule policy: which skill may read what. See docs/security.md.\nversion = 1\n",
            );
            for s in &skills {
                // What the skill says of itself goes into a comment, one line; its id into a
                // TOML string. Neither can add a key (a grant) to the policy.
                let d = &s.descriptor;
                let _ = write!(
                    out,
                    "\n# {} {}: {}\n[[skill]]\nid = {}\ndigest = \"sha256:{}\"\n",
                    toml::comment(&d.id),
                    d.version.toml_comment(),
                    d.summary.toml_comment(),
                    toml::string(&d.id),
                    s.digest
                );
                for capability in Capability::ALL {
                    if !capability.imported_by(&s.imports) {
                        continue;
                    }
                    out.push_str(match capability {
                        Capability::Profiles => "profiles = [\"*\"]\n",
                        Capability::Source => {
                            "sources = []   # names given with --source NAME=DIR\n"
                        }
                        Capability::Metrics => "metrics = [\"*\"]\n",
                        Capability::History => {
                            "history = []   # names given with --history NAME=DIR\n"
                        }
                        Capability::Log => "",
                    });
                }
            }
            super::emit(&out)?;
            Ok(exit::OK)
        }
    }
}
