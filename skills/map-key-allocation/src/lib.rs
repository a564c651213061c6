//! `map-key-allocation`: `*map.entry(key.to_string()).or_insert(0) += 1` builds an owned key
//! (an allocation and a copy) on every call, and `entry` drops it again whenever the key is
//! already in the map, which in a counting loop is nearly every time.
//!
//! Profile evidence: the time a function spends making owned strings and dropping them inside
//! `HashMap::entry` / `BTreeMap::entry`. Source evidence (a syntax query in that function): the
//! statement `*M.entry(K.to_string()).or_insert(V) += D` (or `.to_owned()`, `or_default()`).
//! The fix looks the key up by reference first and builds the owned key only for a new entry:
//!
//! ```ignore
//! if let Some(slot) = M.get_mut::<str>(K.as_ref()) {
//!     *slot += D;
//! } else {
//!     *M.entry(K.to_string()).or_insert(V) += D;
//! }
//! ```

use joule_sdk::hotspot::{Attribution, CallerCost, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

/// Making an owned string from a borrowed one, and dropping one.
const COST: &str = r"^<?(<T as alloc::string::ToString>::to_string|<str as alloc::string::SpecToString>::spec_to_string|alloc::str::<impl alloc::borrow::ToOwned for str>::to_owned|<alloc::string::String as core::convert::From<&str>>::from|core::ptr::drop_in_place<alloc::string::String>)$";

/// Where those strings are made or dropped on behalf of the caller: the conversion itself, and
/// the map's entry lookup (which drops a key it already had).
const LIBRARY: &str = r"^<?(<T as alloc::string::ToString>::to_string|alloc::str::<impl alloc::borrow::ToOwned for str>::to_owned|<alloc::string::String as core::convert::From<&str>>::from|std::collections::hash::map::HashMap<K,V,S(,A)?>::entry|alloc::collections::btree::map::BTreeMap<K,V(,A)?>::entry)$";

const QUERY: &str = r#"(expression_statement
  (compound_assignment_expr
    left: (unary_expression
      (call_expression
        function: (field_expression
          value: (call_expression
            function: (field_expression value: (_) @map field: (field_identifier) @entry)
            arguments: (arguments
              (call_expression
                function: (field_expression value: (_) @key field: (field_identifier) @own)
                arguments: (arguments))))
          field: (field_identifier) @or)
        arguments: (arguments)))
    operator: _ @operator
    right: (_) @delta)
  (#eq? @entry "entry")
  (#any-of? @own "to_string" "to_owned")
  (#any-of? @or "or_insert" "or_default")) @statement"#;

/// Share of that work the fix removes: in a loop over repeated keys almost every update hits
/// an existing entry, which then costs no allocation.
const REMOVED: f64 = 0.9;

struct MapKeyAllocation;

impl Skill for MapKeyAllocation {
    fn describe() -> Descriptor {
        Describe::offense(
            "map-key-allocation",
            env!("CARGO_PKG_VERSION"),
            "Map updates that allocate an owned key on every call; proposes looking the key up \
             by reference first and allocating only for new entries.",
            "0.01",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        Attribution::new(COST, LIBRARY).scan(
            invocation,
            "owned keys made and dropped around map updates",
            caller_findings,
        )
    }
}

/// Whether an expression is a plain place (`word`, `self.counts`, `entry.name`): evaluating
/// it twice, as the rewrite does, is the same as once.
pub fn plain(expression: &str) -> bool {
    !expression.is_empty()
        && expression
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The statement rewritten to allocate only for a new key. `indent` is the statement's own
/// indentation (the first line is written where the statement starts); `operator` the
/// compound assignment's (`+=`, `|=`...).
pub fn rewrite(
    statement: &str,
    (map, key): (&str, &str),
    operator: &str,
    delta: &str,
    indent: &str,
) -> String {
    format!(
        "if let Some(slot) = {map}.get_mut::<str>({key}.as_ref()) {{\n\
         {indent}    *slot {operator} {delta};\n\
         {indent}}} else {{\n\
         {indent}    {statement}\n\
         {indent}}}"
    )
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    let unit = profile.unit();
    let query = Query::new(Language::Rust, QUERY);
    let mut findings = Vec::new();
    for (tree, site) in sites_in(trees, function, &query)? {
        let Some(statement) = site.capture("statement") else {
            continue;
        };
        // The map and the key are written twice by the rewrite: only plain places, and only a
        // statement whose text the host sent whole.
        if !statement.is_whole() || !plain(site.text("map")) || !plain(site.text("key")) {
            continue;
        }
        // The statement's indentation, from the start of its line.
        let indent = match trees.iter().find(|t| t.name() == tree) {
            Some(t) => t.indentation(&site.path, statement.lines.start)?,
            None => String::new(),
        };
        let replacement = rewrite(
            &statement.text,
            (site.text("map"), site.text("key")),
            site.text("operator"),
            site.text("delta"),
            &indent,
        );
        findings.push(
            Finding::opportunity("map-key-allocation")
                .title(format!(
                    "`{}` allocates a map key on every update: {} of {}",
                    function.name,
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} goes to building owned keys for map updates in `{}` and \
                     dropping them again:\n\n```rust\n{}\n```\n\n`entry` needs an owned key \
                     even when the key is already there, and then drops it. Looking the key up \
                     by reference first (`get_mut`) makes the allocation happen only for new \
                     keys; the update of an existing one costs a lookup and nothing else.",
                    profile.cost(caller.value),
                    function.name,
                    statement.text
                ))
                .location(
                    Location::capture(&tree, &site.path, statement).in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(if site.loop_depth > 0 { 0.9 } else { 0.75 })
                .evidence("key allocation and drop", caller.value as f64, unit)
                .evidence("loop depth", f64::from(site.loop_depth), "loops")
                .label("fingerprint", statement.text.clone())
                .edit(Edit::capture(&tree, &site.path, statement, &replacement))
                .build(),
        );
    }
    Ok(findings)
}

export_skill!(MapKeyAllocation, id = "map-key-allocation");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_keeps_its_entry_path_for_new_keys() {
        let out = rewrite(
            "*counts.entry(word.to_string()).or_insert(0) += 1;",
            ("counts", "word"),
            "+=",
            "1",
            "        ",
        );
        assert_eq!(
            out,
            "if let Some(slot) = counts.get_mut::<str>(word.as_ref()) {\n            *slot += 1;\n        } else {\n            *counts.entry(word.to_string()).or_insert(0) += 1;\n        }"
        );
        assert!(plain("self.counts") && plain("word"));
        assert!(!plain("it.next().unwrap()") && !plain(""));
    }
}
