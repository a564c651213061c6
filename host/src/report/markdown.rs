//! The Markdown report: a ranked summary table, one section per finding with its evidence and
//! patch, then the runs and any input that could not be read. One function per section, each
//! writing what skills gave through [`crate::untrusted::markdown`].

use std::fmt::Write;

use joule_profile::model::units::scaled;

use super::Report;
use super::RunStatus;
use crate::findings::{Finding, Location};
use crate::untrusted::{Untrusted, markdown};

fn share(f: &Finding) -> String {
    f.impact
        .sample_share
        .map(|s| format!("{:.1}%", s * 100.0))
        .unwrap_or_else(|| "–".to_string())
}

/// `12.3 cores, 74 W`: what fixing an opportunity saves across the fleet.
fn saving(f: &Finding) -> String {
    match &f.saving {
        Some(s) => format!("{} cores, {} W", significant(s.cores), significant(s.watts)),
        None => "–".to_string(),
    }
}

/// Three significant digits, without trailing zeros (`12.3`, `0.0421`, `1250`).
pub(crate) fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".to_string();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Where a finding is: `src/parse.rs:20` in `parse_line`, each part one code span.
fn location(f: &Finding) -> Option<String> {
    place(f.locations.first()?)
}

/// One location as `file:lines in function`, in Markdown code spans.
pub(crate) fn place(l: &Location) -> Option<String> {
    let mut place = match (&l.file, &l.lines) {
        (Some(file), Some(lines)) if lines.start == lines.end => {
            markdown::code(&format!("{}:{}", file.raw(), lines.start))
        }
        (Some(file), Some(lines)) => {
            markdown::code(&format!("{}:{}-{}", file.raw(), lines.start, lines.end))
        }
        (Some(file), None) => file.md_code(),
        _ => String::new(),
    };
    if let Some(function) = &l.function {
        if !place.is_empty() {
            place.push_str(" in ");
        }
        place.push_str(&function.md_code());
    }
    (!place.is_empty()).then_some(place)
}

/// The report. Every string from a skill (and from the operator's inputs) is written through
/// the escaping function of the place it goes to ([`crate::untrusted::markdown`]), so no
/// skill can add a row, a finding, a heading or a section.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Joule report\n");
    summary(&mut out, report);
    findings_table(&mut out, report);
    baseline_summary(&mut out, report);
    for (i, f) in report.findings.iter().enumerate() {
        finding(&mut out, i + 1, f);
    }
    runs_table(&mut out, report);
    input_problems(&mut out, report);
    out
}

/// The most a short summary holds: GitHub's limit on a comment is 65,536 characters, and the
/// cut note and a CI's own words need room.
const SUMMARY_BYTES: usize = 60_000;

