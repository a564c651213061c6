//! `vec-growth-without-reserve`: a vector filled one `push` / `push_back` per iteration of a
//! loop whose length is known grows by reallocating: each growth allocates a larger buffer,
//! copies everything over, and touches fresh pages (page faults), several times over.
//!
//! Profile evidence: the time a function spends growing vectors: Rust's `RawVec` growth and
//! `realloc`; in C++ (where `push_back` is inlined) the copies (`memmove`), the allocator and the
//! kernel's page faults under the function. Source evidence (a syntax query in that function):
//! a loop over a sized range whose body pushes onto a vector unconditionally, with no
//! `reserve` for it in the function. The fix reserves the range's size before the loop:
//! `ids.reserve(values.size());` (C++), `ids.reserve(values.len());` (Rust).

use joule_sdk::SyntaxMatch;
use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// Growing: Rust's RawVec growth paths and the allocator, glibc's copies and allocator, C++'s
/// out-of-line vector growth, and the kernel faulting fresh pages in.
const COST: &str = r"^<?alloc::raw_vec::.*(grow_one|grow_amortized|finish_grow|do_reserve_and_handle)|^(__memmove_\w+|__memcpy_\w+|memmove|memcpy|realloc|__libc_realloc|_int_realloc|malloc|__libc_malloc|_int_malloc|free|__libc_free|cfree@GLIBC_[0-9.]+|_int_free|operator new\(.*\)|operator delete\(.*\)|asm_exc_page_fault|exc_page_fault)$|::_M_realloc_(insert|append)";

/// Where growth enters the library or the kernel from the program.
const LIBRARY: &str = r"^<?alloc::(raw_vec|vec)::|^<?alloc::alloc::|^(__memmove_\w+|__memcpy_\w+|memmove|memcpy|realloc|__libc_realloc|_int_realloc|malloc|__libc_malloc|_int_malloc|free|__libc_free|cfree@GLIBC_[0-9.]+|_int_free|operator new\(.*\)|operator delete\(.*\)|asm_exc_page_fault|exc_page_fault|__rust_\w+|__rdl_\w+)$|^std::vector<|::_M_realloc_(insert|append)";

const RUST_LOOPS: &str = r#"((for_expression
  value: (_) @range
  body: (block
    (expression_statement
      (call_expression
        function: (field_expression value: (identifier) @vec field: (field_identifier) @method)))))
  @loop (#eq? @method "push"))"#;

const CPP_LOOPS: &str = r#"([
  (for_range_loop
    right: (_) @range
    body: (compound_statement
      (expression_statement
        (call_expression
          function: (field_expression argument: (identifier) @vec field: (field_identifier) @method)))))
  (for_statement
    condition: (binary_expression left: (identifier) operator: "<" right: (_) @bound)
    body: (compound_statement
      (expression_statement
        (call_expression
          function: (field_expression argument: (identifier) @vec field: (field_identifier) @method)))))
] @loop (#any-of? @method "push_back" "emplace_back"))"#;

/// Share of the growth the fix removes: one allocation of the final size instead of a
/// sequence of growing ones with their copies.
const REMOVED: f64 = 0.8;

struct VecGrowthWithoutReserve;

impl Skill for VecGrowthWithoutReserve {
    fn describe() -> Descriptor {
        Describe::offense(
            "vec-growth-without-reserve",
            env!("CARGO_PKG_VERSION"),
            "Vectors grown one push at a time in loops of known length (Rust, C++); proposes \
             reserving the final size before the loop.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY).glue("std::").scan(
            invocation,
            "vector growth",
            caller_findings,
        )
    }
}

/// The size of the range a loop walks, as code of the loop's language, when it is plain:
/// Rust `xs`, `&xs`, `xs.iter()` -> `xs.len()`, `0..n` -> `n`; C++ `xs` -> `xs.size()`, and
/// an index loop's bound as written.
pub fn size_of(language: Language, range: &str, bound: Option<&str>) -> Option<String> {
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    match language {
        Language::Rust => {
            let range = range.trim();
            // `0..n` only when `n` is a length (a `usize`): any other bound may be another
            // integer type, which `reserve` does not take.
            if let Some(end) = range.strip_prefix("0..") {
                return end
                    .strip_suffix(".len()")
                    .filter(|base| ident(base))
                    .map(|_| end.to_string());
            }
            let base = range
                .trim_start_matches("&mut ")
                .trim_start_matches('&')
                .trim_end_matches(".iter()")
                .trim_end_matches(".iter_mut()")
                .trim_end_matches(".into_iter()");
            ident(base).then(|| format!("{base}.len()"))
        }
        // An index loop only up to a container's size: other bounds may be negative or
        // pointers, and `reserve` of those is an error or a type error.
        Language::Cpp | Language::C => match bound {
            Some(b) => b
                .trim()
                .strip_suffix(".size()")
                .filter(|base| ident(base))
                .map(|_| b.trim().to_string()),
            None => ident(range.trim()).then(|| format!("{}.size()", range.trim())),
        },
        _ => None,
    }
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let language = match function.file.as_deref().and_then(Language::of_path) {
        Some(Language::C) => Language::Cpp,
        Some(l) => l,
        None if function.name.contains("::") => Language::Rust,
        None => Language::Cpp,
    };
    let query = match language {
        Language::Rust => RUST_LOOPS,
        Language::Cpp => CPP_LOOPS,
        _ => return Ok(Vec::new()),
    };
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(language, query))? {
        let (Some(lp), Some(vec), Some(range)) = (
            site.capture("loop"),
            site.capture("vec"),
            site.capture("range").or_else(|| site.capture("bound")),
        ) else {
            continue;
        };
        let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
            continue;
        };
        let bound = site.capture("bound").map(|b| b.text.as_str());
        let Some(size) = size_of(language, &range.text, bound) else {
            continue;
        };
        if reserves(tree, &site, &vec.text)?
            || !declared_before(tree, &site, &vec.text, lp, language)?
        {
            continue;
        }
        let indent = tree.indentation(&site.path, lp.lines.start)?;
        let line = format!("{indent}{}.reserve({size});\n", vec.text);
        let fence = if language == Language::Rust {
            "rust"
        } else {
            "cpp"
        };
        findings.push(
            Finding::opportunity("vec-growth-without-reserve")
                .title(format!(
                    "`{}` grows `{}` one push at a time: {} of {}",
                    function.name,
                    vec.text,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} goes to growing vectors in `{}`: reallocating, copying \
                     and faulting in fresh memory. The loop\n\n```{fence}\n{}\n```\n\nknows \
                     how many elements it adds ({size}) but pushes them one at a time, so `{}` \
                     is reallocated and copied every time it fills up. Reserving the final size \
                     first makes it one allocation, with no copies.",
                    profile.cost(caller.value),
                    function.name,
                    lp.text.lines().next().unwrap_or(""),
                    vec.text,
                ))
                .location(Location::capture(&tree_name, &site.path, lp).in_function(&function.name))
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.85)
                .evidence("growth time in the function", caller.value as f64, unit)
                .label("fingerprint", format!("{}.reserve({size})", vec.text))
                .edit(Edit::lines(
                    &tree_name,
                    &site.path,
                    lp.lines.start,
                    lp.lines.start - 1,
                    &line,
                ))
                .build(),
        );
    }
    Ok(findings)
}

