//! `alloc-in-loop`: a Go scratch slice made afresh on every iteration of a loop
//! (`line := make([]byte, 0, 256)` inside `for`) is a heap allocation per iteration once it
//! escapes (handed to an `io.Writer`, an interface), and garbage the collector must find and
//! free. One slice made before the loop and emptied for each iteration (`line = line[:0]`)
//! does the same work with one allocation.
//!
//! Profile evidence: an allocation profile (Go's `allocs` / heap profile, `alloc_space`):
//! the bytes allocated by the function on the line of the `make`. When a CPU profile of the
//! same program is granted too, the saving is the CPU time the function spends allocating
//! (`runtime.mallocgc` and the slice makers under it), scaled by that line's part of the
//! function's allocation; without one the finding says the CPU saving is unknown and states
//! none. Source evidence (syntax queries in that function): `NAME := make([]T, 0[, CAP])`
//! inside a loop, at that line. The patch makes the slice once before the innermost loop
//! around it and empties it where it was made (`NAME = NAME[:0]`). It is offered only when
//! every use of `NAME` in the loop keeps the slice inside the iteration: appended to
//! (`NAME = append(NAME, ..)`, `strconv.AppendInt(NAME, ..)`), indexed, measured, ranged
//! over, converted to a string (a copy), or written to an `io.Writer` (`w.Write(NAME)`, which
//! must not retain it); stored anywhere, returned, sent, or used in a closure or goroutine
//! leaves the finding without a patch.

