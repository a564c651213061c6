//! The report as one self-contained HTML page (`--format html`): the findings table, a flame
//! graph of each profile, the differential one of later profiles against the first, a chart of
//! each regression's series, each patch as a diff, and links between findings, frames and
//! source lines. Script and style are inline and the data is embedded as JSON, so the page
//! works from `file://` with no network; the same report and inputs give the same bytes.

mod flame;

pub use flame::Detail;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use joule_policy::SkillGrants;

use serde::Serialize;

use super::Report;
use crate::findings::Finding;
use crate::inputs::Inputs;
use crate::metrics::TimeFormat;

/// Charts of at most this many findings' series; the rest are counted in the page.
const MAX_CHARTS: usize = 200;
/// Points per chart; a longer series is thinned to every k-th point (the change point kept).
const MAX_POINTS: usize = 4_000;
/// Deploys marked per chart.
const MAX_DEPLOYS: usize = 100;
/// Findings whose source lines are quoted, quotes per finding, lines per quote, and lines in
/// all: what a skill's locations can pull into the page.
const MAX_SNIPPETS: usize = 500;
const MAX_QUOTES: usize = 5;
const MAX_SNIPPET_LINES: u32 = 40;
const MAX_QUOTED_LINES: usize = 20_000;
/// Lines quoted around a finding's own.
const CONTEXT_LINES: u32 = 3;

/// A skill's grants and the inputs they let through.
pub type Access = (Arc<SkillGrants>, Arc<Inputs>);

/// What the page draws beyond the report itself: the run's inputs, and what each skill may
/// read of them.
pub struct Views<'a> {
    pub inputs: &'a Inputs,
    /// A skill's grants and the inputs they let through, by skill id: a finding's source
    /// lines are quoted only from a tree and a file its skill may read, so a location cannot
    /// carry a denied file (a secret) into the page.
    pub access: &'a dyn Fn(&str) -> Option<Access>,
    pub detail: Detail,
}

#[derive(Serialize)]
struct Page<'a> {
    report: &'a Report,
    /// Flame graphs: each profile's, then the differential ones.
    flames: Vec<flame::Graph>,
    /// By finding id: the series a regression was found in.
    charts: BTreeMap<&'a str, Chart>,
    /// By finding id: the source lines its locations name.
    sources: BTreeMap<&'a str, Vec<Snippet>>,
    /// What the page leaves out, and why.
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Chart {
    set: String,
    series: String,
    /// RFC 3339 times (stored as Unix seconds) or plain integers.
    dates: bool,
    times: Vec<i64>,
    values: Vec<f64>,
    /// Index into `times` of the first point after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<f64>,
    deploys: Vec<Deploy>,
    /// Every k-th point is drawn (1: all).
    step: usize,
}

#[derive(Clone, Serialize)]
struct Deploy {
    t: i64,
    commit: String,
    summary: String,
    repository: String,
}

#[derive(Serialize)]
struct Snippet {
    tree: String,
    file: String,
    /// The line number of `lines[0]`.
    first: u32,
    lines: Vec<String>,
    /// The finding's own lines, inclusive.
    mark: [u32; 2],
}

/// The page for `report`; with `views`, its flame graphs, charts and source lines too.
pub fn html(report: &Report, views: Option<&Views>) -> String {
    let mut page = Page {
        report,
        flames: Vec::new(),
        charts: BTreeMap::new(),
        sources: BTreeMap::new(),
        notes: Vec::new(),
    };
    match views {
        Some(views) => {
            flames(&mut page, views);
            charts(&mut page, views.access);
            sources(&mut page, views.access);
        }
        None => page.notes.push(
            "Flame graphs, series charts and source lines are drawn from the run's inputs: \
             `joule run --format html` draws them, a report converted by `joule merge` has \
             only its findings."
                .to_string(),
        ),
    }
    // Serialising plain data with string keys cannot fail.
    let data = serde_json::to_string(&page).unwrap_or_default();
    let title = format!("Joule report: {} findings", report.findings.len());
    let mut out = String::with_capacity(data.len() + 64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape_text(&title)));
    out.push_str("<style>\n");
    out.push_str(include_str!("report.css"));
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(include_str!("body.html"));
    out.push_str("<script type=\"application/json\" id=\"joule-data\">");
    out.push_str(&script_safe(&data));
    out.push_str("</script>\n<script>\n");
    out.push_str(include_str!("report.js"));
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// JSON that cannot end its `<script>` element or open a comment in it: `<`, `>` and `&` (which
/// JSON only holds inside strings) as `\u` escapes, and the two line separators JavaScript
/// once read as line ends.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn flames(page: &mut Page, views: &Views) {
    let profiles = &views.inputs.profiles;
    for p in profiles {
        let t = p.profile.default_sample_type;
        page.flames
            .push(flame::graph(&p.name, &p.profile, t, views.detail));
    }
    // Later profiles against the first: what grew and what shrank.
    if let Some((first, rest)) = profiles.split_first() {
        let ft = first.profile.default_sample_type;
        for p in rest {
            let t = p.profile.default_sample_type;
            let (a, b) = (
                first.profile.sample_type_label(ft),
                p.profile.sample_type_label(t),
            );
            if a != b {
                page.notes.push(format!(
                    "No differential flame graph of {} against {}: they measure {b} and {a}.",
                    p.name, first.name
                ));
                continue;
            }
            page.flames.push(flame::diff(
                &first.name,
                (&first.profile, ft),
                &format!("{} against {}", p.name, first.name),
                (&p.profile, t),
                views.detail,
            ));
        }
    }
    let merged: usize = page.flames.iter().map(|g| g.merged).sum();
    if merged > 0 {
        page.notes.push(format!(
            "{merged} frames narrower than {} of their graph (or past {} frames a graph) are \
             merged into their callers; --flame-min-width and --flame-max-frames keep more.",
            percent(views.detail.min_width),
            views.detail.max_frames
        ));
    }
}

