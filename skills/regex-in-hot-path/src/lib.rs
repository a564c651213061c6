//! `regex-in-hot-path`: regular expressions compiled again and again on hot paths.
//!
//! Profile evidence: the time under regex *compilation* (`Regex::new`, `regexp.MustCompile`,
//! `Pattern.compile`, `re.compile`...), attributed to the function that asked for it: the first
//! frame above the regex library on each stack. Stacks where the compilation runs inside a lazy
//! initialiser (`LazyLock`, `OnceLock`, `once_cell`, `lazy_static`) are one-time costs and are
//! left out.
//!
//! Source evidence, for Rust: the calling function's body in a granted tree, and in it the
//! `Regex::new(...)` call, written as an expression or inside a macro's arguments
//! (`vec![Regex::new(..)]`), found by syntax queries the host answers (`rust.rs`; Python's
//! `re.sub(r"...", ..)` and the like in `python.rs`). When the pattern is a string literal and the
//! result is unwrapped, the finding carries the fix: the regex hoisted into a `static`
//! `LazyLock`, built once, and the call replaced by a reference to it.

mod python;
mod rust;

use joule_sdk::hotspot::{Attribution, CallerCost};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// Functions whose time is regex compilation, in the languages profiles commonly come from.
const COMPILE: &str = concat!(
    r"^(",
    // Rust: the `regex` crate's constructors and the compiler stages under them.
    r"regex::(regex::(string|bytes)::Regex::new|Regex::new|bytes::Regex::new|builders::.*::build.*|regexset::.*::new)",
    r"|regex_automata::(meta::regex::Builder::build.*|nfa::thompson::compiler::.*)",
    r"|regex_syntax::(ast::parse::.*|hir::translate::.*|parser::.*)",
    r"|fancy_regex::Regex::new|onig::Regex::new",
    // Go.
    r"|regexp\.(Compile|MustCompile|CompilePOSIX|MustCompilePOSIX|MatchString|Match|compile)",
    r"|regexp/syntax\.(Parse|Compile)",
    // Java.
    r"|java\.util\.regex\.Pattern\.(compile|<init>)",
    // Python.
    r"|re\.(compile|_compile)|sre_compile\.compile|re\._compiler\.compile",
    r")($|[^A-Za-z0-9_])"
);

/// Frames that belong to a regex library (compile or match), so the caller is above them.
const LIBRARY: &str = r"^<?(regex|regex_automata|regex_syntax|aho_corasick|fancy_regex|onig)::|^regexp(/syntax)?\.|^java\.util\.regex\.|^(re|sre_compile|sre_parse|re\._compiler|re\._parser)\.";

/// Python frames are named without their module (py-spy: `_compile`, in `re/__init__.py`):
/// the `re` module's compile step, by name and file.
const PYTHON_COMPILE: &str = r"^(_compile|compile)$";
const PYTHON_RE: [&str; 7] = [
    "re/__init__.py",
    "re/_compiler.py",
    "re/_parser.py",
    "re.py",
    "sre_compile.py",
    "sre_parse.py",
    "enum.py",
];

struct RegexInHotPath;

