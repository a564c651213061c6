//! Python: a function that lets a call raise for ordinary input and catches it
//! (`try: conv(string); return True` / `except ValueError: return False`, asked of every
//! cell of a text column) pays for an exception on every such call: the exception object, its
//! message (`float()` formats the rejected string into it), the traceback, the unwinding to the
//! handler, and freeing it all when the handler ends.
//!
//! Profile evidence (line level; py-spy has no frames for CPython's exception machinery, so
//! the time is read from the lines it is charged to): the time on the lines of an `except`
//! clause whose body only gives a value or goes on (`pass`, `continue`, `break`, `return
//! False`, `found = None`). Such a handler costs next to nothing per run, so time on it means
//! it runs very often: CPython charges the matching to the `except` line and the freeing of
//! the exception to the handler's last line. Source evidence (a syntax query in that function):
//! the `try` statement, its body and its `except` clauses.
//!
//! The cost stated is the handler's time and the raising charged to the `try` body's lines,
//! taken as twice the handler's (at most the body's time): measured under py-spy at 1000 Hz
//! with every call raising, the body's line held 2.1 times the handler's time for a `KeyError`
//! from a dict, 2.6 times for a `ValueError` raised one Python call down, 4.5 times for
//! `float()`'s `ValueError`. The fix is to test the input before the call (a compiled regex,
//! `str.isdigit`, `dict.get`, `in`), or to remember the answer per distinct value; which test
//! is right depends on what the input may hold, so the finding has no patch.

use joule_sdk::SyntaxCapture;
use joule_sdk::hotspot::{plain_name, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// `try` statements with each `except` clause and its body.
const TRIES: &str = r#"((try_statement
   body: (block) @body
   (except_clause (block) @handler_body) @handler) @try)"#;

/// Functions (by total time) whose `try` statements are looked at.
const CANDIDATES: u32 = 60;

/// The raising charged to the `try` body, as a multiple of the handler's time (the smallest
/// measured, see the module's comment).
const RAISE_PER_CATCH: f64 = 2.0;

/// Share of the exceptions' cost the fix removes: a test before the call costs a fraction of a
/// raise (a compiled regex's `match` of a short string 133 ns, against 530-670 ns to raise and
/// catch `float()`'s `ValueError` on Python 3.11).
const REMOVED: f64 = 0.8;

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    let min_share: f64 = invocation.param_or("min-share", 0.02)?;
    let trees = Tree::granted();
    let mut findings = Vec::new();
    for profile in Profile::granted() {
        for stat in profile.hot_in(Language::Python, Order::ByTotal, CANDIDATES, min_share)? {
            let function = &stat.function;
            if let Some(why) = joule_sdk::once::one_time(&trees, function)? {
                joule_sdk::log::debug(format!("`{}`: left out, {why}", function.name));
                continue;
            }
            findings.extend(function_findings(&profile, &trees, function, min_share)?);
        }
    }
    Ok(findings)
}

/// One `try` statement: where it is, its body, and its handlers that only give a value.
struct Try {
    tree: String,
    path: String,
    at: SyntaxCapture,
    body: SyntaxCapture,
    handlers: Vec<(SyntaxCapture, SyntaxCapture)>,
}

