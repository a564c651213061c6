//! The host's own MCP tools, answered natively within the agent's grants: what was given, a
//! profile's top functions, a function's callers and callees, two profiles' differences, a file
//! or line range of a granted tree and syntax queries over one (deny rules applied), metric
//! series, commits, and the findings this server's skill runs made.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use joule_policy::SkillGrants;
use joule_profile::model::units::scaled;
use joule_profile::model::{FunctionId, Order, Profile};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::{Answer, Refused, Server};
use crate::inputs::{Inputs, NamedProfile};
use crate::source::{SourceTree, syntax};

/// The most text one `read_source` answer carries; past it the answer says where it stopped.
const MAX_READ_BYTES: usize = 256 << 10;
/// The most rows `list_series`, `profile_top`, `profile_callers`, `profile_callees`,
/// `profile_diff` and `syntax_query` give, and points `read_series` gives.
const MAX_ROWS: usize = 10_000;
/// The most candidates an ambiguous function name's refusal lists.
const MAX_CANDIDATES: usize = 20;
/// The longest a `syntax_query` may take (or the run's deadline, if shorter); past it the
/// answer is what was found so far, said to be partial.
const QUERY_TIME: Duration = Duration::from_secs(60);
/// A capture's text in a `syntax_query` answer's text (its first line, cut to this many
/// characters; the structured answer has it whole, up to the host's cap).
const CAPTURE_PREVIEW: usize = 120;

fn schema(properties: Value, required: &[&str]) -> Arc<JsonObject> {
    let value = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    match value {
        Value::Object(o) => Arc::new(o),
        _ => unreachable!("a JSON object literal"),
    }
}

fn tool(name: &'static str, description: &'static str, schema: Arc<JsonObject>) -> Tool {
    let read_only = name != "run_skill";
    Tool::new(name, description, schema).with_annotations(
        ToolAnnotations::new()
            .read_only(read_only)
            .idempotent(true)
            .open_world(false),
    )
}

/// `profile_callers` or `profile_callees`: `what` they list, `lead` their description's
/// start, `where_` which stacks `calls` counts, and `one` of them.
fn neighbours_tool(name: &'static str, what: &str, lead: &str, where_: &str, one: &str) -> Tool {
    let description = format!(
        "{lead}, like `pprof -peek`: each {one} with the value of the stacks where {where_} \
         (`calls`, and its share of the function's cumulative value) and the {one}'s own flat and \
         cumulative values and shares."
    );
    let schema = schema(
        json!({
            "profile": {"type": "string", "description": "The profile's name as `inputs` lists it (default: the first)."},
            "function": {"type": "string", "description": "The function's name as `profile_top` shows it, or a part of it that only one function's name contains."},
            "n": {"type": "integer", "minimum": 1, "description": format!("How many {what} (default 20), the largest first.")}
        }),
        &["function"],
    );
    let mut tool = tool(name, "", schema);
    tool.description = Some(description.into());
    tool
}

/// The core tools' definitions.
pub fn core() -> Vec<Tool> {
    vec![
        tool(
            "inputs",
            "What this Joule server was started with: profiles (format, sample type, total), \
             source trees, metric sets (series, points), git histories, and the skills loaded \
             with their parameters; which of them this agent may read.",
            schema(json!({}), &[]),
        ),
        tool(
            "profile_top",
            "The functions with the most time in a profile, like `pprof -top`: flat (self) and \
             cumulative values and shares.",
            schema(
                json!({
                    "profile": {"type": "string", "description": "The profile's name as `inputs` lists it (default: the first)."},
                    "n": {"type": "integer", "minimum": 1, "description": "How many functions (default 20)."},
                    "cum": {"type": "boolean", "description": "Order by cumulative rather than flat value."}
                }),
                &[],
            ),
        ),
        neighbours_tool(
            "profile_callers",
            "callers",
            "Who calls a function",
            "it calls the function",
            "caller",
        ),
        neighbours_tool(
            "profile_callees",
            "callees",
            "What a function calls",
            "the function calls it",
            "callee",
        ),
        tool(
            "profile_diff",
            "The functions whose flat (or cumulative) value changed most between two profiles, \
             matched by name, like `joule profile diff`: before, after, the change and how much \
             it is relative to before, with each side's share of its profile.",
            schema(
                json!({
                    "base": {"type": "string", "description": "The profile before, by its name as `inputs` lists it."},
                    "profile": {"type": "string", "description": "The profile after, by its name as `inputs` lists it."},
                    "n": {"type": "integer", "minimum": 1, "description": "How many functions (default 20)."},
                    "cum": {"type": "boolean", "description": "Order by the change of the cumulative rather than the flat value."},
                    "normalize": {"type": "boolean", "description": "Scale the base to the new profile's total first (like `pprof -normalize`), so the changes are of shares rather than of absolute values."}
                }),
                &["base", "profile"],
            ),
        ),
        tool(
            "read_source",
            "A file of a granted source tree, whole or lines START..END (1-based, inclusive). \
             Secrets and the policy's deny rules are refused.",
            schema(
                json!({
                    "tree": {"type": "string", "description": "The tree's name (default: the first)."},
                    "path": {"type": "string", "description": "The file's path inside the tree."},
                    "start": {"type": "integer", "minimum": 1},
                    "end": {"type": "integer", "minimum": 1}
                }),
                &["path"],
            ),
        ),
        tool(
            "syntax_query",
            "Run a tree-sitter query over the files of one language in a granted source tree, as \
             skills' syntax queries run: each match with its file, its captures (node kind, \
             lines, text) and the function and loops around it. Secrets and the policy's deny \
             rules are left out.",
            schema(
                json!({
                    "tree": {"type": "string", "description": "The tree's name (default: the first)."},
                    "language": {"type": "string", "enum": syntax::Language::ALL.map(syntax::Language::name), "description": "The grammar to parse with; only files of this language are queried (`.h` counts for C and C++)."},
                    "query": {"type": "string", "description": "A tree-sitter query: S-expression patterns with @captures and the #eq?, #match?, #any-of? predicates, e.g. `((call_expression function: (scoped_identifier) @f) (#eq? @f \"Regex::new\"))`."},
                    "under": {"type": "string", "description": "Only files under this directory of the tree."},
                    "globs": {"type": "array", "items": {"type": "string"}, "description": "Only files whose paths match one of these globs (`src/**/*.rs`); default: every file of the language."},
                    "limit": {"type": "integer", "minimum": 1, "description": "At most this many matches in the answer (default 100)."}
                }),
                &["language", "query"],
            ),
        ),
        tool(
            "list_series",
            "The metric series this agent may read: key, points, first and last time.",
            schema(
                json!({
                    "set": {"type": "string", "description": "A metric set's name (default: all)."},
                    "contains": {"type": "string", "description": "Only series whose key contains this text."},
                    "limit": {"type": "integer", "minimum": 1, "description": "At most this many (default 100)."}
                }),
                &[],
            ),
        ),
        tool(
            "read_series",
            "The points of one metric series (its key as `list_series` gives it), the most recent \
             `limit` of them.",
            schema(
                json!({
                    "series": {"type": "string"},
                    "set": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "description": "Default 1000."}
                }),
                &["series"],
            ),
        ),
        tool(
            "list_commits",
            "Commits of a granted git history, newest first, with when each was deployed.",
            schema(
                json!({
                    "repository": {"type": "string", "description": "The history's name (default: the first)."},
                    "limit": {"type": "integer", "minimum": 1, "description": "Default 20."}
                }),
                &[],
            ),
        ),
        tool(
            "findings",
            "The findings the skill runs of this server have made so far, ranked as they came: \
             id, skill, kind, rule, title, share, place.",
            schema(json!({}), &[]),
        ),
        tool(
            "explain_finding",
            "One finding in full: its message, evidence, locations, impact and patch.",
            schema(json!({"id": {"type": "string"}}), &["id"]),
        ),
        tool(
            "run_skill",
            "Run any loaded skill by id, with its parameters as an object (for clients that do \
             not refresh their tool list); the same as the skill's own tool.",
            schema(
                json!({
                    "skill": {"type": "string"},
                    "parameters": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
                }),
                &["skill"],
            ),
        ),
    ]
}