/// The report in short, fit to post as a pull-request comment: the summary line, the findings
/// table (with the baseline's marks) and what is gone, cut at a row under GitHub's comment
/// limit with a note of how many findings were left out.
pub fn markdown_summary(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Joule\n");
    summary(&mut out, report);
    let mut table = String::new();
    findings_table(&mut table, report);
    baseline_summary(&mut table, report);
    if out.len() + table.len() > SUMMARY_BYTES {
        // A row ends at a newline, which is never inside a character: the cut is at one.
        let room = SUMMARY_BYTES.saturating_sub(out.len() + 200);
        let cut = table.as_bytes()[..room.min(table.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap_or(0);
        let shown = table[..cut]
            .lines()
            .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
            .count();
        table.truncate(cut);
        let _ = writeln!(
            table,
            "\n\n*{} more findings are in the full report (`--format markdown` or `json`): this \
             summary stops under GitHub's comment size limit.*\n",
            report.findings.len().saturating_sub(shown)
        );
    }
    out.push_str(&table);
    let failed = report.failed_runs();
    if failed > 0 {
        let _ = writeln!(
            out,
            "{failed} skill run(s) failed: see the full report's Runs table.\n"
        );
    }
    out
}

/// `12 skills ran on 1 profile (...), metric set ... and source tree .... **15 findings**.`
fn summary(out: &mut String, report: &Report) {
    let profiles: Vec<String> = report
        .inputs
        .profiles
        .iter()
        .filter(|p| p.error.is_none())
        .map(|p| match (&p.sample_type, p.total) {
            (Some(t), Some(total)) => {
                let (name, unit) = t.split_once('/').unwrap_or((t, ""));
                format!(
                    "{} ({} of {})",
                    markdown::code(&p.name),
                    scaled(total, unit),
                    markdown::inline(name)
                )
            }
            _ => markdown::code(&p.name),
        })
        .collect();
    let sources: Vec<String> = report
        .inputs
        .sources
        .iter()
        .map(|s| markdown::code(&s.name))
        .collect();
    let metrics: Vec<String> = report
        .inputs
        .metrics
        .iter()
        .filter_map(|m| {
            let series = m.series?;
            Some(format!("{} ({series} series)", markdown::code(&m.name)))
        })
        .collect();
    let skills: std::collections::BTreeSet<&str> =
        report.runs.iter().map(|r| r.skill.as_str()).collect();
    let _ = writeln!(
        out,
        "{} skill{} ran on {} profile{}{}{}. **{} finding{}**{}.\n",
        skills.len(),
        if skills.len() == 1 { "" } else { "s" },
        profiles.len(),
        if profiles.len() == 1 { "" } else { "s" },
        if profiles.is_empty() {
            String::new()
        } else {
            format!(" ({})", profiles.join(", "))
        },
        {
            let mut more = String::new();
            if !metrics.is_empty() {
                more.push_str(&format!(
                    ", metric set{} {}",
                    if metrics.len() == 1 { "" } else { "s" },
                    metrics.join(", ")
                ));
            }
            if !sources.is_empty() {
                more.push_str(&format!(" and source tree {}", sources.join(", ")));
            }
            more
        },
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        match report.failed_runs() {
            0 => String::new(),
            n => format!(", {n} failed run{}", if n == 1 { "" } else { "s" }),
        }
    );
}

/// One row per finding, ranked, and the fleet the savings are for.
fn findings_table(out: &mut String, report: &Report) {
    if report.findings.is_empty() {
        return;
    }
    let baseline = report.baseline.as_ref();
    let (head, rule) = match baseline {
        Some(_) => (" Baseline |", "---|"),
        None => ("", ""),
    };
    let _ = writeln!(
        out,
        "| # | Finding | Kind | Share | Saving | Confidence | Skill |{head}\n|---:|---|---|---:|---:|---:|---|{rule}"
    );
    for (i, f) in report.findings.iter().enumerate() {
        let state = baseline
            .map(|b| format!(" {} |", b.state(&f.id).map_or("", |s| s.name())))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {} |{state}",
            i + 1,
            f.title.md_cell(),
            f.kind.name(),
            share(f),
            saving(f),
            f.confidence,
            markdown::code_in_cell(&f.skill)
        );
    }
    if let Some(fleet) = &report.fleet {
        let _ = writeln!(
            out,
            "\nSavings are for a fleet of {} cores running the profiled programs at {} W a \
             core (`--fleet-cores`, `--watts-per-core`).",
            significant(fleet.cores),
            significant(fleet.watts_per_core)
        );
    }
    out.push('\n');
}

/// Against the baseline: how many findings are new and unchanged, and those gone.
fn baseline_summary(out: &mut String, report: &Report) {
    let Some(b) = &report.baseline else {
        return;
    };
    let _ = writeln!(
        out,
        "Against the baseline {}: {} new, {} unchanged, {} gone.\n",
        markdown::code(&b.file),
        b.new.len(),
        b.unchanged.len(),
        b.gone.len()
    );
    if b.gone.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| Gone since the baseline | Kind | Skill | Id |\n|---|---|---|---|"
    );
    for g in &b.gone {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            g.title.md_cell(),
            g.kind.name(),
            g.skill.md_cell(),
            markdown::code_in_cell(&g.id)
        );
    }
    out.push('\n');
}