fn function_findings(
    profile: &Profile,
    trees: &[Tree],
    function: &Function,
    min_share: f64,
) -> Result<Vec<Finding>, String> {
    let mut tries: Vec<Try> = Vec::new();
    for (tree, site) in sites_in(trees, function, &Query::new(Language::Python, TRIES))? {
        let (Some(at), Some(body), Some(handler), Some(handler_body)) = (
            site.capture("try"),
            site.capture("body"),
            site.capture("handler"),
            site.capture("handler_body"),
        ) else {
            continue;
        };
        let same = |t: &&mut Try| {
            t.tree == tree
                && t.path == site.path
                && (t.at.bytes.start, t.at.bytes.end) == (at.bytes.start, at.bytes.end)
        };
        let entry = match tries.iter_mut().find(same) {
            Some(entry) => entry,
            None => {
                tries.push(Try {
                    tree: tree.clone(),
                    path: site.path.clone(),
                    at: at.clone(),
                    body: body.clone(),
                    handlers: Vec::new(),
                });
                tries.last_mut().expect("just pushed")
            }
        };
        entry.handlers.push((handler.clone(), handler_body.clone()));
    }
    if tries.is_empty() {
        return Ok(Vec::new());
    }
    let lines = profile.lines(function.id, 1000)?;
    let file = function.file.as_deref().unwrap_or_default();
    let time = |range: &LineRange| -> i64 {
        lines
            .iter()
            .filter(|l| l.file.as_deref().is_none_or(|f| f == file))
            .filter(|l| range.start <= l.line && l.line <= range.end)
            .map(|l| l.total_value)
            .sum()
    };
    let mut findings = Vec::new();
    for t in &tries {
        let body_time = time(&t.body.lines);
        // Handlers that only give a value or go on: their time is the exceptions'.
        let (cheap, other): (Vec<_>, Vec<_>) = t
            .handlers
            .iter()
            .partition(|(_, body)| body.is_whole() && only_gives_a_value(&body.text));
        let handler_time: i64 = cheap.iter().map(|(h, _)| time(&h.lines)).sum();
        if handler_time <= 0 {
            if !other.is_empty() && time(&t.body.lines) > 0 {
                joule_sdk::log::debug(format!(
                    "`{}`: the try at line {} has handlers that do work of their own; their \
                     time is not the exceptions'",
                    function.name, t.at.lines.start
                ));
            }
            continue;
        }
        let handler_time_f = handler_time as f64;
        let cost = (handler_time_f * (1.0 + RAISE_PER_CATCH))
            .min((body_time + handler_time) as f64)
            .round() as i64;
        let share = profile.share(cost);
        if share < min_share {
            joule_sdk::log::info(format!(
                "`{}`: the handlers of the try at line {} take {}; the exceptions, about {}, \
                 are under min-share {}",
                function.name,
                t.at.lines.start,
                percent(profile.share(handler_time)),
                percent(share),
                percent(min_share)
            ));
            continue;
        }
        let names: Vec<String> = cheap.iter().flat_map(|(h, _)| caught(&h.text)).collect();
        let caught = if names.is_empty() {
            "exceptions".to_string()
        } else {
            names
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let call = t
            .body
            .text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("")
            .to_string();
        let (first, last) = cheap.iter().fold((u32::MAX, 0), |(a, b), (h, _)| {
            (a.min(h.lines.start), b.max(h.lines.end))
        });
        let name = plain_name(&function.name);
        findings.push(
            Finding::opportunity("exception-control-flow")
                .title(format!(
                    "`{name}` uses {caught} as control flow: about {} of {}",
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "The handler of the `try` in `{name}` (lines {first}-{last}) only gives a \
                     value or goes on, yet {} is spent on it: it runs on a large part of the \
                     calls, so raising is the ordinary path, not the exceptional one. Each \
                     time,\n\n```python\n{call}\n```\n\nbuilds an exception (with its message \
                     and traceback), unwinds to the handler, and frees it all after. The \
                     exceptions cost about {} (the handler's time and the raising charged to \
                     the `try` body, taken as twice the handler's; the body's lines hold {} in \
                     all). Test the input before the call (a compiled regex, `str.isdigit`, \
                     `dict.get` or `in`), or remember the answer per distinct value. No patch \
                     is proposed: which test is right depends on what the input may hold.",
                    profile.cost(handler_time),
                    profile.cost(cost),
                    profile.cost(body_time),
                ))
                .location(Location::capture(&t.tree, &t.path, &t.at).in_function(&function.name))
                .measured(profile, cost)
                .saving(share * REMOVED)
                .confidence(0.6)
                .evidence(
                    "time on the handlers that only give a value",
                    handler_time_f,
                    profile.unit(),
                )
                .evidence("time on the try body", body_time as f64, profile.unit())
                .label(
                    "fingerprint",
                    format!("try {call} except {} (python)", names.join(", ")),
                )
                .build(),
        );
    }
    Ok(findings)
}

/// Whether a handler's body only gives a value or goes on: every statement is `pass`,
/// `continue`, `break`, a `return` of a literal or a name, or a name set to one.
pub fn only_gives_a_value(body: &str) -> bool {
    let statements: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    !statements.is_empty()
        && statements.iter().all(|s| {
            let s = s.split(" #").next().unwrap_or(s).trim();
            matches!(s, "pass" | "continue" | "break" | "return")
                || s.strip_prefix("return ").is_some_and(is_simple)
                || s.split_once(" = ").is_some_and(|(name, value)| {
                    is_name(name.trim()) && !name.contains('.') && is_simple(value)
                })
                || s.split_once(" += ").is_some_and(|(name, value)| {
                    is_name(name.trim()) && value.trim().parse::<f64>().is_ok()
                })
        })
}

/// A literal (number, short string, `True`, `False`, `None`, an empty container) or a
/// (dotted) name.
fn is_simple(value: &str) -> bool {
    let v = value.trim();
    matches!(
        v,
        "True" | "False" | "None" | "[]" | "{}" | "()" | "\"\"" | "''"
    ) || v.parse::<f64>().is_ok()
        || v.strip_prefix('-')
            .is_some_and(|n| n.parse::<f64>().is_ok())
        || (v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
            && !v[1..v.len() - 1].contains(['"', '\'']))
        || is_name(v)
}

fn is_name(v: &str) -> bool {
    !v.is_empty()
        && v.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// The exceptions an `except` clause names: `except (ValueError, TypeError) as e:` ->
/// `ValueError`, `TypeError`; a bare `except:` names none.
pub fn caught(clause: &str) -> Vec<String> {
    let header = clause.split(':').next().unwrap_or("");
    let Some(rest) = header.trim().strip_prefix("except") else {
        return Vec::new();
    };
    let rest = rest.trim().trim_start_matches('*').trim();
    let rest = rest.split(" as ").next().unwrap_or(rest);
    rest.trim_matches(|c| c == '(' || c == ')' || c == ' ')
        .split(',')
        .map(str::trim)
        .filter(|s| is_name(s))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_that_only_give_a_value() {
        for body in [
            "return False",
            "pass",
            "continue",
            "return None  # not a number",
            "value = None\n    found = False",
            "misses += 1",
            "return -1",
            "return \"\"",
            "return self.default",
        ] {
            assert!(only_gives_a_value(body), "{body}");
        }
        for body in [
            "value = compute(key)\ncache[key] = value",
            "raise AttributeError(name)",
            "return fallback(text)",
            "self.value = None",
            "log.warning(\"bad\")\nreturn None",
            "",
            "return [x for x in y]",
        ] {
            assert!(!only_gives_a_value(body), "{body}");
        }
    }

    #[test]
    fn exceptions_an_except_clause_names() {
        assert_eq!(
            caught("except (ValueError, TypeError):\n        return False"),
            ["ValueError", "TypeError"]
        );
        assert_eq!(caught("except KeyError as e:\n  pass"), ["KeyError"]);
        assert_eq!(caught("except* OSError:\n  pass"), ["OSError"]);
        assert_eq!(
            caught("except json.JSONDecodeError: pass"),
            ["json.JSONDecodeError"]
        );
        assert!(caught("except:\n    pass").is_empty());
    }
}
