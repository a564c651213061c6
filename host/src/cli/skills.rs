//! `joule skills`: what each skill describes, with what it really imports and its digest.

use std::fmt::Write;

use super::{EngineArgs, exit};
use crate::session;

#[derive(clap::Args, Debug)]
pub struct SkillsArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Output as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn skills(args: SkillsArgs) -> anyhow::Result<u8> {
    let files = session::skill_files(&args.engine.skill_paths()?)?;
    let config = args.engine.config()?;
    let tokio = super::tokio_runtime()?;
    let (skills, failures) = tokio.block_on(async {
        let runtime = session::runtime(config, crate::engine::default_jobs())?;
        // The operator asks what these components are: each describes itself (under the fixed
        // limits of `describe`), with no policy asked.
        let loaded = session::load_skills(&runtime, files, None).await;
        let (loaded, mut failed) = session::described(loaded);
        let (skills, duplicates) = session::unique_ids(loaded, |s| s);
        failed.extend(
            duplicates
                .iter()
                .map(|(skill, why)| session::Refusal::of(skill).duplicate(why, None)),
        );
        anyhow::Ok((skills, failed))
    })?;
    if args.json {
        let list: Vec<_> = skills
            .iter()
            .map(|s| {
                serde_json::json!({
                    "path": s.path.display().to_string(),
                    "digest": s.digest,
                    "imports": s.imports,
                    "descriptor": s.descriptor,
                })
            })
            .collect();
        let out = serde_json::json!({ "skills": list, "failed": failures });
        super::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    } else {
        let mut out = String::new();
        for s in &skills {
            let d = &s.descriptor;
            let _ = writeln!(out, "{} {}", d.id, d.version);
            let _ = writeln!(out, "  {}", d.summary);
            let _ = writeln!(out, "  file:         {}", s.path.display());
            let _ = writeln!(out, "  sha256:       {}", s.digest);
            let triggers: Vec<String> = d.triggers.iter().map(|t| t.describe()).collect();
            let _ = writeln!(out, "  triggers:     {}", triggers.join(", "));
            let _ = writeln!(out, "  capabilities: {}", d.capabilities.join(", "));
            let _ = writeln!(
                out,
                "  imports:      {}",
                s.imports.join("\n                ")
            );
            if !d.parameters.is_empty() {
                let _ = writeln!(out, "  parameters:");
                for p in &d.parameters {
                    let default = p
                        .default
                        .as_deref()
                        .map(|v| format!(" (default {v})"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "    {}{default}: {}", p.name, p.description);
                }
            }
            out.push('\n');
        }
        super::emit(&out)?;
        for f in &failures {
            eprintln!(
                "joule: warning: {}",
                f.error.as_deref().unwrap_or("a skill failed to load")
            );
        }
    }
    Ok(if failures.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