/// Finding `n`: its heading, who made it and how sure, where, what it saves, the skill's
/// message, the evidence and the patch.
pub(crate) fn finding(out: &mut String, n: usize, f: &Finding) {
    let _ = writeln!(out, "## {n}. {}\n", f.title.md_inline());
    let _ = writeln!(
        out,
        "**{}** · rule {} · skill {} · share {} · confidence {:.2} · id `{}`\n",
        f.kind.name(),
        f.rule.md_code(),
        markdown::code(&f.skill),
        share(f),
        f.confidence,
        f.id
    );
    if let Some(place) = location(f) {
        let _ = writeln!(out, "Location: {place}\n");
    }
    if let Some(s) = &f.saving {
        let _ = writeln!(
            out,
            "Estimated saving: {} ({:.2}% of the profile)\n",
            saving(f),
            s.share * 100.0
        );
    }
    if !f.message.is_empty() {
        let _ = writeln!(out, "{}\n", f.message.md_message(&f.skill));
    }
    if let Some(also) = f.labels.get(&Untrusted::from("also")) {
        let _ = writeln!(
            out,
            "Correlated series that changed at the same time: {}\n",
            also.md_inline()
        );
    }
    if !f.evidence.is_empty() {
        let _ = writeln!(out, "Evidence:\n");
        for m in &f.evidence {
            let _ = writeln!(
                out,
                "- {}: {} {}",
                m.name.md_inline_at_start(),
                trim_number(m.value),
                m.unit.md_inline()
            );
        }
        out.push('\n');
    }
    if let Some(patch) = &f.patch {
        let _ = writeln!(out, "Suggested patch:\n\n{}\n", patch.md_fenced("diff"));
    }
    if let Some(e) = &f.patch_error {
        let _ = writeln!(
            out,
            "The suggested edits could not be applied: {}\n",
            e.md_inline()
        );
    }
    if !f.overlaps.is_empty() {
        // Ids are the host's own fingerprints (hex), not a skill's text.
        let ids: Vec<String> = f.overlaps.iter().map(|id| format!("`{id}`")).collect();
        let _ = writeln!(
            out,
            "Its edits overlap those of {}: the combined patch carries only the first of them \
             in rank order.\n",
            ids.join(", ")
        );
    }
}

/// One row per run: skill, version, trigger, status, time, findings, and why it failed.
fn runs_table(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "## Runs\n\n| Skill | Version | Trigger | Status | Time | Findings | Detail |\n|---|---|---|---|---:|---:|---|"
    );
    for r in &report.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} ms | {} | {} |",
            markdown::code_in_cell(&r.skill),
            r.version.md_cell(),
            r.trigger.md_cell(),
            match r.status {
                RunStatus::Ok => "ok",
                RunStatus::Failed => "**failed**",
            },
            r.duration_ms,
            r.findings,
            match (&r.error, &r.warning) {
                (Some(e), _) => e.md_cell(),
                (None, Some(w)) => markdown::cell(w),
                (None, None) => String::new(),
            }
        );
    }
    out.push('\n');
}

/// Profiles that could not be read, or were read with lines skipped.
fn input_problems(out: &mut String, report: &Report) {
    let broken: Vec<_> = report
        .inputs
        .profiles
        .iter()
        .filter(|p| p.error.is_some() || !p.warnings.is_empty())
        .collect();
    if broken.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Input problems\n");
    for p in broken {
        if let Some(e) = &p.error {
            let _ = writeln!(out, "- {}", markdown::inline_at_start(e));
        }
        for w in &p.warnings {
            let _ = writeln!(
                out,
                "- {}: {}",
                markdown::inline_at_start(&p.path),
                markdown::inline(w)
            );
        }
    }
    out.push('\n');
}

/// `12.0` -> `12`, `0.123456` -> `0.1235`.
pub(crate) fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() < 1e-3 {
        // p-values and other small numbers keep their digits.
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
