//! Go: a slice searched with a `contains` helper (or `slices.Contains`) inside a loop walks it on
//! every iteration.
//!
//! Go before 1.21 has no `slices` package, so programs write the helper themselves:
//! `func contains(list []string, s string) bool { for _, v := range list { if v == s { return
//! true } }; return false }`. Profile evidence: the time in such a helper (its own and the
//! string comparisons under it; runtime/pprof keeps it as a frame when it is inlined), or in
//! `slices.Contains` / `slices.Index`, charged to the calling function. A profiled function is
//! taken for a helper when its source is that linear scan (a syntax query: a range loop over
//! one parameter comparing each element with the other with `==` and returning `true`, then
//! `return false`). Source evidence in the caller: a call of the helper inside a loop, whose
//! slice argument is a name the function declares (a parameter or a local) before the loop.
//! The patch builds `nameSet := make(map[T]bool, len(name))` from the slice before the
//! outermost loop and replaces the call with `nameSet[x]`; offered only when the loop uses the
//! slice for nothing but these calls and `len` (anything else may change it).

use joule_sdk::hotspot::{Attribution, CallerCost, plain_name, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// The standard library's searches (Go 1.21 and later), however the profile spells their
/// instantiation.
const SLICES: &str = r"^slices\.(Contains|Index)(\[.*\])?$";

/// A function whose whole body is a linear scan of one parameter for the other.
const HELPERS: &str = r#"((function_declaration
   name: (identifier) @helper
   parameters: (parameter_list) @params
   result: (_) @result
   body: (block (statement_list
     . (for_statement
         (range_clause
           left: (expression_list . (_) . (identifier) @element .)
           right: (identifier) @list)
         body: (block (statement_list
           . (if_statement
               condition: (binary_expression left: (identifier) @left operator: "==" right: (identifier) @right)
               consequence: (block (statement_list . (return_statement (expression_list . (true) .)) .))) .)))
     . (return_statement (expression_list . (false) .)) .))) @function
 (#eq? @result "bool"))"#;

/// A call with two arguments.
const CALLS: &str = r#"((call_expression
   function: [(identifier) (selector_expression)] @callee
   arguments: (argument_list . (_) @first . (_) @second .)) @call)"#;

const LOOPS: &str = r#"(for_statement) @loop"#;

/// Hot functions (by total time) looked at for being a search helper, at most.
const CANDIDATES: u32 = 100;

/// Share of the searching the fix removes: a map lookup instead of a walk.
const REMOVED: f64 = 0.95;

/// A search helper found in the source: its name, which argument is the slice, and the
/// element type (`None` for a generic helper, whose callers' declarations say it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub list_argument: usize,
    pub element: Option<String>,
}

pub fn scan(invocation: &Invocation) -> Result<Vec<Finding>, String> {
    let min_share: f64 = invocation.param_or("min-share", 0.01)?;
    let trees = Tree::granted();
    let mut helpers: Vec<(String, Helper)> = Vec::new();
    for profile in Profile::granted() {
        for (profile_name, helper) in profiled_helpers(&profile, &trees, min_share)? {
            if !helpers.iter().any(|(n, _)| *n == profile_name) {
                helpers.push((profile_name, helper));
            }
        }
    }
    let mut cost = SLICES.to_string();
    for (profile_name, _) in &helpers {
        cost.push_str(&format!("|^{}$", super::escape(profile_name)));
    }
    let helpers: Vec<Helper> = helpers.into_iter().map(|(_, h)| h).collect();
    Attribution::new(&cost, &cost)
        .in_language(Language::Go)
        .scan(invocation, "searching slices", |profile, trees, caller| {
            caller_findings(profile, trees, caller, &helpers)
        })
}

