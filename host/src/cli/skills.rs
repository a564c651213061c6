//! `joule skills`: what each skill describes, with what it really imports and its digest.

use std::fmt::Write;

use super::{EngineArgs, exit};
use crate::session;
use crate::untrusted::{Untrusted, terminal};

#[derive(clap::Args, Debug)]
pub struct SkillsArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Output as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn skills(args: SkillsArgs) -> anyhow::Result<u8> {
    let components =
        session::components(&args.engine.skill_paths()?, args.engine.builtin_skills())?;
    let config = args.engine.config()?;
    let tokio = super::tokio_runtime()?;
    let (skills, failures) = tokio.block_on(async {
        let runtime = session::runtime(config, crate::engine::default_jobs())?;
        // The operator asks what these components are: each describes itself (under the fixed
        // limits of `describe`), with no policy asked.
        let loaded = session::load_skills(&runtime, components, None).await;
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
                    // `built-in` or `file`; the path is `built-in:ID` for a built-in skill.
                    "source": if s.location.is_built_in() { "built-in" } else { "file" },
                    "path": s.location.to_string(),
                    "digest": s.digest,
                    "imports": s.imports,
                    "descriptor": s.descriptor,
                })
            })
            .collect();
        let out = serde_json::json!({ "skills": list, "failed": failures });
        super::emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
    } else {
        // Each thing a skill says of itself is one terminal line: an entry keeps its lines.
        let mut out = String::new();
        for s in &skills {
            let d = &s.descriptor;
            let _ = writeln!(out, "{} {}", d.id, d.version.terminal());
            let _ = writeln!(out, "  {}", d.summary.terminal());
            match s.location.path() {
                Some(path) => {
                    let _ = writeln!(
                        out,
                        "  file:         {}",
                        terminal::line(&path.display().to_string())
                    );
                }
                None => {
                    let _ = writeln!(out, "  source:       built-in");
                }
            }
            let _ = writeln!(out, "  sha256:       {}", s.digest);
            let triggers: Vec<String> =
                d.triggers.iter().map(|t| t.describe().terminal()).collect();
            let _ = writeln!(out, "  triggers:     {}", triggers.join(", "));
            let capabilities: Vec<String> =
                d.capabilities.iter().map(Untrusted::terminal).collect();
            let _ = writeln!(out, "  capabilities: {}", capabilities.join(", "));
            let imports: Vec<String> = s.imports.iter().map(|i| terminal::line(i)).collect();
            let _ = writeln!(
                out,
                "  imports:      {}",
                imports.join("\n                ")
            );
            if !d.parameters.is_empty() {
                let _ = writeln!(out, "  parameters:");
                for p in &d.parameters {
                    let default = p
                        .default
                        .as_ref()
                        .map(|v| format!(" (default {})", v.terminal()))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    {}{default}: {}",
                        p.name.terminal(),
                        p.description.terminal()
                    );
                }
            }
            out.push('\n');
        }
        super::emit(&out)?;
        for f in &failures {
            eprintln!(
                "joule: warning: {}",
                f.error
                    .as_ref()
                    .map_or("a skill failed to load".to_string(), Untrusted::terminal)
            );
        }
    }
    Ok(if failures.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
