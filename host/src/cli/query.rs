//! `joule query`: runs a tree-sitter query over a source tree the way `tree.query` answers a
//! skill (same walk, same bounds, same function and loop context), so skill authors can try a
//! query before they ship it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::ValueEnum;

use super::{Format, emit, exit};
use crate::source::SourceTree;
use crate::source::syntax::{Language, SyntaxQuery};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Lang {
    Rust,
    C,
    Cpp,
    Go,
    Python,
    Java,
    Javascript,
    Typescript,
    Tsx,
}

#[derive(clap::Args, Debug)]
pub struct QueryArgs {
    /// The source tree to search.
    dir: PathBuf,
    /// The tree-sitter query (S-expression patterns with @captures), or @FILE to read it from a
    /// file.
    query: String,
    /// The grammar.
    #[arg(long, short, value_enum)]
    language: Lang,
    /// Only files matching this glob (repeatable); all files of the language by default.
    #[arg(long)]
    glob: Vec<String>,
    /// Matches at most.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: Format,
}

pub fn query(args: QueryArgs) -> anyhow::Result<u8> {
    let text = match args.query.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("{file}: cannot read the query"))?,
        None => args.query.clone(),
    };
    let language = match args.language {
        Lang::Rust => Language::Rust,
        Lang::C => Language::C,
        Lang::Cpp => Language::Cpp,
        Lang::Go => Language::Go,
        Lang::Python => Language::Python,
        Lang::Java => Language::Java,
        Lang::Javascript => Language::JavaScript,
        Lang::Typescript => Language::TypeScript,
        Lang::Tsx => Language::Tsx,
    };
    let tree = SourceTree::open("tree", &args.dir)?;
    let query = SyntaxQuery {
        language,
        query: text,
        globs: args.glob,
        under: None,
        limit: args.limit,
    };
    if matches!(
        args.format,
        Format::Sarif | Format::MarkdownSummary | Format::Html
    ) {
        anyhow::bail!(
            "--format sarif, markdown-summary and html are for reports: give json or markdown"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let found = tree
        .query_syntax(&query, &|_| true, deadline)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.dir.display()))?;
    let out = match args.format {
        // Refused above, before the query.
        Format::Sarif | Format::MarkdownSummary | Format::Html => {
            anyhow::bail!("--format sarif, markdown-summary and html are for reports")
        }
        Format::Json => {
            let matches: Vec<serde_json::Value> = found
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "path": m.path,
                        "pattern": m.pattern,
                        "function": m.function,
                        "function_lines": m.function_lines,
                        "loop_depth": m.loop_depth,
                        "captures": m.captures.iter().map(|c| serde_json::json!({
                            "name": c.name,
                            "kind": c.kind,
                            "bytes": [c.start_byte, c.end_byte],
                            "lines": [c.start_line, c.end_line],
                            "text": c.text,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&matches)? + "\n"
        }
        Format::Markdown => {
            let mut out = String::new();
            for m in &found {
                let first = m.captures.iter().map(|c| c.start_line).min().unwrap_or(0);
                out.push_str(&format!(
                    "{}:{} pattern {} in {} (loop depth {})\n",
                    m.path,
                    first,
                    m.pattern,
                    m.function.as_deref().unwrap_or("(no function)"),
                    m.loop_depth
                ));
                for c in &m.captures {
                    let text: String = c
                        .text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(100)
                        .collect();
                    out.push_str(&format!(
                        "  @{} {} lines {}-{}: {}\n",
                        c.name, c.kind, c.start_line, c.end_line, text
                    ));
                }
            }
            out.push_str(&format!("{} matches\n", found.len()));
            out
        }
    };
    emit(&out)?;
    Ok(exit::OK)
}