/// The profile's Go functions (among the hottest by total time, each at least `min_share` of
/// the profile) whose source is a search helper, with the name the profile gives each.
fn profiled_helpers(
    profile: &Profile,
    trees: &[Tree],
    min_share: f64,
) -> Result<Vec<(String, Helper)>, String> {
    let mut found = Vec::new();
    let mut queried = super::PerFile::new(Language::Go, HELPERS);
    for stat in profile.top_by_total(CANDIDATES)? {
        let function = &stat.function;
        let Some(file) = function.file.as_deref() else {
            continue;
        };
        if profile.share(stat.total_value) < min_share {
            break;
        }
        if Language::of_path(file) != Some(Language::Go) {
            continue;
        }
        let short = plain_name(&function.name);
        let short = short.rsplit(['.', '/']).next().unwrap_or("").to_string();
        let Some((tree, path)) = Tree::locate_in(trees, file) else {
            continue;
        };
        for m in queried.matches(tree, &path)? {
            if m.text("helper") != short {
                continue;
            }
            let Some(function_text) = m.capture("function") else {
                continue;
            };
            if let Some(helper) = helper(
                &short,
                m.text("params"),
                m.text("list"),
                m.text("element"),
                (m.text("left"), m.text("right")),
                function_text.text.starts_with(&format!("func {short}[")),
            ) {
                log::info(format!(
                    "`{}` searches a slice linearly: its callers are looked at",
                    function.name
                ));
                found.push((function.name.clone(), helper));
            }
        }
    }
    Ok(found)
}

/// A helper from its parts as the query captured them: two parameters (`params`, the list's
/// text), the range over one (`list`) binding `element`, compared with the other (`compared`,
/// either way round).
pub fn helper(
    name: &str,
    params: &str,
    list: &str,
    element: &str,
    compared: (&str, &str),
    generic: bool,
) -> Option<Helper> {
    let params = parameters(params)?;
    let [(first, first_type), (second, second_type)] = params.as_slice() else {
        return None;
    };
    let (list_argument, value, value_type, list_type) = if first == list {
        (0, second, second_type, first_type)
    } else if second == list {
        (1, first, first_type, second_type)
    } else {
        return None;
    };
    let other = match compared {
        (l, r) if l == element => r,
        (l, r) if r == element => l,
        _ => return None,
    };
    if other != value || list_type.strip_prefix("[]") != Some(value_type.as_str()) {
        return None;
    }
    Some(Helper {
        name: name.to_string(),
        list_argument,
        element: (!generic).then(|| value_type.clone()),
    })
}

/// The names and types of a Go parameter list (`(list []string, s string)`, `(a, b int)`), or
/// `None` for one it does not read (variadic, unnamed).
pub fn parameters(list: &str) -> Option<Vec<(String, String)>> {
    let inner = list.trim().strip_prefix('(')?.strip_suffix(')')?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once(char::is_whitespace) {
            Some((name, ty)) => {
                let ty = ty.trim().to_string();
                if ty.starts_with("...") {
                    return None;
                }
                for p in pending.drain(..) {
                    out.push((p, ty.clone()));
                }
                out.push((name.to_string(), ty));
            }
            None => pending.push(part.to_string()),
        }
    }
    pending.is_empty().then_some(out)
}

