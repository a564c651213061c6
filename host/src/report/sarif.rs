//! SARIF 2.1.0 (`--format sarif`): a report's findings as GitHub code scanning and other SARIF
//! consumers read them, built on serde-sarif's types (generated from the SARIF schema, so the
//! shape cannot drift from it). One run: the driver with a rule per skill rule, an extension
//! per skill (its version and digest), a result per finding with its first location, a
//! fingerprint stable across runs, its share, saving and confidence, and its edits as a fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use serde_sarif::sarif;

use super::{Baseline, Report};
use crate::findings::{Finding, Kind, Span};

/// Where the SARIF schema is published; GitHub and the Multitool recognise it.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The report as a SARIF log. File paths are made relative to the root of the git repository
/// each source tree is in (so GitHub annotates the right lines), or to the tree when it is in
/// none.
pub fn sarif(report: &Report) -> String {
    let prefixes = tree_prefixes(report);
    let mut rules: BTreeMap<String, (usize, &Finding)> = BTreeMap::new();
    for f in &report.findings {
        let n = rules.len();
        rules.entry(rule_id(f)).or_insert((n, f));
    }
    let mut ordered: Vec<(&String, &(usize, &Finding))> = rules.iter().collect();
    ordered.sort_by_key(|(_, (i, _))| *i);
    let descriptors: Vec<sarif::ReportingDescriptor> =
        ordered.iter().map(|(id, (_, f))| rule(id, f)).collect();
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|f| result(f, rules[&rule_id(f)].0, &prefixes, report.baseline.as_ref()))
        .collect();
    let mut skills: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for r in &report.runs {
        if !r.digest.is_empty() {
            skills
                .entry(r.skill.as_str())
                .or_insert((r.version.raw(), r.digest.as_str()));
        }
    }
    let extensions: Vec<sarif::ToolComponent> = skills
        .into_iter()
        .map(|(id, (version, digest))| {
            sarif::ToolComponent::builder()
                .name(id)
                .version(version)
                .properties(properties(json!({ "digest": format!("sha256:{digest}") })))
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("Joule")
        .full_name(format!("{} {}", report.tool.name, report.tool.version))
        .version(report.tool.version.as_str())
        .semantic_version(report.tool.version.as_str())
        .rules(descriptors)
        .build();
    let tool = sarif::Tool::builder()
        .driver(driver)
        .extensions(extensions)
        .build();
    let run = sarif::Run::builder()
        .tool(tool)
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .build();
    let log = sarif::Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A rule's id: the skill's, then its rule (`regex-in-hot-path/regex-compiled-per-call`).
fn rule_id(f: &Finding) -> String {
    format!("{}/{}", f.skill, f.rule.raw())
}

/// The rule the first finding of it describes: its title as the short description, the skill
/// and rule as the full one, and help in Markdown.
fn rule(id: &str, f: &Finding) -> sarif::ReportingDescriptor {
    let short = f.title.raw().to_string();
    let full = format!(
        "{} (Joule skill `{}`, rule `{}`; a {} finding).",
        f.title.raw(),
        f.skill,
        f.rule.raw(),
        f.kind.name()
    );
    let help = format!(
        "**{}**\n\n{}\n\nReported by the Joule skill `{}`. Run `joule run --format markdown` \
         for the evidence, or `explain_finding` from `joule mcp`.",
        f.title.raw(),
        f.message.raw(),
        f.skill
    );
    sarif::ReportingDescriptor::builder()
        .id(id)
        .name(f.rule.raw())
        .short_description(text_message(&short))
        .full_description(text_message(&full))
        .help(
            sarif::MultiformatMessageString::builder()
                .text(format!("{}\n\n{}", f.title.raw(), f.message.raw()))
                .markdown(help)
                .build(),
        )
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(serde_json::to_value(result_level(f.kind)).unwrap_or_default())
                .build(),
        )
        .build()
}

fn text_message(text: &str) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder()
        .text(text)
        .build()
}

/// Regressions fail a check, opportunities warn, the rest inform.
fn result_level(kind: Kind) -> sarif::ResultLevel {
    match kind {
        Kind::Regression => sarif::ResultLevel::Error,
        Kind::Opportunity | Kind::Mitigation | Kind::RootCause => sarif::ResultLevel::Warning,
        Kind::Info => sarif::ResultLevel::Note,
    }
}

