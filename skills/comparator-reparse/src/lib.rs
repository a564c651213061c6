//! `comparator-reparse`: a sort whose comparator parses its keys from text (a numeric sort of
//! CSV fields, dates compared as strings parsed on the fly) parses both sides of every
//! comparison: about 2 n log2 n parses for n items, where parsing each key once costs n.
//!
//! Profile evidence: the time in parsing (Rust's `str::parse` / `FromStr` / `from_utf8`, Go's
//! `strconv` and `time.Parse`, C's `strtod` / `atoi` family) under a sort's comparator,
//! charged to the function that sorts: the first frame above the sort (Rust's `sort_by` /
//! `sort_unstable_by`, Go's `sort.Slice` / `sort.Sort` / `slices.SortFunc`, C's `qsort`).
//! Source evidence: the sort call in that function's text. The fix is to parse each key once
//! and sort by the parsed keys (pair each item with its key, or sort indices by a vector of
//! keys); when the key is not totally ordered (floats) or not every item parses, how to keep
//! the order the comparator gave is the program's choice, so the finding has no patch.

use joule_sdk::hotspot::{Attribution, CallerCost};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// Sorts whose comparator is the program's: Rust (both ways profiles spell them), Go, C.
const SORTS: &str = r"^<?alloc::slice::(<impl \[T\]>::)?(sort_by|sort_unstable_by|sort_by_key|sort_unstable_by_key)(<.*)?$|^<?core::slice::(<impl \[T\]>::)?(sort_unstable_by|sort_unstable_by_key)(<.*)?$|^sort\.(Slice|SliceStable|Sort|Stable)$|^slices\.(SortFunc|SortStableFunc)(\[.*\])?$|^(qsort|qsort_r|__qsort_r)$";

/// Parsing text into values.
const PARSING: &str = r"^<?core::str::(<impl str>::)?parse(<.*)?$|FromStr>::from_str$|^<?core::num::(dec2flt|from_str|from_str_radix|from_ascii_radix)|^core::str::(converts::)?from_utf8$|^core::str::validations::run_utf8_validation$|^strconv\.(Atoi|ParseInt|ParseUint|ParseFloat|ParseBool|atof\w*|readFloat|eiselLemire\w*|special|parseFloatPrefix)$|^time\.(Parse|parse)$|^(atoi|atol|atoll|atof|strtol|strtoul|strtoll|strtoull|strtod|strtof|__strtol_internal|__strtod_internal|____strtol_l_internal|____strtod_l_internal|__isoc99_sscanf|sscanf)$";

/// How each language writes the sort, to find the call in the function's text.
const CALLS: &[&str] = &[
    ".sort_by(",
    ".sort_unstable_by(",
    ".sort_by_key(",
    ".sort_unstable_by_key(",
    "sort.Slice(",
    "sort.SliceStable(",
    "sort.Sort(",
    "sort.Stable(",
    "slices.SortFunc(",
    "slices.SortStableFunc(",
    "qsort(",
    "qsort_r(",
];

/// Share of the parsing the fix removes: n parses instead of about 2 n log2 n.
const REMOVED: f64 = 0.9;

struct ComparatorReparse;

impl Skill for ComparatorReparse {
    fn describe() -> Descriptor {
        Describe::offense(
            "comparator-reparse",
            env!("CARGO_PKG_VERSION"),
            "Sorts whose comparator parses its keys from text on every comparison (Rust, Go, \
             C); says how to parse each key once.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(PARSING, SORTS).scan(invocation, "parsing inside sorts", caller_findings)
    }
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    // The sort call the time goes through: of the function's sort calls, the one on the line
    // with the most time under it (the profile's lines for the function), else the first.
    let hot = profile.lines(function.id, 200)?;
    let Some((tree, path, line, text)) = sort_call(trees, function, &hot)? else {
        joule_sdk::log::info(format!(
            "`{}`: {} parsing inside sorts, but its sort call was not found in a granted tree",
            function.name,
            percent(share)
        ));
        return Ok(Vec::new());
    };
    Ok(vec![
        Finding::opportunity("comparator-reparse")
            .title(format!(
                "`{}` parses its sort keys on every comparison: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to parsing inside the comparator of the sort in `{}`:\n\n```\n{}\n```\n\n\
                 The comparator parses both keys each time it is called, about 2 n log2 n times \
                 for n items. Parse each key once (n times) and sort by the parsed keys: pair \
                 each item with its key, or sort indices by a vector of keys, then reorder. No \
                 patch is proposed: for keys that are not totally ordered (floats) or items \
                 that do not parse, the order the comparator gave must be kept by hand.",
                profile.cost(caller.value),
                function.name,
                text.trim(),
            ))
            .location(Location::lines(tree.name(), &path, line, line).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(0.8)
            .evidence(
                "parsing time inside the sort",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", format!("{path}:{line}: {}", text.trim()))
            .build(),
    ])
}

/// The sort call in `function`'s body in a granted tree that most of the function's time
/// goes through (by `hot`, its lines in the profile), else its first: the tree, the file, the
/// line and its text. The function's lines come from the tree's index of definitions.
fn sort_call<'t>(
    trees: &'t [Tree],
    function: &Function,
    hot: &[LineStat],
) -> Result<Option<(&'t Tree, String, u32, String)>, CallError> {
    let name = joule_sdk::hotspot::plain_name(&function.name);
    for tree in trees {
        let mut definitions = tree.definitions(&name, 16)?;
        definitions.retain(|d| joule_sdk::hotspot::same_function(&function.name, &d.function));
        if let Some(file) = function.file.as_deref().and_then(|f| tree.locate(f)) {
            definitions.retain(|d| d.path == file);
        }
        for d in definitions {
            let lines = tree.read_lines(&d.path, d.lines.start, d.lines.end)?;
            let calls: Vec<(u32, &String)> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    CALLS.iter().any(|c| l.contains(c)) && !l.trim_start().starts_with("//")
                })
                .map(|(i, l)| (d.lines.start + i as u32, l))
                .collect();
            let time_on = |line: u32| -> i64 {
                hot.iter()
                    .filter(|l| l.line == line)
                    .map(|l| l.total_value)
                    .sum()
            };
            let best = calls
                .iter()
                .max_by_key(|(line, _)| (time_on(*line), std::cmp::Reverse(*line)));
            if let Some((line, text)) = best {
                return Ok(Some((tree, d.path.clone(), *line, (*text).clone())));
            }
        }
    }
    Ok(None)
}

export_skill!(ComparatorReparse, id = "comparator-reparse");
