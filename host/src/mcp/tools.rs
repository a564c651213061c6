//! The host's own MCP tools, answered natively within the agent's grants: what was given, a
//! profile's top functions, a file or line range of a granted tree (deny rules applied), metric
//! series, commits, and the findings this server's skill runs made.

use std::sync::Arc;

use joule_profile::model::Order;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::{Answer, Refused, Server};
use crate::inputs::Inputs;

/// The most text one `read_source` answer carries; past it the answer says where it stopped.
const MAX_READ_BYTES: usize = 256 << 10;
/// The most rows `list_series` and `profile_top` give, and points `read_series` gives.
const MAX_ROWS: usize = 10_000;

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
                "read_source" => read_source(grants, granted, arguments),
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

fn profile_top(granted: &Inputs, arguments: &JsonObject) -> Result<Answer, Refused> {
    let wanted = text(arguments, "profile")?;
    let named = match wanted {
        Some(name) => granted.profiles.iter().find(|p| p.name == name),
        None => granted.profiles.first(),
    };
    let Some(named) = named else {
        let what = wanted.unwrap_or("");
        return Err(Refused::denied(
            what,
            match wanted {
                Some(name) => format!(
                    "no profile `{name}` that this agent may read (it may read: {})",
                    names(granted.profiles.iter().map(|p| p.name.as_str()))
                ),
                None => "this agent may read no profile".to_string(),
            },
        ));
    };
    let n = count(arguments, "n")?.unwrap_or(20).min(MAX_ROWS);
    let cum = match arguments.get("cum") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Refused::bad(&named.name, "`cum` must be true or false")),
    };
    let profile = &named.profile;
    let t = crate::cli::profile::sample_type(profile, None)
        .map_err(|e| Refused::bad(&named.name, format!("{e:#}")))?;
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

/// Names for a message: `a, b, c`, or `none`.
pub(super) fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = list.collect();
    if all.is_empty() {
        "none".to_string()
    } else {
        all.join(", ")
    }
}

fn read_source(
    grants: &joule_policy::SkillGrants,
    granted: &Inputs,
    arguments: &JsonObject,
) -> Result<Answer, Refused> {
    let Some(path) = text(arguments, "path")? else {
        return Err(Refused::bad("", "read_source: give `path`"));
    };
    let wanted = text(arguments, "tree")?;
    let Some(tree) = granted.tree(wanted) else {
        return Err(Refused::denied(
            wanted.unwrap_or(path),
            match wanted {
                Some(name) => format!(
                    "no source tree `{name}` that this agent may read (it may read: {})",
                    names(granted.trees.iter().map(|t| t.name()))
                ),
                None => "this agent may read no source tree".to_string(),
            },
        ));
    };
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