/// Where the function (its text, `body`) declares `name`: the byte offset of the declaration
/// and the element type when the declaration writes it (`name []T` among the parameters, `var
/// name []T`, `name := []T{..}`, `name := make([]T, ..)`).
pub fn declared_slice(body: &str, name: &str) -> Option<(usize, Option<String>)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let element_of = |ty: &str| {
        ty.trim()
            .strip_prefix("[]")
            .map(|t| {
                t.chars()
                    .take_while(|c| ident(*c) || *c == '.' || *c == '*')
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty())
    };
    // The parameters: every list in the signature (a receiver, the parameters).
    let signature_end = body.find('{').unwrap_or(body.len());
    let signature = &body[..signature_end];
    let mut from = 0;
    while let Some(open) = signature[from..].find('(').map(|i| i + from) {
        let Some(close) = signature[open..].find(')').map(|i| i + open) else {
            break;
        };
        from = close + 1;
        if let Some(params) = parameters(&signature[open..=close])
            && let Some((_, ty)) = params.iter().find(|(n, _)| n == name)
        {
            return Some((open, element_of(ty)));
        }
    }
    for (i, _) in body.match_indices(name) {
        if body[..i]
            .chars()
            .last()
            .is_some_and(|c| ident(c) || c == '.')
            || body[i + name.len()..].chars().next().is_some_and(ident)
        {
            continue;
        }
        let before = body[..i].trim_end();
        let after = body[i + name.len()..].trim_start();
        if before.ends_with("var")
            && (before.len() == 3 || !before[..before.len() - 3].ends_with(ident))
        {
            let ty = after.strip_prefix('=').map_or(after, str::trim_start);
            return Some((i, element_of(ty)));
        }
        let line_start = body[..i].rfind('\n').map_or(0, |j| j + 1);
        if let Some(value) = after.strip_prefix(":=")
            && body[line_start..i].trim().is_empty()
        {
            let value = value.trim_start();
            let value = value.strip_prefix("make(").unwrap_or(value);
            return Some((i, element_of(value)));
        }
    }
    None
}

/// A use of `name` in `text` (a loop's lines, with the calls the patch rewrites taken out)
/// that may change it: anything but `len(name)`. The line it is on.
pub fn other_use(text: &str, name: &str) -> Option<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (i, _) in text.match_indices(name) {
        if text[..i]
            .chars()
            .last()
            .is_some_and(|c| ident(c) || c == '.')
            || text[i + name.len()..].chars().next().is_some_and(ident)
        {
            continue;
        }
        let before: String = text[..i].split_whitespace().collect();
        let after = text[i + name.len()..].trim_start();
        if before.ends_with("len(") && after.starts_with(')') {
            continue;
        }
        let line_start = text[..i].rfind('\n').map_or(0, |j| j + 1);
        let line_end = text[i..].find('\n').map_or(text.len(), |j| i + j);
        return Some(text[line_start..line_end].trim().to_string());
    }
    None
}

/// The set's name, in Go's style: `allowlist` -> `allowlistSet`.
pub fn set_name(name: &str) -> String {
    format!("{name}Set")
}