impl Skill for RegexInHotPath {
    fn describe() -> Descriptor {
        Describe::offense(
            "regex-in-hot-path",
            env!("CARGO_PKG_VERSION"),
            "Regular expressions compiled on every call of a hot function; proposes hoisting \
             them into a lazily initialised static.",
            "0.005",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        // One-time compiles (lazy statics, class bodies, cached functions) are left out by the
        // SDK's shared rule (`joule_sdk::once`).
        Attribution::new(COMPILE, LIBRARY)
            .cost_in_files(PYTHON_COMPILE, &PYTHON_RE)
            .library_files(&PYTHON_RE)
            .scan(
                invocation,
                "regex compilation on every call",
                caller_findings,
            )
    }
}

/// The language a profile's function is written in: by its file, else by how its name is
/// spelled (`a::b` Rust, HotSpot's `ret pkg.C.m(..)` Java, Go's `pkg.(*T).M`).
fn language_of(function: &Function) -> Option<Language> {
    if let Some(language) = function.file.as_deref().and_then(Language::of_path) {
        return Some(language);
    }
    let name = function.name.as_str();
    if name.contains("::") {
        Some(Language::Rust)
    } else if name.ends_with(')') && name.contains(' ') && name.contains('.') {
        Some(Language::Java)
    } else if name.contains(".(*") || name.contains('/') {
        Some(Language::Go)
    } else {
        None
    }
}

/// The findings for one calling function: one per `Regex::new` call site found in its body,
/// or one profile-only finding when the source cannot be joined.
fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let total_share = profile.share(profile.stat(function.id)?.total_value);
    let cost = format!(
        "{} goes to compiling regular expressions called from `{}`, which itself \
         accounts for {} of the profile `{}`.",
        profile.cost(caller.value),
        function.name,
        percent(total_share),
        profile.name(),
    );
    let python = function.file.as_deref().is_some_and(|f| f.ends_with(".py"));
    let sites = if python {
        python::find_call_sites(trees, function)?
    } else {
        rust::find_call_sites(trees, function)?
    };
    if sites.is_empty() {
        let in_tree = function
            .file
            .as_deref()
            .is_some_and(|f| trees.iter().any(|t| t.locate(f).is_some()));
        let hint = if trees.is_empty() {
            "Grant the source tree (`--source DIR`) to get the call site and a patch."
        } else if in_tree {
            "Its file is in a granted tree, but no call with a literal pattern was found in it: \
             the pattern is built while the program runs (formatted, concatenated, or taken \
             from data), so no patch is proposed. Compile it once for each distinct pattern \
             and keep the compiled one."
        } else {
            "The function is not in the granted source trees (it may be in a dependency), so \
             no patch is proposed."
        };
        let advice = match language_of(function) {
            Some(Language::Python) => {
                "a module-level `re.compile(..)` constant, or one compiled in `__init__`"
            }
            Some(Language::Go) => "a package-level `var re = regexp.MustCompile(..)`",
            Some(Language::Java) => "a `static final Pattern`",
            _ => "a `static` initialised lazily, or a field built at start-up",
        };
        // Code outside the trees the operator granted (a dependency) is not theirs to change:
        // shown as information, not counted as an opportunity.
        let finding = if !trees.is_empty() && !in_tree {
            Finding::info("regex-compiled-per-call")
        } else {
            Finding::opportunity("regex-compiled-per-call")
        };
        return Ok(vec![
            finding
                .title(format!(
                    "`{}` compiles a regex on every call: {} of {}",
                    function.name,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{cost}\n\nCompiling a regex costs far more than matching with it. Build it \
                     once ({advice}) and reuse it.\n\n{hint}"
                ))
                .location(Location::function(&function.name))
                .measured(profile, caller.value)
                .confidence(0.7)
                .evidence("compile time from this caller", caller.value as f64, unit)
                .evidence("stacks", caller.stacks as f64, "stacks")
                .build(),
        ]);
    }
    let site_count = sites.len();
    let per_site = share / site_count as f64;
    let mut findings = Vec::new();
    for site in sites {
        let what = if python {
            "compiles (or looks up) its regexes on every call"
        } else {
            "compiles a regex on every call"
        };
        let mut f = Finding::opportunity("regex-compiled-per-call")
            .title(format!(
                "`{}` {what}: {} of {}",
                function.name,
                percent(per_site),
                profile.sample_type()
            ))
            .location(
                Location::lines(&site.tree, &site.file, site.line, site.end_line)
                    .in_function(&function.name),
            )
            .share(per_site)
            .value(caller.value as f64 / site_count as f64, unit)
            .evidence("compile time from this caller", caller.value as f64, unit)
            .evidence("share of profile", share * 100.0, "%")
            .evidence("stacks", caller.stacks as f64, "stacks")
            .label("profile", profile.name())
            .label("fingerprint", site.expression.clone());
        let mut message = if python {
            format!(
                "{cost}\n\nThe pattern is handed to `re` as a string inside the function, so \
                 every call looks it up again in the `re` module's cache (`re._compile`, which \
                 also checks the flags and the cache's size) before matching:\n\n```python\n{}\n```\n",
                site.line_text.trim()
            )
        } else {
            format!(
                "{cost}\n\nThe regex is built inside the function body, so every call pays for \
                 parsing and compiling it again:\n\n```rust\n{}\n```\n",
                site.line_text.trim()
            )
        };
        match &site.hoist {
            Some(hoist) if python => {
                message.push_str(&format!(
                    "\nThe patterns are literals, so each can be compiled once, at import: the \
                     patch adds the module constant{} `{}` after the imports and makes the calls \
                     on {}.",
                    if hoist.static_name.contains(',') {
                        "s"
                    } else {
                        ""
                    },
                    hoist.static_name,
                    if hoist.static_name.contains(',') {
                        "them"
                    } else {
                        "it"
                    },
                ));
                for edit in &hoist.edits {
                    f = f.edit(edit.clone());
                }
                f = f.confidence(0.9);
            }
            Some(hoist) => {
                message.push_str(&format!(
                    "\nThe pattern is a literal, so the regex can be built once: the patch moves \
                     it into `static {}: LazyLock<{}>`, initialised on first use and shared by \
                     every later call (`Regex` is `Sync`, and matching through a shared reference \
                     is the intended use).",
                    hoist.static_name, hoist.type_path
                ));
                for edit in &hoist.edits {
                    f = f.edit(edit.clone());
                }
                f = f.confidence(0.95);
            }
            None => {
                message.push_str(&match &site.why_no_patch {
                    Some(why) => format!(
                        "\n{why} Build the regex once outside the hot function, or cache \
                         compiled regexes by pattern."
                    ),
                    None => "\nThe pattern is not a plain literal (or the result is not simply \
                             unwrapped), so no mechanical patch is offered: build the regex once \
                             outside the hot function, or cache compiled regexes by pattern."
                        .to_string(),
                });
                f = f.confidence(0.75);
            }
        }
        findings.push(f.message(message).build());
    }
    Ok(findings)
}