/// `prepare_pull_request`, offered when the server has a repository for it (`--pr-repo`).
pub fn prepare_pull_request() -> Tool {
    Tool::new(
        "prepare_pull_request",
        "Prepare a finding that carries edits (an opportunity's patch, a mitigation's revert) as \
         a pull request in the operator's repository: a branch of its own built in a separate \
         worktree, verified by the operator's build and test command and benchmark, committed \
         with a real message; returns the description, or why it was not proposed.",
        schema(
            json!({"finding": {"type": "string", "description": "The finding's id (or a unique start of it)."}}),
            &["finding"],
        ),
    )
    .with_annotations(
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .idempotent(false)
            .open_world(false),
    )
}

/// An argument's text, if given.
fn text<'a>(arguments: &'a JsonObject, name: &str) -> Result<Option<&'a str>, Refused> {
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Refused::bad("", format!("`{name}` must be a string"))),
    }
}

/// A whole-number argument of at least 1, if given.
fn count(arguments: &JsonObject, name: &str) -> Result<Option<usize>, Refused> {
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            _ => Err(Refused::bad(
                "",
                format!("`{name}` must be a whole number of at least 1"),
            )),
        },
    }
}

fn check_arguments(tool: &str, arguments: &JsonObject) -> Result<(), Refused> {
    let known: &[&str] = match tool {
        "profile_top" => &["profile", "n", "cum"],
        "profile_callers" | "profile_callees" => &["profile", "function", "n"],
        "profile_diff" => &["base", "profile", "n", "cum", "normalize"],
        "syntax_query" => &["tree", "language", "query", "under", "globs", "limit"],
        "read_source" => &["tree", "path", "start", "end"],
        "list_series" => &["set", "contains", "limit"],
        "read_series" => &["series", "set", "limit"],
        "list_commits" => &["repository", "limit"],
        "explain_finding" => &["id"],
        _ => &[],
    };
    match arguments.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(Refused::bad(
            "",
            format!(
                "{tool} has no argument `{k}` (its arguments: {})",
                names(known.iter().copied())
            ),
        )),
        None => Ok(()),
    }
}

/// Answers core tool `tool`.
pub fn answer(server: &Server, tool: &str, arguments: &JsonObject) -> Result<Answer, Refused> {
    check_arguments(tool, arguments)?;
    match tool {
        "inputs" => Ok(inputs(server)),
        "findings" => Ok(findings(server)),
        "explain_finding" => explain(server, arguments),
        _ => {
            let (grants, granted) = server
                .session
                .agent()
                .map_err(|denial| Refused::denied(tool, denial.to_string()))?;
            match tool {
                "profile_top" => profile_top(granted, arguments),
                "profile_callers" => profile_neighbours(granted, arguments, true),
                "profile_callees" => profile_neighbours(granted, arguments, false),
                "profile_diff" => profile_diff(granted, arguments),
                "read_source" => read_source(grants, granted, arguments),
                "syntax_query" => {
                    let limit = QUERY_TIME.min(server.session.budget().deadline);
                    syntax_query(grants, granted, arguments, limit)
                }
                "list_series" => list_series(granted, arguments),
                "read_series" => read_series(granted, arguments),
                "list_commits" => list_commits(granted, arguments),
                _ => Err(Refused::bad(tool, format!("unknown tool `{tool}`"))),
            }
        }
    }
}