fn properties(value: Value) -> sarif::PropertyBag {
    let Value::Object(map) = value else {
        return sarif::PropertyBag::builder().build();
    };
    sarif::PropertyBag::builder()
        .additional_properties(map.into_iter().collect::<BTreeMap<_, _>>())
        .build()
}

fn result(
    f: &Finding,
    rule_index: usize,
    prefixes: &BTreeMap<String, String>,
    baseline: Option<&Baseline>,
) -> sarif::Result {
    let text = format!("{}: {}", f.title.raw(), f.message.raw());
    let locations = vec![location(f, prefixes)];
    let mut props = serde_json::Map::new();
    props.insert("joule/id".into(), json!(f.id));
    props.insert("joule/kind".into(), json!(f.kind.name()));
    props.insert("confidence".into(), json!(f.confidence));
    if let Some(share) = f.impact.sample_share {
        props.insert("share".into(), json!(share));
    }
    if let Some(change) = f.impact.relative_change {
        props.insert("relativeChange".into(), json!(change));
    }
    if let Some(series) = &f.series {
        props.insert("series".into(), json!(series.raw()));
    }
    if let Some(saving) = &f.saving {
        props.insert(
            "saving".into(),
            json!({"share": saving.share, "cores": saving.cores, "watts": saving.watts}),
        );
    }
    let mut builder = sarif::Result::builder()
        .rule_id(rule_id(f))
        .rule_index(rule_index as i64)
        .level(result_level(f.kind))
        .message(sarif::Message::builder().text(text).build())
        .locations(locations)
        .partial_fingerprints(BTreeMap::from([(
            // GitHub's key: a value stable across runs identifies the same alert. The finding's
            // id is that: skill, rule and place, not its lines.
            "primaryLocationLineHash".to_string(),
            format!("{}:1", f.id),
        )]))
        .properties(properties(Value::Object(props)))
        .build();
    if !f.edits.is_empty() {
        builder.fixes = Some(vec![fix(f, prefixes)]);
    }
    // SARIF's own words are Joule's: `new`, `unchanged`.
    builder.baseline_state = baseline
        .and_then(|b| b.state(&f.id))
        .map(|s| json!(s.name()));
    builder
}

/// Where a finding is, for a SARIF consumer: its first location with a file (GitHub annotates
/// only files), else the first file its edits change (a revert's), else its first location by
/// function alone, else its series, or its rule: a result always has a location.
fn location(f: &Finding, prefixes: &BTreeMap<String, String>) -> sarif::Location {
    let with_file = f.locations.iter().find(|l| l.file.is_some());
    let mut location = sarif::Location::builder().build();
    // The place: the file (relative to the repository), and its lines where known.
    let place = if let Some(place) = with_file {
        let file = place.file.as_ref().map(|f| f.raw()).unwrap_or_default();
        let region = place.lines.as_ref().map(|lines| {
            sarif::Region::builder()
                .start_line(lines.start.max(1) as i64)
                .end_line(lines.end.max(lines.start).max(1) as i64)
                .build()
        });
        Some((place.tree.as_ref(), file, region))
    } else {
        f.edits.first().map(|edit| {
            let region = match edit.span {
                Span::Lines { start, .. } => Some(
                    sarif::Region::builder()
                        .start_line(start.max(1) as i64)
                        .build(),
                ),
                Span::Bytes { .. } => None,
            };
            (edit.tree.as_ref(), edit.file.raw(), region)
        })
    };
    if let Some((tree, file, region)) = place {
        let uri = uri(prefixes, tree.map(|t| t.raw()), file);
        let mut physical = sarif::PhysicalLocation::builder()
            .artifact_location(sarif::ArtifactLocation::builder().uri(uri).build())
            .build();
        physical.region = region;
        location.physical_location = Some(physical);
    }
    let function = with_file
        .or(f.locations.first())
        .and_then(|l| l.function.as_ref());
    let (name, kind) = match (function, &f.series) {
        (Some(function), _) => (function.raw().to_string(), "function"),
        (None, Some(series)) => (series.raw().to_string(), "member"),
        (None, None) => (rule_id(f), "module"),
    };
    if function.is_some() || location.physical_location.is_none() {
        location.logical_locations = Some(vec![
            sarif::LogicalLocation::builder()
                .fully_qualified_name(name)
                .kind(kind)
                .build(),
        ]);
    }
    location
}