use joule_sdk::code::{closing, enclosing_call};
use joule_sdk::hotspot::{Attribution, Costs, may_be_in, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::{format_value, percent};
use joule_sdk::{Order, TopQuery};

/// Slices made with zero length: `NAME := make([]T, 0[, CAP])`.
const MAKES: &str = r#"((short_var_declaration
   left: (expression_list . (identifier) @name .)
   right: (expression_list . (call_expression
      function: (identifier) @make
      arguments: (argument_list . (slice_type) @type . (_) @length . (_)? @capacity .)) @call .)) @decl
 (#eq? @make "make"))"#;

/// Loops, with their bodies.
const LOOPS: &str = r#"((for_statement body: (block) @body) @loop)"#;

/// Go's allocation entry points, for the CPU time a function spends allocating.
const ALLOCATING: &str = r"^runtime\.(mallocgc|makeslice|growslice|newobject|makeslicecopy)$";

/// Functions that only read or copy a slice given to them (conversions copy; an `io.Writer`
/// must not keep what it is given): passing the slice to them keeps it in the iteration.
const READS_ONLY: &[&str] = &[
    "len",
    "cap",
    "string",
    "copy",
    "Write",
    "WriteString",
    "bytes.Equal",
    "bytes.EqualFold",
    "bytes.Compare",
    "bytes.Contains",
    "bytes.ContainsAny",
    "bytes.ContainsRune",
    "bytes.Count",
    "bytes.HasPrefix",
    "bytes.HasSuffix",
    "bytes.Index",
    "bytes.IndexAny",
    "bytes.IndexByte",
    "bytes.IndexRune",
    "bytes.LastIndex",
    "bytes.LastIndexByte",
    "utf8.Valid",
    "utf8.RuneCount",
    "utf8.DecodeRune",
    "utf8.DecodeLastRune",
    "utf8.FullRune",
];

struct AllocInLoop;

impl Skill for AllocInLoop {
    fn describe() -> Descriptor {
        Describe::offense(
            "alloc-in-loop",
            env!("CARGO_PKG_VERSION"),
            "Go scratch slices made afresh on every iteration of a hot loop, found in \
             allocation profiles; proposes one slice made before the loop and emptied.",
            "0.05",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let min_share: f64 = invocation.param_or("min-share", 0.05)?;
        let trees = Tree::granted();
        let profiles = Profile::granted();
        // Each CPU profile's allocation time by caller, attributed once for every finding.
        let mut cpu: Vec<(&Profile, Costs)> = Vec::new();
        for profile in profiles.iter().filter(|p| alloc_type(p).is_none()) {
            cpu.push((
                profile,
                Attribution::new(ALLOCATING, ALLOCATING).run(profile)?,
            ));
        }
        let mut findings = Vec::new();
        for profile in &profiles {
            let Some(alloc) = alloc_type(profile) else {
                continue;
            };
            let total = profile
                .metadata()
                .totals
                .get(alloc as usize)
                .copied()
                .unwrap_or(0);
            if total <= 0 {
                continue;
            }
            let top = profile.raw().top(&TopQuery {
                order: Order::BySelf,
                limit: 30,
                sample_type: Some(alloc),
                name_filter: None,
            })?;
            for stat in top {
                let share = stat.self_value as f64 / total as f64;
                if share < min_share || !may_be_in(&stat.function, Language::Go) {
                    continue;
                }
                let lines = profile.raw().lines(stat.function.id, Some(alloc), 200)?;
                findings.extend(function_findings(
                    profile, &cpu, &trees, &stat, &lines, total, min_share,
                )?);
            }
        }
        Ok(findings)
    }
}

/// The index of the allocation sample type (`alloc_space`, else `alloc_objects`), when the
/// profile is an allocation profile.
fn alloc_type(profile: &Profile) -> Option<u32> {
    let types = &profile.metadata().sample_types;
    ["alloc_space", "alloc_objects"]
        .iter()
        .find_map(|want| types.iter().position(|t| t.name == *want))
        .map(|i| i as u32)
}

#[allow(clippy::too_many_arguments)]
fn function_findings(
    profile: &Profile,
    cpu: &[(&Profile, Costs)],
    trees: &[Tree],
    stat: &FunctionStat,
    lines: &[LineStat],
    total: i64,
    min_share: f64,
) -> Result<Vec<Finding>, String> {
    let function = &stat.function;
    let mut findings = Vec::new();
    let makes = sites_in(trees, function, &Query::new(Language::Go, MAKES))?;
    if makes.is_empty() {
        return Ok(findings);
    }
    let loops = sites_in(trees, function, &Query::new(Language::Go, LOOPS))?;
    for (tree_name, site) in makes {
        let (Some(decl), Some(name), Some(call), Some(length)) = (
            site.capture("decl"),
            site.capture("name"),
            site.capture("call"),
            site.capture("length"),
        ) else {
            continue;
        };
        if site.loop_depth == 0 || length.text != "0" {
            continue;
        }
        let allocated: i64 = lines
            .iter()
            .filter(|l| l.line == decl.lines.start)
            .map(|l| l.self_value)
            .sum();
        let share = allocated as f64 / total as f64;
        if share < min_share {
            continue;
        }
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        // The innermost loop around the declaration.
        let Some((lp, body)) = loops
            .iter()
            .filter(|(t, m)| *t == tree_name && m.path == site.path)
            .filter_map(|(_, m)| Some((m.capture("loop")?, m.capture("body")?)))
            .filter(|(_, b)| b.bytes.start <= decl.bytes.start && decl.bytes.end <= b.bytes.end)
            .min_by_key(|(_, b)| b.bytes.end - b.bytes.start)
        else {
            continue;
        };
        let file = tree.read(&site.path)?;
        let uses = tree.identifiers(Language::Go, &site.path, &name.text)?;
        let uses: Vec<(u64, u64)> = uses
            .iter()
            .filter_map(|m| m.capture("use"))
            .map(|c| (c.bytes.start, c.bytes.end))
            .filter(|&(s, e)| s >= body.bytes.start && e <= body.bytes.end)
            .filter(|&(s, _)| s != name.bytes.start)
            .collect();
        let body_text = file
            .get(body.bytes.start as usize..body.bytes.end as usize)
            .unwrap_or("");
        let why_not = stays_inside(&file, &name.text, &uses, body_text);
        let cpu_saving = cpu_saving(
            cpu,
            function,
            allocated as f64 / stat.self_value.max(1) as f64,
        );
        let made = format!("{} := {}", name.text, call.text);
        let mut finding = Finding::opportunity("alloc-in-loop")
            .title(format!(
                "`{}` makes `{}` afresh on every iteration: {} of {}",
                function.name,
                name.text,
                percent(share),
                alloc_name(profile)
            ))
            .message(format!(
                "`{}` allocates {} on line {} ({} of the profile's {}): `{made}` runs on every \
                 iteration of the loop around it, and each slice is garbage the collector must \
                 find and free. One slice made before the loop and emptied for each iteration \
                 (`{n} = {n}[:0]`) does the same work with one allocation. {} {}",
                function.name,
                format_value(allocated as f64, "bytes"),
                decl.lines.start,
                percent(share),
                alloc_name(profile),
                match &cpu_saving {
                    Some((cpu_share, cpu_name)) => format!(
                        "In `{cpu_name}`, allocating at this line takes about {} of the CPU \
                         time: that is the saving stated.",
                        percent(*cpu_share)
                    ),
                    None => "The CPU saving is not known from an allocation profile alone; \
                             grant a CPU profile of the same program to have it stated."
                        .to_string(),
                },
                match &why_not {
                    None => "The patch makes the slice before the loop and empties it where it \
                             was made."
                        .to_string(),
                    Some(why) => format!("No patch is proposed because {why}."),
                },
                n = name.text,
            ))
            .location(Location::capture(&tree_name, &site.path, decl).in_function(&function.name))
            .share(share)
            .value(allocated as f64, &profile_unit(profile))
            .evidence("share of allocation", share * 100.0, "%")
            .label("profile", profile.name())
            .saving(cpu_saving.as_ref().map_or(0.0, |(s, _)| *s))
            .confidence(0.8)
            .evidence("bytes allocated on the line", allocated as f64, "bytes")
            .label("fingerprint", format!("{made} in a loop"));
        if why_not.is_none() && call.is_whole() {
            let indent = tree.indentation(&site.path, lp.lines.start)?;
            finding = finding
                .edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    lp.lines.start,
                    lp.lines.start - 1,
                    &format!("{indent}{made}\n"),
                ))
                .edit(Edit::capture(
                    &tree_name,
                    &site.path,
                    decl,
                    &format!("{n} = {n}[:0]", n = name.text),
                ));
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

/// The allocation sample type's name, `alloc_space`.
fn alloc_name(profile: &Profile) -> String {
    alloc_type(profile)
        .and_then(|i| profile.metadata().sample_types.get(i as usize))
        .map_or_else(|| "allocation".to_string(), |t| t.name.clone())
}

fn profile_unit(profile: &Profile) -> String {
    alloc_type(profile)
        .and_then(|i| profile.metadata().sample_types.get(i as usize))
        .map_or_else(|| "bytes".to_string(), |t| t.unit.clone())
}

/// The share of a granted CPU profile that `function` spends allocating, times `part` (the
/// line's part of the function's allocation), and that profile's name: the largest over the
/// CPU profiles that have the function.
fn cpu_saving(cpu: &[(&Profile, Costs)], function: &Function, part: f64) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for (profile, costs) in cpu {
        let Some(caller) = costs
            .callers
            .iter()
            .find(|c| c.function.name == function.name)
        else {
            continue;
        };
        let share = profile.share(caller.value) * part.clamp(0.0, 1.0);
        if best.as_ref().is_none_or(|(b, _)| share > *b) {
            best = Some((share, profile.name().to_string()));
        }
    }
    best
}

/// Why the slice `name` may outlive an iteration, given its uses (byte ranges in `file`,
/// inside the loop's body, the declaration's name left out) and the body's text; `None` when
/// every use keeps it inside the iteration.
pub fn stays_inside(file: &str, name: &str, uses: &[(u64, u64)], body: &str) -> Option<String> {
    if body.contains("go ") || body.contains("defer ") || body.contains("func(") {
        return Some("the loop starts a goroutine, defers a call, or makes a closure".to_string());
    }
    for &(start, end) in uses {
        let before = file.get(..start as usize)?.trim_end();
        let after = file.get(end as usize..)?.trim_start();
        let line = after.lines().next().unwrap_or("").trim();
        // `name = f(name, ..)`: the target of a growing call.
        if after.starts_with('=') && !after.starts_with("==") {
            let call = after[1..].trim_start();
            let callee: String = call
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            let first_arg = call[callee.len()..].trim_start().strip_prefix('(');
            let grows = callee == "append" || callee.starts_with("strconv.Append");
            if grows
                && first_arg.is_some_and(|a| {
                    a.trim_start().starts_with(name)
                        && !a.trim_start()[name.len()..]
                            .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            {
                continue;
            }
            return Some(format!(
                "`{name}` is assigned other than by growing it (`{name} {line}`)"
            ));
        }
        if after.starts_with(":=") {
            return Some(format!("`{name}` is declared again in the loop"));
        }
        // `name[i]`: an element, read or written; the slice stays. `name[a:b]` is a slice of
        // the same memory, judged as the name itself is, by what follows it.
        let mut after = after;
        if after.starts_with('[') {
            let Some(close) = closing(after, '[', ']') else {
                return Some(format!(
                    "`{name}` is indexed in a way the patch does not follow"
                ));
            };
            if !after[..close].contains(':') {
                continue;
            }
            after = after[close + 1..].trim_start();
            if after.starts_with('=') && !after.starts_with("==") {
                return Some(format!("a slice of `{name}` is assigned to"));
            }
        }
        if before.ends_with("range") {
            continue;
        }
        // An argument: of what?
        if let Some(callee) = enclosing_call(before) {
            let base = callee.rsplit('.').next().unwrap_or(&callee).to_string();
            let first = before.ends_with('(');
            let grows = callee == "append" || callee.starts_with("strconv.Append");
            if grows && first {
                // `name = append(name, ..)`: the growing call, its result back in `name`.
                // Anywhere else (`out = append(out, append(name, 'x'))`) the result shares
                // `name`'s memory and goes elsewhere.
                let call_start = before.len().saturating_sub(1 + callee.len());
                let assigned = before[..call_start].trim_end();
                let target = assigned.strip_suffix('=').map(str::trim_end);
                if target.is_some_and(|t| {
                    t.ends_with(name)
                        && !t[..t.len() - name.len()]
                            .ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
                }) {
                    continue;
                }
                return Some(format!(
                    "what `{callee}` makes from `{name}` is kept elsewhere"
                ));
            }
            // `append(other, name...)` copies its elements; `append(out, name)` stores it.
            if callee == "append" && !after.starts_with("...") {
                return Some(format!("`{name}` is appended to another slice"));
            }
            if callee == "append"
                || READS_ONLY.contains(&callee.as_str())
                || READS_ONLY.contains(&base.as_str())
            {
                continue;
            }
            return Some(format!(
                "`{name}` is passed to `{callee}`, which may keep it"
            ));
        }
        if before.ends_with("return") {
            return Some(format!("`{name}` is returned"));
        }
        if before.ends_with("<-") {
            return Some(format!("`{name}` is sent on a channel"));
        }
        if before.ends_with('=')
            || before.ends_with(':')
            || before.ends_with(',')
            || before.ends_with('{')
        {
            return Some(format!(
                "`{name}` is stored (`{}`)",
                before.lines().last().unwrap_or("").trim()
            ));
        }
        return Some(format!(
            "`{name}` is used in a way the patch does not follow (`{name}{line}`)"
        ));
    }
    None
}

export_skill!(AllocInLoop, id = "alloc-in-loop");

#[cfg(test)]
mod tests {
    use super::*;

    /// The uses of `name` in `file` after its declaration (`name :=`), as byte ranges.
    fn check(file: &str, name: &str) -> Option<String> {
        let decl = file.find(&format!("{name} :=")).unwrap();
        let b = file.as_bytes();
        let uses: Vec<(u64, u64)> = file
            .match_indices(name)
            .map(|(i, _)| i)
            .filter(|&i| i != decl)
            .filter(|&i| {
                let end = i + name.len();
                !(i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
                    && !(end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_'))
            })
            .map(|i| (i as u64, (i + name.len()) as u64))
            .collect();
        stays_inside(file, name, &uses, file)
    }

    #[test]
    fn scratch_slices_that_stay_in_the_iteration() {
        let keeps = [
            "line := make([]byte, 0, 64)\nline = append(line, s.Name...)\nline = strconv.AppendInt(line, n, 10)\nif _, err := w.Write(line); err != nil {\n\treturn err\n}",
            "buf := make([]int, 0)\nbuf = append(buf, 1)\nfor _, x := range buf {\n\ttotal += x\n}\nif len(buf) > 2 {\n\tbuf[0] = 3\n}",
            "b := make([]byte, 0, 8)\nb = append(b, 'x')\nkey := string(b)\nm[key]++",
            "b := make([]byte, 0, 8)\nb = append(b, 'x')\nout = append(out, b...)",
        ];
        for body in keeps {
            assert_eq!(check(body, body.split(' ').next().unwrap()), None, "{body}");
        }
    }

    #[test]
    fn slices_that_outlive_the_iteration() {
        let escapes = [
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nout = append(out, b)",
                "another slice",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nm[k] = b",
                "stored",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nreturn b",
                "returned",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nch <- b",
                "channel",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nkeep(b)",
                "may keep",
            ),
            ("b := make([]byte, 0, 8)\nb = other\n", "assigned"),
            (
                "b := make([]byte, 0, 8)\ngo func() { use(b) }()",
                "goroutine",
            ),
            ("b := make([]byte, 0, 8)\nb = append(c, 'x')", "assigned"),
            (
                "b := make([]byte, 0, 8)\nr := Rec{Data: b}\n_ = r",
                "stored",
            ),
            // Found on review: a slice of it, a retaining bytes function, a grown copy kept.
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nout = append(out, b[:len(b)])",
                "another slice",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nm[k] = b[1:]",
                "stored",
            ),
            (
                "b := make([]byte, 0, 8)\nb = append(b, 'x')\nout = append(out, bytes.TrimSpace(b))",
                "may keep",
            ),
            (
                "b := make([]byte, 0, 8)\nout = append(out, append(b, 'x'))",
                "kept elsewhere",
            ),
            (
                "b := make([]byte, 0, 8)\nkept := strconv.AppendInt(b, 1, 10)\n_ = kept",
                "kept elsewhere",
            ),
        ];
        for (body, why) in escapes {
            let found = check(body, "b");
            assert!(
                found.as_deref().is_some_and(|f| f.contains(why)),
                "{body}: {found:?}"
            );
        }
    }
}