/// The lines that build the set, at `indent`.
pub fn set_lines(indent: &str, name: &str, element: &str) -> String {
    let set = set_name(name);
    format!(
        "{indent}{set} := make(map[{element}]bool, len({name}))\n\
         {indent}for _, v := range {name} {{\n\
         {indent}\t{set}[v] = true\n\
         {indent}}}\n"
    )
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
    helpers: &[Helper],
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let sites = sites_in(trees, function, &Query::new(Language::Go, CALLS))?;
    // The calls that search: each with its helper (`None`: `slices.Contains`).
    let searches: Vec<_> = sites
        .iter()
        .filter_map(|(tree_name, site)| {
            let callee = site.text("callee");
            let last = callee.rsplit('.').next().unwrap_or(callee);
            let helper = helpers.iter().find(|h| h.name == last);
            let list_argument = match helper {
                Some(h) => h.list_argument,
                None if callee == "slices.Contains" => 0,
                None => return None,
            };
            let (list, needle) = if list_argument == 0 {
                (site.capture("first")?, site.capture("second")?)
            } else {
                (site.capture("second")?, site.capture("first")?)
            };
            let simple =
                !list.text.is_empty() && list.text.chars().all(|c| c.is_alphanumeric() || c == '_');
            simple.then_some((tree_name, site, helper, list, needle))
        })
        .collect();
    let mut findings = Vec::new();
    for &(tree_name, site, helper, list, needle) in &searches {
        let Some(call) = site.capture("call") else {
            continue;
        };
        if site.loop_depth == 0 {
            continue;
        }
        let Some(function_text) = super::function_text(trees, tree_name, site)? else {
            continue;
        };
        let (tree, body) = (function_text.tree, &function_text.text);
        let name = list.text.as_str();
        let declared = declared_slice(body, name);
        let element = helper
            .and_then(|h| h.element.clone())
            .or_else(|| declared.as_ref().and_then(|d| d.1.clone()));
        let outer = tree.outermost_loop(site, &Query::new(Language::Go, LOOPS), call)?;
        let set = set_name(name);
        let why_not = match (&outer, &declared, &element) {
            (None, _, _) => Some("the loop around it was not found".to_string()),
            (_, None, _) => Some(format!("`{name}` is not declared in the function")),
            (_, _, None) => Some(format!("the element type of `{name}` is not written")),
            (Some(outer), Some((at, _)), Some(_)) => {
                let declared_line = function_text.line_at(*at);
                if declared_line >= outer.lines.start {
                    Some(format!("`{name}` is declared inside the loop"))
                } else {
                    let mut text = tree
                        .read_lines(&site.path, outer.lines.start, outer.lines.end)?
                        .join("\n");
                    for &(_, other, _, other_list, _) in &searches {
                        if other_list.text == name
                            && let Some(c) = other.capture("call")
                        {
                            text = text.replace(&c.text, "");
                        }
                    }
                    match other_use(&text, name) {
                        Some(line) => Some(format!(
                            "the loop uses `{name}` otherwise too, and may change it: `{line}`"
                        )),
                        None => other_use(body, &set)
                            .map(|_| format!("the function has a `{set}` already")),
                    }
                }
            }
        };
        let searcher = helper.map_or("slices.Contains", |h| h.name.as_str());
        let mut finding = Finding::opportunity("linear-search-in-loop")
            .title(format!(
                "`{}` searches `{name}` on every iteration: {} of {}",
                function.name,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} goes to `{searcher}` under `{}`, which walks a slice element by element. \
                 Inside a loop,\n\n```go\n{}\n```\n\nwalks `{name}` on every iteration, so the \
                 loop costs its length times the slice's. {}",
                profile.cost(caller.value),
                function.name,
                call.text,
                match &why_not {
                    None => format!(
                        "The patch builds a map `{set}` of `{name}`'s elements once, before the \
                         loop, and looks the value up in it: one hash lookup an iteration."
                    ),
                    Some(why) => format!(
                        "No patch is proposed because {why}: keep a map beside it, updated \
                         with it, and look values up in the map."
                    ),
                }
            ))
            .location(Location::capture(tree_name, &site.path, call).in_function(&function.name))
            .measured(profile, caller.value)
            .saving(share * REMOVED)
            .confidence(if why_not.is_none() { 0.85 } else { 0.7 })
            .evidence(
                "time searching the slice",
                caller.value as f64,
                profile.unit(),
            )
            .label("fingerprint", call.text.clone());
        if let (None, Some(outer), Some(element)) = (&why_not, &outer, &element)
            && needle.is_whole()
        {
            let line = outer.lines.start;
            let indent = tree.indentation(&site.path, line)?;
            finding = finding
                .edit(Edit::lines(
                    tree_name,
                    &site.path,
                    line,
                    line - 1,
                    &set_lines(&indent, name, element),
                ))
                .edit(Edit::capture(
                    tree_name,
                    &site.path,
                    call,
                    &format!("{set}[{}]", needle.text),
                ));
        }
        findings.push(finding.build());
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_scan_of_one_parameter_for_the_other_is_a_helper() {
        assert_eq!(
            helper(
                "contains",
                "(list []string, s string)",
                "list",
                "v",
                ("v", "s"),
                false
            ),
            Some(Helper {
                name: "contains".into(),
                list_argument: 0,
                element: Some("string".into())
            })
        );
        assert_eq!(
            helper(
                "has",
                "(id int64, ids []int64)",
                "ids",
                "x",
                ("id", "x"),
                false
            ),
            Some(Helper {
                name: "has".into(),
                list_argument: 1,
                element: Some("int64".into())
            })
        );
        assert_eq!(
            helper("contains", "(list []T, s T)", "list", "v", ("v", "s"), true).map(|h| h.element),
            Some(None)
        );
        // Compared with something else than the other parameter, or of another type.
        assert_eq!(
            helper(
                "f",
                "(list []string, s string)",
                "list",
                "v",
                ("v", "t"),
                false
            ),
            None
        );
        assert_eq!(
            helper(
                "f",
                "(list []string, n int)",
                "list",
                "v",
                ("v", "n"),
                false
            ),
            None
        );
        assert_eq!(
            helper("f", "(a, b []string)", "a", "v", ("v", "b"), false),
            None
        );
    }

    #[test]
    fn parameter_lists_are_read_with_their_groups() {
        assert_eq!(
            parameters("(a, b string, n int)"),
            Some(vec![
                ("a".into(), "string".into()),
                ("b".into(), "string".into()),
                ("n".into(), "int".into())
            ])
        );
        assert_eq!(parameters("(xs ...int)"), None);
        assert_eq!(parameters("()"), Some(vec![]));
    }

    #[test]
    fn slices_are_told_by_their_declaration() {
        let permitted =
            "func Permitted(events []Event, allowlist []string) []Event {\n\tvar out []Event\n";
        assert_eq!(
            declared_slice(permitted, "allowlist").map(|d| d.1),
            Some(Some("string".into()))
        );
        assert_eq!(
            declared_slice(permitted, "out").map(|d| d.1),
            Some(Some("Event".into()))
        );
        let locals =
            "func f() {\n\tstop := []string{\"a\"}\n\tids := make([]int64, 0, 8)\n\tx := load()\n";
        assert_eq!(
            declared_slice(locals, "stop").map(|d| d.1),
            Some(Some("string".into()))
        );
        assert_eq!(
            declared_slice(locals, "ids").map(|d| d.1),
            Some(Some("int64".into()))
        );
        assert_eq!(declared_slice(locals, "x").map(|d| d.1), Some(None));
        assert_eq!(declared_slice(locals, "y"), None);
        // A method's receiver and parameters; a field of the same name is not a declaration.
        assert_eq!(
            declared_slice(
                "func (r *R) F(a, names []string) {\n\tr.names = nil\n",
                "names"
            )
            .map(|d| d.1),
            Some(Some("string".into()))
        );
        assert_eq!(
            declared_slice("func F() {\n\tr.names := 1\n", "names"),
            None
        );
    }

    #[test]
    fn a_loop_that_may_change_the_slice_gets_no_map() {
        let first_seen = "\tfor _, e := range events {\n\t\tif ! {\n\t\t\tseen = append(seen, e.Account)\n\t\t}\n\t}";
        assert_eq!(
            other_use(first_seen, "seen").as_deref(),
            Some("seen = append(seen, e.Account)")
        );
        let read_only = "\tfor i := 0; i < len( allow ); i++ {\n\t\tif  {\n\t\t\tn += e.allow + allowed\n\t\t}\n\t}";
        assert_eq!(other_use(read_only, "allow"), None);
        assert_eq!(
            other_use("for {\n\tsort.Strings(allow)\n}", "allow").as_deref(),
            Some("sort.Strings(allow)")
        );
    }

    #[test]
    fn the_patch_builds_a_map_before_the_loop() {
        assert_eq!(
            set_lines("\t", "allowlist", "string"),
            "\tallowlistSet := make(map[string]bool, len(allowlist))\n\tfor _, v := range \
             allowlist {\n\t\tallowlistSet[v] = true\n\t}\n"
        );
        assert_eq!(
            crate::escape("example.com/allowlist.contains"),
            r"example\.com/allowlist\.contains"
        );
        assert_eq!(crate::escape("pkg.(*T).has"), r"pkg\.\(\*T\)\.has");
    }
}
