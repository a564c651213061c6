//! Cost charged to the code that asked for it: the time a profile spends under some library's
//! functions (regex compilation, growing a vector, writing to a file), attributed to the first
//! function above that library on each stack, the caller whose source a skill then reads.
//!
//! ```ignore
//! let costs = Attribution::new(r"^regex::Regex::new$", r"^regex(_automata|_syntax)?::")
//!     .exempt(r"LazyLock|OnceLock")
//!     .run(&profile)?;
//! for caller in &costs.callers { /* caller.function.name, caller.value */ }
//! ```

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::{CallError, Finding, Function, Profile};

/// What to attribute: stacks through `cost` functions, charged to the caller of the outermost
/// `library` frame.
#[derive(Clone, Debug)]
pub struct Attribution {
    cost: String,
    not_cost: Option<String>,
    /// More cost: functions of this name in files ending so (`_compile` in `re/__init__.py`).
    cost_in_files: Vec<(String, Vec<String>)>,
    library: String,
    /// More library: every function in a file ending so.
    library_files: Vec<String>,
    exempt: Option<String>,
    glue: Vec<String>,
    /// The language the skill reads: callers in files of another language are passed over.
    language: Option<crate::Language>,
}

/// The Java standard library's methods as profiles name them: HotSpot's perf map with return and
/// parameter types (`long java.lang.Long.parseLong(java.lang.String)`), or an agent's bare
/// (`java/lang/Long.parseLong`). The class path decides, not the return type: the program's
/// `java.lang.String Report.csv(java.util.List)` is not the library.
pub const JAVA_LIBRARY: &str = r"^(\S+ )?(java|javax|jdk|sun|com\.sun)[./][^\s(]*(\(|$)";

/// The cost charged to one calling function.
#[derive(Clone, Debug)]
pub struct CallerCost {
    pub function: Function,
    /// In the profile's default sample type.
    pub value: i64,
    /// Distinct stacks that make it up.
    pub stacks: usize,
}

/// Every caller's cost, largest first, and what was left out.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    pub callers: Vec<CallerCost>,
    /// The cost charged to callers.
    pub charged: i64,
    /// The cost under an exempt frame (a lazy initialiser: paid once).
    pub exempt: i64,
    /// The whole cost of the `cost` functions (cumulative, each stack once).
    pub total: i64,
}

/// Frames that only pass a call along (closure shims, trait glue, the standard library's
/// plumbing), skipped when looking for the function that asked.
const GLUE: [&str; 5] = [
    "core::",
    "alloc::",
    "std::panicking::",
    "std::panic::",
    "__rust",
];

impl Attribution {
    /// Stacks through functions matching `cost` (a regex, matched by the host), charged to the
    /// first non-glue frame above the outermost frame matching `library`.
    pub fn new(cost: &str, library: &str) -> Self {
        Attribution {
            cost: cost.to_string(),
            not_cost: None,
            cost_in_files: Vec::new(),
            library: library.to_string(),
            library_files: Vec::new(),
            // One-time initialisers are never per-call costs (the SDK's shared rule).
            exempt: Some(crate::once::ONE_TIME_FRAMES.to_string()),
            glue: GLUE.iter().map(|g| g.to_string()).collect(),
            language: None,
        }
    }

    /// Report only callers that may be written in `language` ([`may_be_in`]): a skill whose
    /// source queries are of one language has nothing to say about the others.
    pub fn in_language(mut self, language: crate::Language) -> Self {
        self.language = Some(language);
        self
    }

    /// Stacks with a frame matching `exempt` above the library (a one-time initialiser) are
    /// counted apart and charged to no one. [`crate::once::ONE_TIME_FRAMES`] always is; this
    /// adds to it.
    pub fn exempt(mut self, exempt: &str) -> Self {
        self.exempt = Some(match self.exempt.take() {
            Some(before) => format!("(?:{before})|(?:{exempt})"),
            None => exempt.to_string(),
        });
        self
    }

    /// Functions matching `cost` that also match `pattern` are not cost (the host's regexes have
    /// no look-around, so exclusions are their own pattern).
    pub fn not_cost(mut self, pattern: &str) -> Self {
        self.not_cost = Some(pattern.to_string());
        self
    }

    /// Functions whose name matches `name` and whose file ends with one of `files` are cost too:
    /// for profiles of languages whose frames are named without their module (Python's
    /// `_compile`, from `re/__init__.py`).
    pub fn cost_in_files(mut self, name: &str, files: &[&str]) -> Self {
        self.cost_in_files.push((
            name.to_string(),
            files.iter().map(|f| f.to_string()).collect(),
        ));
        self
    }

    /// Every function in a file ending with one of `files` is library too.
    pub fn library_files(mut self, files: &[&str]) -> Self {
        self.library_files
            .extend(files.iter().map(|f| f.to_string()));
        self
    }

