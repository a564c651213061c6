//! The Markdown report: a ranked summary table, one section per finding with its evidence and
//! patch, then the runs and any input that could not be read.

use std::fmt::Write;

use joule_profile::model::units::scaled;

use super::Report;
use super::RunStatus;
use crate::findings::Finding;

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
fn significant(v: f64) -> String {
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

/// Table cells may not contain `|` or newlines.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn location(f: &Finding) -> Option<String> {
    let l = f.locations.first()?;
    let mut place = match (&l.file, &l.lines) {
        (Some(file), Some(lines)) if lines.start == lines.end => {
            format!("`{file}:{}`", lines.start)
        }
        (Some(file), Some(lines)) => format!("`{file}:{}-{}`", lines.start, lines.end),
        (Some(file), None) => format!("`{file}`"),
        _ => String::new(),
    };
    if let Some(function) = &l.function {
        if !place.is_empty() {
            place.push_str(" in ");
        }
        let _ = write!(place, "`{function}`");
    }
    (!place.is_empty()).then_some(place)
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Joule report\n");
    let profiles: Vec<String> = report
        .inputs
        .profiles
        .iter()
        .filter(|p| p.error.is_none())
        .map(|p| match (&p.sample_type, p.total) {
            (Some(t), Some(total)) => {
                let (name, unit) = t.split_once('/').unwrap_or((t, ""));
                format!("`{}` ({} of {name})", p.name, scaled(total, unit))
            }
            _ => format!("`{}`", p.name),
        })
        .collect();
    let sources: Vec<String> = report
        .inputs
        .sources
        .iter()
        .map(|s| format!("`{}`", s.name))
        .collect();
    let metrics: Vec<String> = report
        .inputs
        .metrics
        .iter()
        .filter_map(|m| {
            let series = m.series?;
            Some(format!("`{}` ({series} series)", m.name))
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

    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "| # | Finding | Kind | Share | Saving | Confidence | Skill |\n|---:|---|---|---:|---:|---:|---|"
        );
        for (i, f) in report.findings.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.2} | `{}` |",
                i + 1,
                cell(&f.title),
                f.kind.name(),
                share(f),
                saving(f),
                f.confidence,
                f.skill
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

    for (i, f) in report.findings.iter().enumerate() {
        let _ = writeln!(out, "## {}. {}\n", i + 1, f.title);
        let _ = writeln!(
            out,
            "**{}** · rule `{}` · skill `{}` · share {} · confidence {:.2} · id `{}`\n",
            f.kind.name(),
            f.rule,
            f.skill,
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
            let _ = writeln!(out, "{}\n", f.message.trim_end());
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "Evidence:\n");
            for m in &f.evidence {
                let _ = writeln!(out, "- {}: {} {}", m.name, trim_number(m.value), m.unit);
            }
            out.push('\n');
        }
        if let Some(patch) = &f.patch {
            let _ = writeln!(out, "Suggested patch:\n\n```diff\n{}```\n", patch);
        }
        if let Some(e) = &f.patch_error {
            let _ = writeln!(out, "The suggested edits could not be applied: {e}\n");
        }
    }

    let _ = writeln!(
        out,
        "## Runs\n\n| Skill | Version | Trigger | Status | Time | Findings | Detail |\n|---|---|---|---|---:|---:|---|"
    );
    for r in &report.runs {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.1} ms | {} | {} |",
            r.skill,
            r.version,
            r.trigger,
            match r.status {
                RunStatus::Ok => "ok",
                RunStatus::Failed => "**failed**",
            },
            r.duration_ms,
            r.findings,
            cell(r.error.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');

    let broken: Vec<_> = report
        .inputs
        .profiles
        .iter()
        .filter(|p| p.error.is_some() || !p.warnings.is_empty())
        .collect();
    if !broken.is_empty() {
        let _ = writeln!(out, "## Input problems\n");
        for p in broken {
            if let Some(e) = &p.error {
                let _ = writeln!(out, "- {e}");
            }
            for w in &p.warnings {
                let _ = writeln!(out, "- {}: {w}", p.path);
            }
        }
        out.push('\n');
    }
    out
}

/// `12.0` -> `12`, `0.123456` -> `0.1235`.
fn trim_number(v: f64) -> String {
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