export_skill!(RegexInHotPath, id = "regex-in-hot-path");

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str) -> regex::Regex {
        regex::Regex::new(pattern).unwrap()
    }

    #[test]
    fn built_in_patterns_classify_frames() {
        let compile = regex(COMPILE);
        for name in [
            "regex::regex::string::Regex::new",
            "regex_automata::meta::regex::Builder::build_many_from_hir",
            "regex_syntax::ast::parse::ParserI<P>::parse_with_comments",
            "regexp.MustCompile",
            "java.util.regex.Pattern.compile",
        ] {
            assert!(compile.is_match(name), "{name}");
        }
        for name in [
            "regex::regex::string::Regex::captures",
            "regexp.(*Regexp).doExecute",
            "logscan::parse::parse_line",
        ] {
            assert!(!compile.is_match(name), "{name}");
        }
        let library = regex(LIBRARY);
        assert!(library.is_match(
            "<regex_automata::meta::strategy::Core as regex_automata::meta::strategy::Strategy>::search"
        ));
        assert!(!library.is_match("logscan::parse::parse_line"));
        let lazy = regex(joule_sdk::once::ONE_TIME_FRAMES);
        assert!(lazy.is_match("std::sync::lazy_lock::LazyLock<T,F>::force"));
        assert!(lazy.is_match("std::sys::sync::once::futex::Once::call"));
        assert!(!lazy.is_match("core::ops::function::FnOnce::call_once"));
        assert!(!lazy.is_match("std::rt::lang_start_internal::{closure#0}"));
    }
}