    /// Also skip frames starting with `prefix` when looking for the caller.
    pub fn glue(mut self, prefix: &str) -> Self {
        self.glue.push(prefix.to_string());
        self
    }

    fn is_glue(&self, name: &str) -> bool {
        let name = name.trim_start_matches('<');
        self.glue.iter().any(|g| name.starts_with(g.as_str()))
    }

    /// The findings of an offense skill's scan: on every granted profile, the attribution,
    /// a log line with the share of `what`, and `report`'s findings for each caller whose cost
    /// is at least `min_share` of its profile, largest first.
    pub fn findings(
        &self,
        what: &str,
        min_share: f64,
        mut report: impl FnMut(&Profile, &CallerCost) -> Result<Vec<Finding>, String>,
    ) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        for profile in Profile::granted() {
            let costs = self.run(&profile)?;
            let exempt = if costs.exempt > 0 {
                format!(
                    " ({} more in one-time initialisers, left out)",
                    crate::units::percent(profile.share(costs.exempt))
                )
            } else {
                String::new()
            };
            crate::log::info(format!(
                "{}: {what}: {} of the profile{exempt}",
                profile.name(),
                crate::units::percent(profile.share(costs.charged)),
            ));
            for caller in costs
                .callers
                .iter()
                .filter(|c| profile.share(c.value) >= min_share)
            {
                findings.extend(report(&profile, caller)?);
            }
        }
        Ok(findings)
    }

    /// The whole `run` of an offense skill built on an attribution: [`Attribution::findings`]
    /// over the granted profiles with the invocation's `min-share` (see `Describe::offense`),
    /// `report` called with the granted trees for each caller.
    pub fn scan(
        &self,
        invocation: &crate::Invocation,
        what: &str,
        report: impl Fn(&Profile, &[crate::Tree], &CallerCost) -> Result<Vec<Finding>, String>,
    ) -> Result<Vec<Finding>, String> {
        let min_share: f64 = invocation.param_or("min-share", 0.01)?;
        let trees = crate::Tree::granted();
        self.findings(what, min_share, |profile, caller| {
            if let Some(language) = self.language
                && !may_be_in(&caller.function, language)
            {
                return Ok(Vec::new());
            }
            // Once at import, once per class, once per distinct argument of a cached
            // function: not per call, however much of the profile it is.
            if let Some(why) =
                crate::once::one_time(&trees, &caller.function).map_err(|e| e.to_string())?
            {
                crate::log::info(format!(
                    "`{}`: {what}, but {why}: not reported",
                    caller.function.name
                ));
                return Ok(Vec::new());
            }
            report(profile, &trees, caller)
        })
    }

    pub fn run(&self, profile: &Profile) -> Result<Costs, CallError> {
        let ids = |pattern: &str| -> Result<HashSet<u32>, CallError> {
            Ok(profile.find(pattern)?.into_iter().map(|f| f.id).collect())
        };
        let in_files = |name: &str, files: &[String]| -> Result<HashSet<u32>, CallError> {
            Ok(profile
                .find(name)?
                .into_iter()
                .filter(|f| {
                    let file = f.file.as_deref().unwrap_or("").replace('\\', "/");
                    // Whole path components: `re.py` is not `core.py`.
                    files
                        .iter()
                        .any(|suffix| file == *suffix || file.ends_with(&format!("/{suffix}")))
                })
                .map(|f| f.id)
                .collect())
        };
        let mut cost_set = ids(&self.cost)?;
        for (name, files) in &self.cost_in_files {
            cost_set.extend(in_files(name, files)?);
        }
        if let Some(pattern) = &self.not_cost {
            let excluded = ids(pattern)?;
            cost_set.retain(|id| !excluded.contains(id));
        }
        let mut cost: Vec<u32> = cost_set.iter().copied().collect();
        cost.sort_unstable();
        if cost.is_empty() {
            return Ok(Costs::default());
        }
        let mut library = ids(&self.library)?;
        if !self.library_files.is_empty() {
            library.extend(in_files(".", &self.library_files)?);
        }
        let exempt = match &self.exempt {
            Some(pattern) => ids(pattern)?,
            None => HashSet::new(),
        };
        let default_type = profile.metadata().default_sample_type as usize;
        let mut names: HashMap<u32, Function> = HashMap::new();
        let mut callers: HashMap<u32, (i64, usize)> = HashMap::new();
        let mut costs = Costs {
            total: profile.total_of(&cost)?,
            ..Costs::default()
        };
        for stack in profile.stacks(&cost)? {
            let value = stack.values.get(default_type).copied().unwrap_or(0);
            // Frames are leaf first; from the root down, the first library frame is where the
            // program entered the library. Its caller is just above it.
            let Some(entry) = stack
                .frames
                .iter()
                .rposition(|f| library.contains(&f.function))
            else {
                continue;
            };
            // The cost must be spent inside the library call (at or below its entry), not in
            // code that merely called it earlier on the stack.
            if !stack.frames[..=entry]
                .iter()
                .any(|f| cost_set.contains(&f.function))
            {
                continue;
            }
            let mut caller = None;
            let mut is_exempt = false;
            for frame in &stack.frames[entry + 1..] {
                if exempt.contains(&frame.function) {
                    is_exempt = true;
                    break;
                }
                if caller.is_none() {
                    let name = match names.entry(frame.function) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(slot) => slot.insert(profile.function(frame.function)?),
                    };
                    // Code no symbol names is passed over like glue: the caller charged is
                    // the first function a skill can name and look up.
                    if !self.is_glue(&name.name) && crate::unsymbolized(&name.name).is_none() {
                        caller = Some(frame.function);
                    }
                }
            }
            if is_exempt {
                costs.exempt += value;
                continue;
            }
            let Some(caller) = caller else { continue };
            costs.charged += value;
            let c = callers.entry(caller).or_insert((0, 0));
            c.0 += value;
            c.1 += 1;
        }
        let mut ranked: Vec<(u32, i64, usize)> =
            callers.into_iter().map(|(f, (v, s))| (f, v, s)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        costs.callers = ranked
            .into_iter()
            .filter_map(|(id, value, stacks)| {
                Some(CallerCost {
                    function: names.remove(&id)?,
                    value,
                    stacks,
                })
            })
            .collect();
        Ok(costs)
    }
}

