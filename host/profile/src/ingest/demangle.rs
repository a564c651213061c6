//! Fully mangled C++ (`_Z...`) and Rust (`_ZN...17h<hash>E` legacy, `_R...` v0) symbols, for
//! the readers of formats whose tools usually demangle but sometimes do not (`perf script`
//! without the right libraries, stripped `.symtab`-only binaries).
//!
//! Only names that look mangled are touched: everything else, including the partially demangled
//! Rust names perf prints (`core::ptr::drop::h0123...`), is left to the caller.

/// Mangled names longer than this are left as they are: real ones are far shorter, and the
/// demanglers' work grows with the length.
const MAX_MANGLED_LEN: usize = 8 * 1024;

/// True when `s` looks like a whole mangled C++ or Rust symbol: the Itanium (`_Z`) or Rust v0
/// (`_R`) prefix, then only the characters manglings use (`.` for clone suffixes such as
/// `.cold` or `.llvm.123`, `$` for Rust legacy escapes).
pub fn looks_mangled(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2
        && b.len() <= MAX_MANGLED_LEN
        && b[0] == b'_'
        && (b[1] == b'Z' || b[1] == b'R')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$')
}

/// The demangled form of a mangled symbol, or `None` when `s` does not look mangled or no
/// demangler accepts it. Rust names lose their hash (`format!("{:#}")`); C++ names keep their
/// parameter list (the caller's tidying removes it).
pub fn demangle(s: &str) -> Option<String> {
    if !looks_mangled(s) {
        return None;
    }
    // The demanglers are fuzzed and bound their recursion; a panic in one must still not take
    // the host down, so it is caught and the name kept as printed.
    std::panic::catch_unwind(|| demangle_unchecked(s))
        .ok()
        .flatten()
}

fn demangle_unchecked(s: &str) -> Option<String> {
    // Rust first: legacy Rust names are valid Itanium names too, and rustc-demangle drops the
    // hash that cpp_demangle would print as a path segment. It refuses C++ names with
    // parameters (`_ZN3foo3barEi`), which then go to cpp_demangle.
    if (s.starts_with("_ZN") || s.starts_with("_R"))
        && let Ok(d) = rustc_demangle::try_demangle(s)
    {
        return Some(format!("{d:#}"));
    }
    if s.starts_with("_Z") {
        let symbol = cpp_demangle::Symbol::new(s.as_bytes()).ok()?;
        let text = symbol.demangle().ok()?;
        return (!text.is_empty()).then_some(text);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_legacy_and_v0_lose_their_hash() {
        assert_eq!(
            demangle("_ZN7inferno10flamegraph5merge6frames17hacfe2d67301633c2E").as_deref(),
            Some("inferno::flamegraph::merge::frames")
        );
        assert_eq!(
            demangle("_ZN3std2rt19lang_start_internal17h540c897fe52ba9c5E.llvm.1234").as_deref(),
            Some("std::rt::lang_start_internal")
        );
        assert_eq!(
            demangle("_RNvCs1234_7mycrate3foo").as_deref(),
            Some("mycrate::foo")
        );
        assert_eq!(
            demangle(
                "_ZN116_$LT$core..str..pattern..CharSearcher$LT$$u27$a$GT$$u20$as$u20$core..str..pattern..ReverseSearcher$LT$$u27$a$GT$$GT$15next_match_back17h09d544049dd719bbE"
            )
            .as_deref(),
            Some(
                "<core::str::pattern::CharSearcher<'a> as core::str::pattern::ReverseSearcher<'a>>::next_match_back"
            )
        );
    }

    #[test]
    fn cpp_keeps_parameters() {
        assert_eq!(
            demangle("_ZN5space3fooEibc").as_deref(),
            Some("space::foo(int, bool, char)")
        );
        assert_eq!(
            demangle("_ZNSt6vectorIiSaIiEE9push_backERKi").as_deref(),
            Some("std::vector<int, std::allocator<int> >::push_back(int const&)")
        );
        assert_eq!(
            demangle("_Z3foov.cold").as_deref(),
            Some("foo() [clone .cold]")
        );
    }

    #[test]
    fn leaves_other_names_alone() {
        for s in [
            "main",
            "_start",
            "_Z",
            "std::sys::unix::fs::File::open::hb90e1c1c787080f0",
            "_ZN4test",  // truncated
            "_Zfoo bar", // a space: not a mangled name
            "[unknown]",
            "Ljava/lang/Thread;::run",
            "_RNvC",
        ] {
            assert_eq!(demangle(s), None, "{s}");
        }
        let long = format!("_Z{}", "a".repeat(MAX_MANGLED_LEN));
        assert_eq!(demangle(&long), None);
    }
}