fn inputs(server: &Server) -> Answer {
    let session = &server.session;
    // Names, formats and sizes; not where the files are on the operator's machine.
    let mut record = serde_json::to_value(session.record()).unwrap_or(Value::Null);
    if let Some(kinds) = record.as_object_mut() {
        for list in kinds.values_mut() {
            for item in list.as_array_mut().into_iter().flatten() {
                if let Some(item) = item.as_object_mut() {
                    item.remove("path");
                }
            }
        }
    }
    let granted = session.agent().ok().map(|(_, inputs)| {
        json!({
            "profiles": inputs.profiles.iter().map(|p| &p.name).collect::<Vec<_>>(),
            "sources": inputs.trees.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "metrics": inputs.metrics.iter().map(|m| &m.name).collect::<Vec<_>>(),
            "histories": inputs.histories.iter().map(|h| h.name()).collect::<Vec<_>>(),
        })
    });
    let denied = session.agent().err().map(|d| d.to_string());
    let skills: Vec<Value> = session
        .skills()
        .iter()
        .map(|s| {
            let d = &s.descriptor;
            json!({
                "id": d.id,
                "version": d.version.terminal(),
                "summary": d.summary.terminal(),
                "parameters": d.parameters.iter().map(|p| json!({
                    "name": p.name.terminal(),
                    "description": p.description.terminal(),
                    "default": p.default.as_ref().map(|v| v.terminal()),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let structured = json!({
        "inputs": record,
        "agent_may_read": granted,
        "agent_denied": denied,
        "skills": skills,
    });
    let mut text = String::from("# Inputs\n\n");
    for p in &session.record().profiles {
        text.push_str(&format!(
            "- profile `{}` ({}){}\n",
            p.name,
            p.format.as_deref().unwrap_or("unreadable"),
            p.error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    for s in &session.record().sources {
        text.push_str(&format!("- source tree `{}`\n", s.name));
    }
    for m in &session.record().metrics {
        text.push_str(&format!(
            "- metric set `{}`: {} series, {} points\n",
            m.name,
            m.series.unwrap_or(0),
            m.points.unwrap_or(0)
        ));
    }
    for h in &session.inputs().histories {
        text.push_str(&format!("- history `{}`\n", h.name()));
    }
    if let Some(denied) = &denied {
        text.push_str(&format!(
            "\nThe host's tools may read none of them: {denied}\n"
        ));
    }
    text.push_str("\n# Skills\n\n");
    for s in session.skills() {
        text.push_str(&format!(
            "- `{}`: {}\n",
            s.descriptor.id,
            s.descriptor.summary.terminal()
        ));
    }
    Answer {
        text,
        structured,
        resource: String::new(),
        failed: None,
    }
}

/// A true-or-false argument (false when not given).
fn flag(arguments: &JsonObject, name: &str) -> Result<bool, Refused> {
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Refused::bad("", format!("`{name}` must be true or false"))),
    }
}

/// A list-of-texts argument (empty when not given).
fn texts(arguments: &JsonObject, name: &str) -> Result<Vec<String>, Refused> {
    let wrong = || Refused::bad("", format!("`{name}` must be a list of strings"));
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// The profile `wanted` names (the first when `None`), if this agent may read it.
fn granted_profile<'a>(
    granted: &'a Inputs,
    wanted: Option<&str>,
) -> Result<&'a NamedProfile, Refused> {
    let named = match wanted {
        Some(name) => granted.profiles.iter().find(|p| p.name == name),
        None => granted.profiles.first(),
    };
    named.map(|p| &**p).ok_or_else(|| {
        Refused::denied(
            wanted.unwrap_or(""),
            match wanted {
                Some(name) => format!(
                    "no profile `{name}` that this agent may read (it may read: {})",
                    names(granted.profiles.iter().map(|p| p.name.as_str()))
                ),
                None => "this agent may read no profile".to_string(),
            },
        )
    })
}

/// A profile's default sample type, the one `joule profile` uses without `--sample-type`.
fn default_type(named: &NamedProfile) -> Result<usize, Refused> {
    crate::cli::profile::sample_type(&named.profile, None)
        .map_err(|e| Refused::bad(&named.name, format!("{e:#}")))
}

fn profile_top(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let named = granted_profile(granted, text(arguments, "profile")?)?;
    let n = count(arguments, "n")?.unwrap_or(20).min(MAX_ROWS);
    let cum = flag(arguments, "cum")?;
    let profile = &named.profile;
    let t = default_type(named)?;
    let order = if cum { Order::ByTotal } else { Order::BySelf };
    let rows = profile.top(t, order, n, |_| true);
    let total = profile.totals().get(t).copied().unwrap_or(0);
    let unit = profile.str(profile.sample_types[t].unit).to_string();
    let text = crate::cli::profile::render_top(profile, t, &rows, total, &unit, &named.path);
    let structured = json!({
        "profile": named.name,
        "sample_type": profile.sample_type_label(t),
        "total": total,
        "functions": rows.iter().map(|r| json!({
            "function": profile.function_name(r.function),
            "flat": r.self_value,
            "cum": r.total_value,
        })).collect::<Vec<_>>(),
    });
    Ok(Answer {
        text,
        structured,
        resource: named.name.clone(),
        failed: None,
    })
}

/// `v` as a share of `of` (0 when `of` is 0).
fn share(v: i64, of: i64) -> f64 {
    if of == 0 { 0.0 } else { v as f64 / of as f64 }
}

/// The flat and cumulative values of `ids` (the functions of one name) in sample type `t`.
fn stat_of(p: &Profile, t: usize, ids: &[FunctionId]) -> (i64, i64) {
    ids.iter().fold((0i64, 0i64), |(flat, cum), &id| {
        let s = p.function_stat(id, t);
        (
            flat.saturating_add(s.self_value),
            cum.saturating_add(s.total_value),
        )
    })
}

/// The function `wanted` names in profile `named`: the functions of exactly that name, else
/// those of the one name with a value in sample type `t` that contains it. Refused, with the
/// candidates, when several names do.
fn function_named<'p>(
    named: &'p NamedProfile,
    t: usize,
    wanted: &str,
) -> Result<(&'p str, Vec<FunctionId>), Refused> {
    let p = &named.profile;
    if let [first, ..] = p.functions_named(wanted) {
        return Ok((p.function_name(*first), p.functions_named(wanted).to_vec()));
    }
    let mut containing: BTreeMap<&str, (Vec<FunctionId>, i64)> = BTreeMap::new();
    if !wanted.is_empty() {
        for f in 0..p.functions.len() as FunctionId {
            let name = p.function_name(f);
            let cum = p.function_stat(f, t).total_value;
            if cum != 0 && name.contains(wanted) {
                let (ids, sum) = containing.entry(name).or_default();
                ids.push(f);
                *sum = sum.saturating_add(cum);
            }
        }
    }
    if containing.len() == 1
        && let Some((name, (ids, _))) = containing.pop_first()
    {
        return Ok((name, ids));
    }
    let resource = format!("{}:{wanted}", named.name);
    if containing.is_empty() {
        return Err(Refused::bad(
            resource,
            format!(
                "profile `{}` has no function named `{wanted}` or with `{wanted}` in its name \
                 (`profile_top` lists its functions)",
                named.name
            ),
        ));
    }
    // The largest first: the one meant is most likely among those listed.
    let mut candidates: Vec<(&str, i64)> = containing
        .iter()
        .map(|(name, (_, cum))| (*name, *cum))
        .collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let more = candidates.len().saturating_sub(MAX_CANDIDATES);
    Err(Refused::bad(
        resource,
        format!(
            "`{wanted}` is part of {} functions' names in profile `{}`: give one of them whole: \
             {}{}",
            candidates.len(),
            named.name,
            names(candidates.iter().take(MAX_CANDIDATES).map(|c| c.0)),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        ),
    ))
}

/// `profile_callers` (`callers`) or `profile_callees`: a function's neighbours in the call
/// graph, as `pprof -peek` shows them, from [`Profile::neighbours`].
fn profile_neighbours(
    granted: &Inputs,
    arguments: &JsonObject,
    callers: bool,
) -> Result<Answer, Refused> {
    let (tool, role) = if callers {
        ("profile_callers", "caller")
    } else {
        ("profile_callees", "callee")
    };
    let named = granted_profile(granted, text(arguments, "profile")?)?;
    let Some(wanted) = text(arguments, "function")? else {
        return Err(Refused::bad(
            &named.name,
            format!("{tool}: give `function`, a function's name (or a part only it has)"),
        ));
    };
    let n = count(arguments, "n")?.unwrap_or(20).min(MAX_ROWS);
    let p = &named.profile;
    let t = default_type(named)?;
    let (name, ids) = function_named(named, t, wanted)?;
    // Functions of one name (in different files or modules) are one row, as in `profile_top`'s
    // text and `profile_diff`.
    let mut calls: HashMap<&str, i64> = HashMap::new();
    for &id in &ids {
        for edge in p.neighbours(id, t, callers, usize::MAX) {
            let sum = calls.entry(p.function_name(edge.function)).or_default();
            *sum = sum.saturating_add(edge.value);
        }
    }
    let mut rows: Vec<(&str, i64)> = calls.into_iter().filter(|&(_, v)| v != 0).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let found = rows.len();
    rows.truncate(n);
    let total = p.totals().get(t).copied().unwrap_or(0);
    let unit = p.str(p.sample_types[t].unit);
    let (flat, cum) = stat_of(p, t, &ids);
    let pct = |v: i64, of: i64| share(v, of) * 100.0;
    let mut text = format!(
        "Profile: {}\nType: {}\n{}s of {name}: flat {} ({:.2}%), cum {} ({:.2}%) of {} total\n",
        named.name,
        p.str(p.sample_types[t].name),
        if callers { "Caller" } else { "Callee" },
        scaled(flat, unit),
        pct(flat, total),
        scaled(cum, unit),
        pct(cum, total),
        scaled(total, unit),
    );
    text.push_str(&format!(
        "{:>10} {:>7} {:>10} {:>7} {:>10} {:>7}  {role}\n",
        "calls", "calls%", "flat", "flat%", "cum", "cum%"
    ));
    let mut list = Vec::with_capacity(rows.len());
    for &(other, value) in &rows {
        let (other_flat, other_cum) = stat_of(p, t, p.functions_named(other));
        text.push_str(&format!(
            "{:>10} {:>6.2}% {:>10} {:>6.2}% {:>10} {:>6.2}%  {other}\n",
            scaled(value, unit),
            pct(value, cum),
            scaled(other_flat, unit),
            pct(other_flat, total),
            scaled(other_cum, unit),
            pct(other_cum, total),
        ));
        list.push(json!({
            "function": other,
            "calls": value,
            "calls_share": share(value, cum),
            "flat": other_flat,
            "flat_share": share(other_flat, total),
            "cum": other_cum,
            "cum_share": share(other_cum, total),
        }));
    }
    if found == 0 {
        text.push_str(if callers {
            "(none: it is the root of every stack it is in)\n"
        } else {
            "(none: it calls nothing in this profile)\n"
        });
    } else if found > rows.len() {
        text.push_str(&format!(
            "[{} more {role}s; raise `n` to see them]\n",
            found - rows.len()
        ));
    }
    text.push_str("calls: the value of the stacks with that call; calls%: of the function's cum\n");
    let mut structured = json!({
        "profile": named.name,
        "sample_type": p.sample_type_label(t),
        "total": total,
        "function": {
            "function": name,
            "flat": flat,
            "flat_share": share(flat, total),
            "cum": cum,
            "cum_share": share(cum, total),
        },
        "found": found,
    });
    structured[format!("{role}s")] = Value::Array(list);
    Ok(Answer {
        text,
        structured,
        resource: format!("{}:{name}", named.name),
        failed: None,
    })
}

/// `profile_diff`: per-function changes between two granted profiles, as `joule profile diff`
/// finds ([`crate::cli::profile::changes`]) and shows them.
fn profile_diff(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let (Some(before), Some(after)) = (text(arguments, "base")?, text(arguments, "profile")?)
    else {
        return Err(Refused::bad(
            "",
            "profile_diff: give `base` and `profile`, the profiles before and after by their \
             names as `inputs` lists them",
        ));
    };
    let base = granted_profile(granted, Some(before))?;
    let new = granted_profile(granted, Some(after))?;
    let n = count(arguments, "n")?.unwrap_or(20).min(MAX_ROWS);
    let cum = flag(arguments, "cum")?;
    let normalize = flag(arguments, "normalize")?;
    let (bt, nt) = (default_type(base)?, default_type(new)?);
    let resource = format!("{}..{}", base.name, new.name);
    let (bp, np) = (&base.profile, &new.profile);
    crate::cli::profile::comparable((bp, bt, &base.name), (np, nt, &new.name))
        .map_err(|e| Refused::bad(&resource, format!("{e:#}")))?;
    let mut rows = crate::cli::profile::changes(bp, bt, np, nt, normalize, cum);
    let changed = rows.len();
    rows.truncate(n);
    let (base_total, new_total) = (bp.totals()[bt], np.totals()[nt]);
    let unit = np.str(np.sample_types[nt].unit);
    let mut text = format!("Base: {}\nNew: {}\n", base.name, new.name);
    text.push_str(&crate::cli::profile::render_diff(
        &rows, unit, bp, bt, np, nt,
    ));
    if changed == 0 {
        text.push_str("(no function's value changed)\n");
    } else if changed > rows.len() {
        text.push_str(&format!(
            "[{} more functions changed; raise `n` to see them]\n",
            changed - rows.len()
        ));
    }
    // Shares of each side's own total (a normalised base is already scaled to the new one's).
    let base_of = if normalize { new_total } else { base_total };
    let functions: Vec<Value> = rows
        .iter()
        .map(|d| {
            let mut row = crate::cli::profile::delta_json(d);
            if let Some(row) = row.as_object_mut() {
                row.insert("base_flat_share".into(), json!(share(d.base_self, base_of)));
                row.insert("new_flat_share".into(), json!(share(d.new_self, new_total)));
                row.insert("base_cum_share".into(), json!(share(d.base_total, base_of)));
                row.insert("new_cum_share".into(), json!(share(d.new_total, new_total)));
            }
            row
        })
        .collect();
    let structured = json!({
        "base": base.name,
        "profile": new.name,
        "sample_type": np.sample_type_label(nt),
        "normalized": normalize,
        "base_total": base_total,
        "new_total": new_total,
        "changed": changed,
        "functions": functions,
    });
    Ok(Answer {
        text,
        structured,
        resource,
        failed: None,
    })
}

/// A capture's text for one line of an answer: its first line, at most [`CAPTURE_PREVIEW`]
/// characters.
fn preview(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(CAPTURE_PREVIEW).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `syntax_query`: a tree-sitter query over a granted tree, run by the host's own
/// [`SourceTree::query_syntax`] with the walk's deny filter skills get
/// ([`crate::source::walk_filter`]), for at most `time_limit`.
fn syntax_query(
    grants: &Arc<SkillGrants>,
    granted: &Inputs,
    arguments: &JsonObject,
    time_limit: Duration,
) -> Result<Answer, Refused> {
    let deadline = crate::session::deadline(Instant::now(), time_limit);
    let (Some(language), Some(query)) = (text(arguments, "language")?, text(arguments, "query")?)
    else {
        return Err(Refused::bad(
            "",
            "syntax_query: give `language` and `query` (a tree-sitter query)",
        ));
    };
    let Some(language) = syntax::Language::ALL
        .into_iter()
        .find(|l| l.name() == language)
    else {
        return Err(Refused::bad(
            "",
            format!(
                "no grammar for `{language}` (languages: {})",
                names(syntax::Language::ALL.iter().map(|l| l.name()))
            ),
        ));
    };
    let under = text(arguments, "under")?;
    let tree = granted_tree(granted, text(arguments, "tree")?, under.unwrap_or(""))?;
    if let Some(under) = under {
        path_allowed(grants, tree, under)?;
    }
    let globs = texts(arguments, "globs")?;
    let limit = count(arguments, "limit")?.unwrap_or(100).min(MAX_ROWS);
    let resource = format!("{}:{}", tree.name(), under.unwrap_or(""));
    // Every match up to the host's cap is found, so the answer can say how many it leaves out.
    let request = syntax::SyntaxQuery {
        language,
        query: query.to_string(),
        globs: globs.clone(),
        under: under.map(str::to_string),
        limit: syntax::MAX_MATCHES,
    };
    let (walked, deny) = (Arc::clone(tree), Arc::clone(&grants.deny));
    let dir = under.unwrap_or("").to_string();
    // On a worker waited for until the deadline, as a skill's query is: tree-sitter's matching
    // cannot be interrupted inside a file. The walk stops a tenth earlier, so a long query
    // answers with what it found by then rather than nothing.
    let walk_ends = deadline.checked_sub(time_limit / 10).unwrap_or(deadline);
    let found = crate::deadline::until("joule mcp", deadline, move || {
        let visible = crate::source::walk_filter(&walked, &dir, &deny);
        walked.query_syntax(&request, &visible, walk_ends)
    });
    let matches = match found {
        Ok(Ok(matches)) => matches,
        Ok(Err(crate::source::TreeError::Denied(why))) => {
            return Err(Refused::denied(&resource, why));
        }
        Ok(Err(e)) => return Err(Refused::bad(&resource, format!("syntax_query: {e}"))),
        Err(crate::deadline::Late::Deadline) => {
            return Err(Refused::bad(
                &resource,
                format!(
                    "syntax_query: no answer within {:.1} s; narrow it with `under` or `globs`",
                    time_limit.as_secs_f64()
                ),
            ));
        }
        Err(late) => {
            return Err(Refused::bad(&resource, format!("syntax_query: {late}")));
        }
    };
    let partial = Instant::now() >= walk_ends;
    let found = matches.len();
    let mut text = String::new();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    for m in matches.iter().take(limit) {
        let line = m.captures.first().map_or(0, |c| c.start_line);
        let mut shown = format!("{}:{line}", m.path);
        if let Some(function) = &m.function {
            shown.push_str(&format!(" in {function}"));
        }
        if m.loop_depth > 0 {
            shown.push_str(&format!(" (loop depth {})", m.loop_depth));
        }
        for c in &m.captures {
            shown.push_str(&format!("  @{}={}", c.name, preview(&c.text)));
        }
        shown.push('\n');
        let row = json!({
            "path": m.path,
            "line": line,
            "pattern": m.pattern,
            "function": m.function,
            "function_lines": m.function_lines.map(|(start, end)| [start, end]),
            "loop_depth": m.loop_depth,
            "captures": m.captures.iter().map(|c| json!({
                "name": c.name,
                "kind": c.kind,
                "lines": [c.start_line, c.end_line],
                "bytes": [c.start_byte, c.end_byte],
                "text": c.text,
            })).collect::<Vec<_>>(),
        });
        // The answer's size is capped as `read_source`'s is; what does not fit is counted.
        bytes += shown.len() + row.to_string().len();
        if bytes > MAX_READ_BYTES && !rows.is_empty() {
            break;
        }
        text.push_str(&shown);
        rows.push(row);
    }
    let dropped = found - rows.len();
    let mut notes = Vec::new();
    if dropped > 0 {
        notes.push(if rows.len() < limit {
            format!(
                "{dropped} more matches left out to keep the answer within {} KiB; narrow the \
                 query, `under` or `globs`",
                MAX_READ_BYTES >> 10
            )
        } else {
            format!("{dropped} more matches left out; raise `limit` to see them")
        });
    }
    if found >= syntax::MAX_MATCHES {
        notes.push(format!(
            "the host stops at {} matches: there may be more",
            syntax::MAX_MATCHES
        ));
    }
    if partial {
        notes.push(format!(
            "stopped at the {:.1} s limit: only the files read by then were queried",
            time_limit.as_secs_f64()
        ));
    }
    let header = format!(
        "{found} match{} of the {} query in tree `{}`{}\n",
        if found == 1 { "" } else { "es" },
        language.name(),
        tree.name(),
        under.map(|u| format!(" under `{u}`")).unwrap_or_default()
    );
    text.insert_str(0, &header);
    for note in &notes {
        text.push_str(&format!("[joule: {note}]\n"));
    }
    let structured = json!({
        "tree": tree.name(),
        "language": language.name(),
        "under": under,
        "globs": globs,
        "found": found,
        "shown": rows.len(),
        "dropped": dropped,
        // Whether `found` counts every match (else it is as many as were found).
        "complete": found < syntax::MAX_MATCHES && !partial,
        "notes": notes,
        "matches": rows,
    });
    Ok(Answer {
        text,
        structured,
        resource,
        failed: None,
    })
}

/// Names for a message: `a, b, c`, or `none`.
pub(super) fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = list.collect();
    if all.is_empty() {
        "none".to_string()
    } else {
        all.join(", ")
    }
}

/// The source tree `wanted` names (the first when `None`), if this agent may read it;
/// `resource` is what a refusal is about when no tree is named.
fn granted_tree<'a>(
    granted: &'a Inputs,
    wanted: Option<&str>,
    resource: &str,
) -> Result<&'a Arc<SourceTree>, Refused> {
    granted.tree(wanted).ok_or_else(|| {
        Refused::denied(
            wanted.unwrap_or(resource),
            match wanted {
                Some(name) => format!(
                    "no source tree `{name}` that this agent may read (it may read: {})",
                    names(granted.trees.iter().map(|t| t.name()))
                ),
                None => "this agent may read no source tree".to_string(),
            },
        )
    })
}

/// Refuses a path of `tree` the agent may not reach: one with `..` or absolute, then one the
/// deny rules refuse, as asked or where it leads through symlinks.
fn path_allowed(grants: &SkillGrants, tree: &SourceTree, path: &str) -> Result<(), Refused> {
    let resource = format!("{}:{path}", tree.name());
    // The lexical check first: `sub/../.env` is refused as a path with `..`, before the deny
    // rules could read it as another path.
    if let Err(e) = crate::source::checked_path(path) {
        return Err(Refused::denied(&resource, e.to_string()));
    }
    let resolved = tree.resolved(path);
    if let Err(denial) = grants.deny.check(path, resolved.as_deref()) {
        return Err(Refused::denied(&resource, denial.to_string()));
    }
    Ok(())
}

fn read_source(
    grants: &SkillGrants,
    granted: &Inputs,
    arguments: &JsonObject,
) -> Result<Answer, Refused> {
    let Some(path) = text(arguments, "path")? else {
        return Err(Refused::bad("", "read_source: give `path`"));
    };
    let tree = granted_tree(granted, text(arguments, "tree")?, path)?;
    let resource = format!("{}:{path}", tree.name());
    path_allowed(grants, tree, path)?;
    let start = count(arguments, "start")?;
    let end = count(arguments, "end")?;
    let mut content = match (start, end) {
        (None, None) => tree.read(path),
        (start, end) => {
            let start = start.unwrap_or(1).min(u32::MAX as usize) as u32;
            let end = end.unwrap_or(u32::MAX as usize).min(u32::MAX as usize) as u32;
            tree.read_lines(path, start, end).map(|lines| {
                let mut text = lines.join("\n");
                text.push('\n');
                text
            })
        }
    }
    .map_err(|e| Refused::bad(&resource, e.to_string()))?;
    let mut truncated = false;
    if content.len() > MAX_READ_BYTES {
        let mut cut = MAX_READ_BYTES;
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        content.truncate(cut);
        truncated = true;
    }
    let structured = json!({
        "tree": tree.name(),
        "path": path,
        "start": start,
        "end": end,
        "truncated": truncated,
        "text": content,
    });
    let mut text = content;
    if truncated {
        text.push_str(&format!(
            "\n[joule: cut at {MAX_READ_BYTES} bytes; ask for a line range to read further]\n"
        ));
    }
    Ok(Answer {
        text,
        structured,
        resource,
        failed: None,
    })
}

fn list_series(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let set = text(arguments, "set")?;
    let contains = text(arguments, "contains")?.unwrap_or("");
    let limit = count(arguments, "limit")?.unwrap_or(100).min(MAX_ROWS);
    let mut rows = Vec::new();
    let mut matched = 0usize;
    for m in granted
        .metrics
        .iter()
        .filter(|m| set.is_none_or(|s| s == m.name))
    {
        for s in &m.set.series {
            let key = s.title();
            if !key.contains(contains) {
                continue;
            }
            matched += 1;
            if rows.len() < limit {
                let show =
                    |p: Option<crate::metrics::Point>| p.map(|p| m.set.time_format.show(p.t));
                rows.push(json!({
                    "set": m.name,
                    "series": key,
                    "points": s.len(),
                    "first": show(s.point(0)),
                    "last": show(s.len().checked_sub(1).and_then(|i| s.point(i))),
                }));
            }
        }
    }
    if set.is_some() && !granted.metrics.iter().any(|m| Some(m.name.as_str()) == set) {
        return Err(Refused::denied(
            set.unwrap_or(""),
            format!(
                "no metric set `{}` that this agent may read (it may read: {})",
                set.unwrap_or(""),
                names(granted.metrics.iter().map(|m| m.name.as_str()))
            ),
        ));
    }
    let mut text = String::new();
    for r in &rows {
        text.push_str(&format!(
            "{}  {} points  {} .. {}\n",
            r["series"].as_str().unwrap_or(""),
            r["points"],
            r["first"].as_str().unwrap_or("-"),
            r["last"].as_str().unwrap_or("-")
        ));
    }
    if matched > rows.len() {
        text.push_str(&format!(
            "[{} more series match; raise `limit` or narrow `contains`]\n",
            matched - rows.len()
        ));
    }
    Ok(Answer {
        text,
        structured: json!({"series": rows, "matched": matched}),
        resource: set.unwrap_or("").to_string(),
        failed: None,
    })
}

fn read_series(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let Some(key) = text(arguments, "series")? else {
        return Err(Refused::bad("", "read_series: give `series`"));
    };
    let set = text(arguments, "set")?;
    let limit = count(arguments, "limit")?.unwrap_or(1000).min(MAX_ROWS);
    let found = granted
        .metrics
        .iter()
        .filter(|m| set.is_none_or(|s| s == m.name))
        .find_map(|m| {
            m.set
                .series
                .iter()
                .find(|s| s.title() == key)
                .map(|s| (m, s))
        });
    let Some((m, s)) = found else {
        return Err(Refused::denied(
            key,
            format!("no series `{key}` that this agent may read (`list_series` lists them)"),
        ));
    };
    let skip = s.len().saturating_sub(limit);
    let points: Vec<Value> = s
        .points()
        .skip(skip)
        .map(|p| json!([m.set.time_format.show(p.t), p.v]))
        .collect();
    let mut text = format!("{key} ({} of {} points)\n", points.len(), s.len());
    for p in &points {
        text.push_str(&format!("{} {}\n", p[0].as_str().unwrap_or(""), p[1]));
    }
    Ok(Answer {
        text,
        structured: json!({"set": m.name, "series": key, "total_points": s.len(), "points": points}),
        resource: format!("{}:{key}", m.name),
        failed: None,
    })
}

fn list_commits(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let wanted = text(arguments, "repository")?;
    let limit = count(arguments, "limit")?.unwrap_or(20).min(MAX_ROWS);
    let history = match wanted {
        Some(name) => granted.histories.iter().find(|h| h.name() == name),
        None => granted.histories.first(),
    };
    let Some(history) = history else {
        return Err(Refused::denied(
            wanted.unwrap_or(""),
            format!(
                "no history {}that this agent may read (it may read: {})",
                wanted.map(|w| format!("`{w}` ")).unwrap_or_default(),
                names(granted.histories.iter().map(|h| h.name()))
            ),
        ));
    };
    let commits = history
        .commits(i64::MIN, i64::MAX, limit)
        .map_err(|e| Refused::bad(history.name(), e.to_string()))?;
    let mut text = String::new();
    let rows: Vec<Value> = commits
        .iter()
        .map(|c| {
            text.push_str(&format!(
                "{} deployed {} by {}: {}\n",
                &c.id[..c.id.len().min(12)],
                crate::metrics::TimeFormat::Rfc3339.show(c.deployed),
                c.author,
                c.summary
            ));
            json!({
                "id": c.id,
                "author": c.author,
                "time": c.time,
                "deployed": c.deployed,
                "summary": c.summary,
            })
        })
        .collect();
    Ok(Answer {
        text,
        structured: json!({"repository": history.name(), "commits": rows}),
        resource: history.name().to_string(),
        failed: None,
    })
}

fn findings(server: &Server) -> Answer {
    let all = server.findings.all();
    let mut text = String::new();
    let rows: Vec<Value> = all
        .iter()
        .map(|f| {
            let place = f
                .locations
                .first()
                .map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            text.push_str(&format!(
                "{} {} [{}] {}: {}\n",
                f.id,
                f.kind.name(),
                f.skill,
                f.rule.terminal(),
                f.title.terminal()
            ));
            json!({
                "id": f.id,
                "skill": f.skill,
                "kind": f.kind.name(),
                "rule": f.rule.terminal(),
                "title": f.title.terminal(),
                "share": f.impact.sample_share,
                "location": place,
                "has_patch": f.patch.is_some(),
            })
        })
        .collect();
    if rows.is_empty() {
        text.push_str("No findings yet: run a skill's tool first.\n");
    }
    Answer {
        text,
        structured: json!({"findings": rows}),
        resource: String::new(),
        failed: None,
    }
}

fn explain(server: &Server, arguments: &JsonObject) -> Result<Answer, Refused> {
    let Some(id) = text(arguments, "id")? else {
        return Err(Refused::bad("", "explain_finding: give `id`"));
    };
    let all = server.findings.all();
    let Some(f) = all.iter().find(|f| f.id == id) else {
        return Err(Refused::bad(
            id,
            format!(
                "no finding `{id}` among this server's ({} so far)",
                all.len()
            ),
        ));
    };
    let mut text = String::new();
    crate::report::finding_markdown(&mut text, 1, f);
    Ok(Answer {
        text,
        structured: serde_json::to_value(f).unwrap_or(Value::Null),
        resource: id.to_string(),
        failed: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(profiles: &[(&str, &str)]) -> Inputs {
        Inputs {
            profiles: profiles
                .iter()
                .map(|(name, folded)| {
                    Arc::new(NamedProfile {
                        name: name.to_string(),
                        path: name.into(),
                        profile: joule_profile::ingest::load_bytes(name, folded.as_bytes())
                            .expect("folded stacks"),
                    })
                })
                .collect(),
            ..Inputs::default()
        }
    }

    fn arguments(value: Value) -> JsonObject {
        match value {
            Value::Object(o) => o,
            _ => unreachable!("an object"),
        }
    }

    const STACKS: &str = "main;scan;parse 60\nmain;scan;parse;alloc 20\nmain;report;alloc 10\n\
                          main;scan;parse_all 10\n";

    #[test]
    fn callers_and_callees_as_pprof_peek() {
        let granted = inputs(&[("a.folded", STACKS)]);
        let answer = profile_neighbours(&granted, &arguments(json!({"function": "alloc"})), true)
            .map_err(|r| r.message)
            .unwrap();
        let s = &answer.structured;
        assert_eq!(s["function"]["cum"], 30);
        let callers: Vec<(&str, i64)> = s["callers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["function"].as_str().unwrap(),
                    c["calls"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(callers, [("parse", 20), ("report", 10)]);
        assert!(answer.text.contains("66.67%"), "{}", answer.text);

        // `n` cuts the list and says how many it left out.
        let answer = profile_neighbours(
            &granted,
            &arguments(json!({"function": "main", "n": 1})),
            false,
        )
        .map_err(|r| r.message)
        .unwrap();
        assert_eq!(answer.structured["found"], 2);
        assert_eq!(answer.structured["callees"][0]["function"], "scan");
        assert!(answer.text.contains("[1 more callees"), "{}", answer.text);
    }

    #[test]
    fn function_names_exact_unique_part_or_ambiguous() {
        let granted = inputs(&[("a.folded", STACKS)]);
        let named = &granted.profiles[0];
        // Exact wins over the names that contain it (`parse_all`).
        assert_eq!(
            function_named(named, 0, "parse").map(|f| f.0).ok(),
            Some("parse")
        );
        assert_eq!(
            function_named(named, 0, "rep").map(|f| f.0).ok(),
            Some("report")
        );
        let ambiguous = function_named(named, 0, "pars").err().unwrap().message;
        assert!(
            ambiguous.contains("2 functions' names") && ambiguous.contains("parse, parse_all"),
            "{ambiguous}"
        );
        assert!(function_named(named, 0, "").is_err());
        assert!(function_named(named, 0, "nothing").is_err());
    }

    #[test]
    fn diff_of_granted_profiles_only() {
        let granted = inputs(&[
            ("before.folded", "main;parse 10\nmain;render 90\n"),
            ("after.folded", "main;parse 60\nmain;render 90\n"),
        ]);
        let answer = profile_diff(
            &granted,
            &arguments(json!({"base": "before.folded", "profile": "after.folded"})),
        )
        .map_err(|r| r.message)
        .unwrap();
        let first = &answer.structured["functions"][0];
        assert_eq!(first["function"], "parse");
        assert_eq!(first["flat_delta"], 50);
        assert_eq!(first["new_flat_share"], 0.4);
        let refused = profile_diff(
            &granted,
            &arguments(json!({"base": "elsewhere.folded", "profile": "after.folded"})),
        )
        .err()
        .unwrap();
        assert!(refused.denied && refused.message.contains("before.folded, after.folded"));
    }
}