fn percent(share: f64) -> String {
    let text = format!("{:.4}", share * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// The evidence value named `name`.
fn evidence(f: &Finding, name: &str) -> Option<f64> {
    f.evidence
        .iter()
        .find(|m| m.name.raw() == name)
        .map(|m| m.value)
        .filter(|v| v.is_finite())
}

/// Charts of the findings' series, each drawn from what the finding's skill may read: its
/// metric sets, and the deploys of its repositories.
fn charts<'a>(page: &mut Page<'a>, access: &dyn Fn(&str) -> Option<Access>) {
    let wanted: Vec<&'a Finding> = page
        .report
        .findings
        .iter()
        .filter(|f| f.series.is_some() && evidence(f, "index").is_some())
        .collect();
    if wanted.len() > MAX_CHARTS {
        page.notes.push(format!(
            "Series charts are drawn for the first {MAX_CHARTS} of {} findings with a series.",
            wanted.len()
        ));
    }
    let mut by_skill: BTreeMap<&str, Vec<&'a Finding>> = BTreeMap::new();
    for f in wanted.into_iter().take(MAX_CHARTS) {
        by_skill.entry(f.skill.as_str()).or_default().push(f);
    }
    for (skill, findings) in by_skill {
        if let Some((_, inputs)) = access(skill) {
            skill_charts(page, &findings, &inputs);
        }
    }
}

/// The charts of one skill's `findings`, from `inputs`, what that skill may read.
fn skill_charts<'a>(page: &mut Page<'a>, findings: &[&'a Finding], inputs: &Inputs) {
    // One pass over each metric set for the series wanted, by title (`name{labels}`): a
    // series' name is looked up before its title is made, so a fleet of millions of series
    // costs one scan. The names a title may start with: all of it, or up to any `{`.
    let titles: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f.series.as_ref().map(|s| s.raw()))
        .collect();
    let names: HashSet<&str> = titles
        .iter()
        .flat_map(|t| {
            t.match_indices('{')
                .map(|(i, _)| &t[..i])
                .chain(std::iter::once(*t))
        })
        .collect();
    let mut found: HashMap<(&str, String), (usize, usize)> = HashMap::new();
    for (m, set) in inputs.metrics.iter().enumerate() {
        for (s, series) in set.set.series.iter().enumerate() {
            if !names.contains(series.name.as_str()) {
                continue;
            }
            let title = series.title();
            if titles.contains(title.as_str()) {
                found.entry((set.name.as_str(), title)).or_insert((m, s));
            }
        }
    }
    let mut deploys: Vec<Deploy> = Vec::new();
    for h in &inputs.histories {
        for (commit, t) in h.deploys() {
            let summary = h.commit(&commit).map(|c| c.summary).unwrap_or_default();
            deploys.push(Deploy {
                t,
                commit,
                summary,
                repository: h.name().to_string(),
            });
        }
    }
    deploys.sort_by(|a, b| (a.t, &a.commit).cmp(&(b.t, &b.commit)));
    for f in findings {
        let Some(title) = f.series.as_ref().map(|s| s.raw().to_string()) else {
            continue;
        };
        let set_name = f.labels.iter().find(|(k, _)| k.raw() == "metric-set");
        let hit = match set_name {
            Some((_, set)) => found.get(&(set.raw(), title.clone())),
            None => inputs
                .metrics
                .iter()
                .find_map(|m| found.get(&(m.name.as_str(), title.clone()))),
        };
        let Some(&(m, s)) = hit else {
            continue;
        };
        let set = &inputs.metrics[m];
        let series = &set.set.series[s];
        let step = series.len().div_ceil(MAX_POINTS).max(1);
        let change = evidence(f, "index").map(|i| i.max(0.0) as usize);
        let mut times = Vec::new();
        let mut values = Vec::new();
        let mut change_at = None;
        for (i, (t, v)) in series.times().iter().zip(series.values()).enumerate() {
            let is_change = change == Some(i);
            if i % step == 0 || is_change {
                if is_change {
                    change_at = Some(times.len());
                }
                times.push(*t);
                values.push(*v);
            }
        }
        let (first, last) = match (times.first(), times.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => continue,
        };
        let near: Vec<Deploy> = deploys
            .iter()
            .filter(|d| d.t >= first && d.t <= last)
            .take(MAX_DEPLOYS)
            .cloned()
            .collect();
        page.charts.insert(
            f.id.as_str(),
            Chart {
                set: set.name.clone(),
                series: title,
                dates: set.set.time_format == TimeFormat::Rfc3339,
                times,
                values,
                change: change_at,
                before: evidence(f, "before"),
                after: evidence(f, "after"),
                deploys: near,
                step,
            },
        );
    }
}

