//! `hot-functions`: the functions with the most self (flat) time in each granted profile,
//! ranked, with their share of the profile, their cumulative time, their main callers, their
//! hottest lines, and their place in a granted source tree when the tree has the file.

use joule_sdk::prelude::*;
use joule_sdk::units::{format_value, percent};

struct HotFunctions;

impl Skill for HotFunctions {
    fn describe() -> Descriptor {
        Describe::new(
            "hot-functions",
            env!("CARGO_PKG_VERSION"),
            "The functions with the highest self time in each profile, with their share of the \
             total and their source location.",
        )
        .on_scan()
        .uses("profiles")
        .uses("source")
        .uses("log")
        .parameter(
            "limit",
            "How many functions to report per profile.",
            Some("10"),
        )
        .parameter(
            "min-share",
            "Leave out functions whose self time is below this fraction of the profile.",
            Some("0.01"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let limit: u32 = invocation.param_or("limit", 10)?;
        let min_share: f64 = invocation.param_or("min-share", 0.01)?;
        let trees = Tree::granted();
        let mut findings = Vec::new();
        for profile in Profile::granted() {
            if profile.total() == 0 {
                log::warn(format!("{}: the profile is empty", profile.name()));
                continue;
            }
            for (rank, stat) in profile.top(limit)?.into_iter().enumerate() {
                let share = profile.share(stat.self_value);
                if share < min_share {
                    break;
                }
                findings.push(hot_function(&profile, &trees, rank + 1, &stat)?);
            }
        }
        Ok(findings)
    }
}

fn hot_function(
    profile: &Profile,
    trees: &[Tree],
    rank: usize,
    stat: &FunctionStat,
) -> Result<Finding, CallError> {
    let f = &stat.function;
    let unit = profile.unit();
    let self_share = profile.share(stat.self_value);
    let total_share = profile.share(stat.total_value);
    if let Some(binary) = joule_sdk::unsymbolized(&f.name) {
        return Ok(unsymbolized(profile, rank, stat, binary));
    }
    let lines = profile.lines(f.id, 20)?;
    let mut by_self: Vec<&LineStat> = lines
        .iter()
        .filter(|l| l.line > 0 && l.self_value > 0)
        .collect();
    by_self.sort_by_key(|l| std::cmp::Reverse(l.self_value));
    let callers = profile.callers(f.id, 3)?;

    let mut location = Location::function(&f.name);
    if let Some((tree, path)) = f
        .file
        .as_deref()
        .and_then(|file| Tree::locate_in(trees, file))
    {
        // The line where the function spends its own time, else where it calls out from.
        let line = by_self
            .first()
            .map(|l| l.line)
            .or_else(|| lines.iter().map(|l| l.line).find(|&l| l > 0))
            .or(f.start_line);
        location.tree = Some(tree.name().to_string());
        location.file = Some(path);
        location.lines = line.map(|l| LineRange { start: l, end: l });
    }

    let mut message = format!(
        "`{}` spends **{}** of `{}` in its own code ({} flat) and {} including what it calls \
         ({} cumulative), in profile `{}`.",
        f.name,
        percent(self_share),
        profile.sample_type(),
        format_value(stat.self_value as f64, unit),
        percent(total_share),
        format_value(stat.total_value as f64, unit),
        profile.name(),
    );
    if !callers.is_empty() {
        let list: Vec<String> = callers
            .iter()
            .map(|c| {
                format!(
                    "`{}` ({})",
                    c.function.name,
                    percent(profile.share(c.value))
                )
            })
            .collect();
        message.push_str(&format!("\n\nCalled from {}.", list.join(", ")));
    }
    let hot_lines: Vec<String> = by_self
        .iter()
        .take(3)
        .map(|l| format!("line {} ({})", l.line, percent(profile.share(l.self_value))))
        .collect();
    if !hot_lines.is_empty() {
        message.push_str(&format!("\n\nHottest lines: {}.", hot_lines.join(", ")));
    }

    let finding = Finding::info("hot-function")
        .title(format!(
            "#{rank} `{}`: {} self, {} total",
            f.name,
            percent(self_share),
            percent(total_share)
        ))
        .message(message)
        .location(location);
    Ok(measured(finding, profile, rank, stat)
        .label("fingerprint", profile.name())
        .build())
}

/// The share, value, evidence and labels every hot-function finding carries.
fn measured(
    finding: joule_sdk::FindingBuilder,
    profile: &Profile,
    rank: usize,
    stat: &FunctionStat,
) -> joule_sdk::FindingBuilder {
    let unit = profile.unit();
    let self_share = profile.share(stat.self_value);
    let total_share = profile.share(stat.total_value);
    finding
        .share(self_share)
        .value(stat.self_value as f64, unit)
        .confidence(1.0)
        .evidence("self", stat.self_value as f64, unit)
        .evidence("total", stat.total_value as f64, unit)
        .evidence("self share", self_share * 100.0, "%")
        .evidence("total share", total_share * 100.0, "%")
        .label("profile", profile.name())
        .label("rank", rank.to_string())
}

/// Hot code no symbol names: not a function to look up, but a binary to give symbols to.
fn unsymbolized(profile: &Profile, rank: usize, stat: &FunctionStat, binary: &str) -> Finding {
    let unit = profile.unit();
    let self_share = profile.share(stat.self_value);
    let total_share = profile.share(stat.total_value);
    let what = if binary.is_empty() {
        "unsymbolized code".to_string()
    } else {
        format!("unsymbolized code in `{binary}`")
    };
    let fix = if binary.is_empty() {
        "Neither the function nor the binary is named in the profile: capture again with \
         symbols (a binary with its symbol table or debug information, and for `perf` the \
         same binary at the same path when `perf script` runs)."
            .to_string()
    } else {
        format!(
            "The profile names the binary but not the function: install or keep the symbols \
             of `{binary}` (its debug package, or a build with `-g`) where the profiler looks \
             for them, and capture again to see which of its functions this is."
        )
    };
    let finding = Finding::info("hot-function")
        .title(format!(
            "#{rank} {what}: {} self, {} total",
            percent(self_share),
            percent(total_share)
        ))
        .message(format!(
            "{} of `{}` is spent in {what} ({} flat) in profile `{}`. {fix}",
            percent(self_share),
            profile.sample_type(),
            format_value(stat.self_value as f64, unit),
            profile.name(),
        ));
    measured(finding, profile, rank, stat)
        .label("unsymbolized", binary)
        // Each binary's code is its own finding, per profile (there is no function location
        // to tell them apart).
        .label(
            "fingerprint",
            format!("{} {}", profile.name(), stat.function.name),
        )
        .build()
}

export_skill!(HotFunctions, id = "hot-functions");