/// Whether `vec` is declared in the function before the loop (`let mut vec`, a
/// `std::vector<..> vec` line), so a `reserve` before the loop can name it and it is a vector.
fn declared_before(
    tree: &Tree,
    site: &SyntaxMatch,
    vec: &str,
    lp: &joule_sdk::SyntaxCapture,
    language: Language,
) -> Result<bool, CallError> {
    let Some(lines) = site.function_lines else {
        return Ok(false);
    };
    if lp.lines.start <= lines.start {
        return Ok(false);
    }
    let before = tree.read_lines(&site.path, lines.start, lp.lines.start - 1)?;
    Ok(before.iter().any(|line| {
        let line = line.trim();
        match language {
            Language::Rust => {
                line.starts_with(&format!("let mut {vec} = Vec::new()"))
                    || line.starts_with(&format!("let mut {vec}: Vec<"))
                    || line.starts_with(&format!("let mut {vec} = vec![]"))
            }
            _ => line.contains("vector<") && line.contains(&format!(" {vec}")),
        }
    }))
}

/// Whether the function already reserves (or sizes) `vec`.
fn reserves(tree: &Tree, site: &SyntaxMatch, vec: &str) -> Result<bool, CallError> {
    let Some(lines) = site.function_lines else {
        return Ok(false);
    };
    let body = tree
        .read_lines(&site.path, lines.start, lines.end)?
        .join("\n");
    Ok(body.contains(&format!("{vec}.reserve("))
        || body.contains(&format!("{vec}.resize("))
        || body.contains("with_capacity("))
}

export_skill!(VecGrowthWithoutReserve, id = "vec-growth-without-reserve");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_plain_ranges() {
        assert_eq!(
            size_of(Language::Rust, "values.iter()", None).as_deref(),
            Some("values.len()")
        );
        assert_eq!(
            size_of(Language::Rust, "&self.items", None).as_deref(),
            Some("self.items.len()")
        );
        assert_eq!(size_of(Language::Rust, "0..n", None), None);
        assert_eq!(
            size_of(Language::Rust, "0..xs.len()", None).as_deref(),
            Some("xs.len()")
        );
        assert_eq!(size_of(Language::Rust, "text.lines()", None), None);
        assert_eq!(size_of(Language::Rust, "1..n", None), None);
        assert_eq!(
            size_of(Language::Cpp, "values", None).as_deref(),
            Some("values.size()")
        );
        assert_eq!(size_of(Language::Cpp, "", Some("n")), None);
        assert_eq!(size_of(Language::Cpp, "", Some("end")), None);
        assert_eq!(
            size_of(Language::Cpp, "", Some("v.size()")).as_deref(),
            Some("v.size()")
        );
        assert_eq!(size_of(Language::Cpp, "load()", None), None);
    }
}