/// Whether `profile_name` (as a profile spells it: `crate::module::Type::method`, maybe with
/// generic arguments or closure suffixes) is the function `source_name` (as a syntax query
/// reports it: `method`, `Type::method`, `Type.method`).
pub fn same_function(profile_name: &str, source_name: &str) -> bool {
    // Both sides the same way: generics out, `.` (Python, Go, Java) and the JVM's `$` between
    // a class and the class nested in it (`Report$Row`) as `::`, Python's `<locals>` of nested
    // functions dropped.
    let norm = |name: &str| plain_name(&name.replace(".<locals>.", ".")).replace(['.', '$'], "::");
    let (profile, source) = (norm(profile_name), norm(source_name));
    profile == source || profile.ends_with(&format!("::{source}"))
}

/// A profile's function name without generic arguments, closure suffixes or `<T as Trait>`
/// wrapping: `<a::B<T> as c::D>::f::{{closure}}` -> `a::B::f`.
pub fn plain_name(name: &str) -> String {
    let name = name.trim();
    // A JVM method as HotSpot's perf map names it, with its return and parameter types:
    // `long Parse.sumNumbers(java.util.List)` -> `Parse.sumNumbers`.
    if let Some(open) = name.find('(')
        && name.ends_with(')')
        && let Some((returns, method)) = name[..open].rsplit_once(' ')
        && !returns.is_empty()
        && method.contains('.')
        && !method.contains("::")
    {
        // Its `<init>` and `<clinit>` are names, not generic arguments.
        return method.to_string();
    }
    // A Go method on a pointer as Go's profiles name it: `pkg.(*T).M` is `pkg.T.M`, as a
    // syntax query names it `T.M`.
    let unpointed;
    let mut name = if name.contains(".(*") {
        unpointed = name.replace(".(*", ".").replace(").", ".");
        unpointed.as_str()
    } else {
        name
    };
    // Drop `{{closure}}` / `{closure#0}` suffixes first.
    loop {
        let trimmed = name.strip_suffix("::{{closure}}").or_else(|| {
            name.rfind("::{closure#")
                .filter(|_| name.ends_with('}'))
                .map(|i| &name[..i])
        });
        match trimmed {
            Some(t) => name = t,
            None => break,
        }
    }
    // `<X as Y>::f` -> `X::f`.
    let mut out = String::with_capacity(name.len());
    let unwrapped = if let Some(rest) = name.strip_prefix('<') {
        match rest.find(" as ") {
            Some(i) => {
                let after = rest[i..]
                    .find(">::")
                    .map(|j| &rest[i + j + 1..])
                    .unwrap_or("");
                format!("{}{after}", &rest[..i])
            }
            None => name.to_string(),
        }
    } else {
        name.to_string()
    };
    // Generic arguments out: `B<T>::f` -> `B::f`.
    let mut depth = 0usize;
    for c in unwrapped.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `function` may be written in `language`: its file is of that language, or the
/// profile names no file (or one of no known language) to say otherwise.
pub fn may_be_in(function: &Function, language: crate::Language) -> bool {
    function
        .file
        .as_deref()
        .is_none_or(|file| crate::Language::of_path(file).is_none() || language.may_be(file))
}

/// The places in the granted `trees` where `query` matches inside `function` (a profile's
/// function): the query runs over the file the profile names when a tree has it, else over the
/// files the tree's index says define a function of that name (`Tree::definitions`: a lookup,
/// not a query over every file), and keeps the matches whose enclosing function is this one.
pub fn sites_in(
    trees: &[crate::Tree],
    function: &Function,
    query: &crate::Query,
) -> Result<Vec<(String, crate::SyntaxMatch)>, CallError> {
    /// Files a function of one name is looked for in, at most.
    const DEFINING_FILES: u32 = 64;
    let mut out = Vec::new();
    for tree in trees {
        let files: Vec<String> = match function.file.as_deref().and_then(|f| tree.locate(f)) {
            Some(path) => vec![path],
            None => {
                let mut files: Vec<String> = tree
                    .definitions(&plain_name(&function.name), DEFINING_FILES)?
                    .into_iter()
                    .filter(|d| same_function(&function.name, &d.function))
                    .map(|d| d.path)
                    .collect();
                files.dedup();
                files
            }
        };
        if files.is_empty() {
            continue;
        }
        let query = files
            .iter()
            .fold(query.clone(), |q, path| q.glob(&glob_literal(path)));
        for m in tree.query(&query)? {
            if m.function
                .as_deref()
                .is_some_and(|name| same_function(&function.name, name))
            {
                out.push((tree.name().to_string(), m));
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    Ok(out)
}

/// A glob that matches exactly `path` (its glob characters in brackets).
pub fn glob_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_may_be_c_or_cpp() {
        let at = |file: Option<&str>| Function {
            id: 0,
            name: "Cache::get".into(),
            system_name: String::new(),
            file: file.map(str::to_string),
            start_line: None,
        };
        use crate::Language::{C, Cpp, Python};
        assert!(may_be_in(&at(Some("include/cache.h")), Cpp));
        assert!(may_be_in(&at(Some("include/cache.h")), C));
        assert!(!may_be_in(&at(Some("include/cache.h")), Python));
        assert!(!may_be_in(&at(Some("src/cache.c")), Cpp));
        assert!(may_be_in(&at(Some("src/cache.cc")), Cpp));
        assert!(may_be_in(&at(None), Cpp));
        assert!(may_be_in(&at(Some("[vdso]")), Cpp));
    }

    #[test]
    fn a_literal_glob_matches_its_path_only() {
        assert_eq!(glob_literal("src/a.rs"), "src/a.rs");
        assert_eq!(glob_literal("x/[id]/*.py"), "x/[[]id[]]/[*].py");
    }

    #[test]
    fn profile_names_meet_source_names() {
        assert_eq!(
            plain_name("logscan::report::path_stats::{{closure}}"),
            "logscan::report::path_stats"
        );
        assert_eq!(plain_name("a::B<T>::f::{closure#0}"), "a::B::f");
        assert_eq!(plain_name("<a::B<u8> as c::D>::f"), "a::B::f");
        assert!(same_function(
            "corpus_sortkeys::sort_listing",
            "sort_listing"
        ));
        assert!(same_function(
            "app::Parser<R>::parse_line",
            "Parser::parse_line"
        ));
        assert!(!same_function("corpus::resort_listing", "sort_listing"));
        assert!(same_function(
            "app::Parser<R>::parse_line",
            "Parser<R>::parse_line"
        ));
        assert!(same_function(
            "IPv6Network.__init__",
            "IPv6Network.__init__"
        ));
        assert!(same_function("outer.<locals>.inner", "outer.inner"));
        assert!(!same_function("corpus::sort_listing", "listing"));
        // HotSpot's perf map: return and parameter types around the method.
        assert_eq!(
            plain_name("long Parse.sumNumbers(java.util.List)"),
            "Parse.sumNumbers"
        );
        assert_eq!(
            plain_name("void com.acme.Report$Row.<init>(int, java.lang.String)"),
            "com.acme.Report$Row.<init>"
        );
        assert!(same_function(
            "long com.acme.Fields.sum(java.util.List)",
            "Fields.sum"
        ));
        // A nested class: the JVM's `Outer$Inner`, the source's `Inner` in `Outer`.
        assert!(same_function(
            "java.lang.String com.acme.Report$Row.format(int)",
            "Row.format"
        ));
        assert!(same_function("Report$Row.format", "Report.Row.format"));
        assert!(!same_function("Report$Row.format", "Column.format"));
        // Go methods on pointers.
        assert_eq!(
            plain_name("example.com/pages.(*Renderer).Page"),
            "example.com/pages.Renderer.Page"
        );
        assert!(same_function(
            "example.com/pages.(*Renderer).Page",
            "Renderer.Page"
        ));
        // Not a JVM method: kept.
        assert_eq!(plain_name("f(int)"), "f(int)");
        assert_eq!(plain_name("<a::B<u8> as c::D>::f"), "a::B::f");
    }
}