fn sources<'a>(page: &mut Page<'a>, access: &dyn Fn(&str) -> Option<Access>) {
    // Each file read once, kept as its text and where its lines start.
    type Text = Option<(String, Vec<usize>)>;
    let mut texts: HashMap<(String, String), Text> = HashMap::new();
    let mut grants: HashMap<&str, Option<Access>> = HashMap::new();
    let mut quoted = 0usize;
    let mut left_out = 0usize;
    for f in page.report.findings.iter().take(MAX_SNIPPETS) {
        let Some((skill_grants, inputs)) = grants
            .entry(f.skill.as_str())
            .or_insert_with(|| access(&f.skill))
            .clone()
        else {
            continue;
        };
        let mut snippets = Vec::new();
        for loc in &f.locations {
            if snippets.len() >= MAX_QUOTES || quoted >= MAX_QUOTED_LINES {
                left_out += 1;
                continue;
            }
            let (Some(file), Some(lines)) = (&loc.file, &loc.lines) else {
                continue;
            };
            // The checks the finding's own edits get before they become a patch.
            let Ok((tree, canonical)) = super::patch::resolve_file(
                loc.tree.as_ref().map(|t| t.raw()),
                file.raw(),
                &inputs,
                Some(&skill_grants.deny),
            ) else {
                continue;
            };
            let key = (tree.name().to_string(), canonical);
            let text = texts.entry(key.clone()).or_insert_with(|| {
                tree.read(&key.1).ok().map(|t| {
                    let starts = std::iter::once(0)
                        .chain(t.match_indices('\n').map(|(i, _)| i + 1))
                        .filter(|&i| i < t.len())
                        .collect();
                    (t, starts)
                })
            });
            let Some((text, starts)) = text else {
                continue;
            };
            let start = lines.start.max(1);
            let end = lines.end.max(start);
            let first = start.saturating_sub(CONTEXT_LINES).max(1);
            let last = end
                .saturating_add(CONTEXT_LINES)
                .min(first.saturating_add(MAX_SNIPPET_LINES - 1))
                .min(u32::try_from(starts.len()).unwrap_or(u32::MAX));
            if first > last {
                continue;
            }
            let lines: Vec<String> = (first as usize - 1..last as usize)
                .map(|i| {
                    let end = starts.get(i + 1).copied().unwrap_or(text.len());
                    let line = &text[starts[i]..end];
                    let line = line.strip_suffix('\n').unwrap_or(line);
                    line.strip_suffix('\r').unwrap_or(line).to_string()
                })
                .collect();
            quoted += lines.len();
            snippets.push(Snippet {
                tree: key.0,
                file: file.raw().to_string(),
                first,
                lines,
                mark: [start, end],
            });
        }
        if !snippets.is_empty() {
            page.sources.insert(f.id.as_str(), snippets);
        }
    }
    if left_out > 0 {
        page.notes.push(format!(
            "Source lines are quoted for at most {MAX_QUOTES} locations a finding and \
             {MAX_QUOTED_LINES} lines in all: {left_out} locations are not quoted."
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_safe_json_cannot_close_its_element() {
        let json = serde_json::to_string("</script><!-- & \u{2028}").unwrap();
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "</script><!-- & \u{2028}");
    }

    #[test]
    fn percent_trims_zeros() {
        assert_eq!(percent(1e-4), "0.01%");
        assert_eq!(percent(0.5), "50%");
    }
}