/// The finding's edits as one fix: a change per file, a replacement per edit.
fn fix(f: &Finding, prefixes: &BTreeMap<String, String>) -> sarif::Fix {
    let mut by_file: BTreeMap<String, Vec<sarif::Replacement>> = BTreeMap::new();
    for e in &f.edits {
        let uri = uri(prefixes, e.tree.as_ref().map(|t| t.raw()), e.file.raw());
        let (region, inserted) = match &e.span {
            // Whole lines; an empty range inserts before `start`. A region of whole lines
            // ends before the last line's newline, so the replacement's own last newline goes.
            Span::Lines { start, end } if end.checked_add(1) == Some(*start) => (
                sarif::Region::builder()
                    .start_line(*start as i64)
                    .start_column(1)
                    .end_line(*start as i64)
                    .end_column(1)
                    .build(),
                e.replacement.raw().to_string(),
            ),
            Span::Lines { start, end } => (
                sarif::Region::builder()
                    .start_line((*start).max(1) as i64)
                    .end_line((*end).max(*start).max(1) as i64)
                    .build(),
                e.replacement
                    .raw()
                    .strip_suffix('\n')
                    .unwrap_or(e.replacement.raw())
                    .to_string(),
            ),
            Span::Bytes { start, end } => (
                sarif::Region::builder()
                    .byte_offset(*start as i64)
                    .byte_length(end.saturating_sub(*start) as i64)
                    .build(),
                e.replacement.raw().to_string(),
            ),
        };
        by_file.entry(uri).or_default().push(
            sarif::Replacement::builder()
                .deleted_region(region)
                .inserted_content(sarif::ArtifactContent::builder().text(inserted).build())
                .build(),
        );
    }
    let changes: Vec<sarif::ArtifactChange> = by_file
        .into_iter()
        .map(|(uri, replacements)| {
            sarif::ArtifactChange::builder()
                .artifact_location(sarif::ArtifactLocation::builder().uri(uri).build())
                .replacements(replacements)
                .build()
        })
        .collect();
    sarif::Fix::builder()
        .description(
            sarif::Message::builder()
                .text(format!("Apply the edits of: {}", f.title.raw()))
                .build(),
        )
        .artifact_changes(changes)
        .build()
}

/// `file` of tree `tree` as a URI relative to its repository's root: the tree's own place in
/// the repository, then the file, `/`-separated and percent-encoded where URIs need it.
fn uri(prefixes: &BTreeMap<String, String>, tree: Option<&str>, file: &str) -> String {
    let prefix = tree
        .and_then(|t| prefixes.get(t))
        .or_else(|| {
            (prefixes.len() == 1)
                .then(|| prefixes.values().next())
                .flatten()
        })
        .map(String::as_str)
        .unwrap_or("");
    let path = if prefix.is_empty() {
        file.to_string()
    } else {
        format!("{prefix}/{file}")
    };
    encode(&path)
}

/// Percent-encodes what may not stand in a URI path (RFC 3986 `pchar` and `/`).
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Each source tree's directory relative to the root of the git repository holding it (empty
/// when the tree is the root or is in no repository).
fn tree_prefixes(report: &Report) -> BTreeMap<String, String> {
    report
        .inputs
        .sources
        .iter()
        .map(|s| (s.name.clone(), repository_prefix(Path::new(&s.path))))
        .collect()
}

fn repository_prefix(dir: &Path) -> String {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return String::new();
    };
    let Some(root) = git2::Repository::discover(&dir)
        .ok()
        .and_then(|r| r.workdir().map(PathBuf::from))
        .and_then(|w| std::fs::canonicalize(w).ok())
    else {
        return String::new();
    };
    dir.strip_prefix(&root)
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_the_repository_and_encoded() {
        let prefixes = BTreeMap::from([
            ("app".to_string(), "services/app".to_string()),
            ("lib".to_string(), String::new()),
        ]);
        assert_eq!(
            uri(&prefixes, Some("app"), "src/main.rs"),
            "services/app/src/main.rs"
        );
        assert_eq!(uri(&prefixes, Some("lib"), "a b#c.rs"), "a%20b%23c.rs");
        assert_eq!(encode("ü"), "%C3%BC");
    }
}
