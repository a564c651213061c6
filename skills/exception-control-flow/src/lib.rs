//! `exception-control-flow`: a Java loop that lets a library call throw for ordinary input
//! (`try { sum += Long.parseLong(field); } catch (NumberFormatException e) {}` over fields of
//! which many are blank) pays for an exception on every such iteration, and an exception is
//! expensive to make: its constructor walks the thread's stack to fill in the stack trace.
//!
//! Profile evidence: the time constructing exceptions (`Throwable.fillInStackTrace`, the
//! JVM's `java_lang_Throwable::fill_in_stack_trace` under it, the `Throwable` constructors)
//! charged to the program's function that called into the library that threw: the first
//! frame above the Java standard library. Source evidence (a syntax query in that function):
//! a `try` statement inside a loop whose block calls that library method (by the callee the
//! profile shows), with the `catch` clauses it has. The fix is to test the input before the
//! call, or to use an API that reports failure without throwing; which test is right depends
//! on what the input may hold, so the finding has no patch.
//!
//! Python (`python.rs`): a `try` whose handler only gives a value (`return False`) and yet
//! takes time, from line-level time; the same advice, no patch.

use joule_sdk::hotspot::{Attribution, CallerCost, JAVA_LIBRARY, plain_name, sites_in};
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

mod python;

/// Making exceptions: filling in the stack trace (Java and JVM frames), and the constructors.
const COST: &str =
    r"fillInStackTrace|fill_in_stack_trace|JVM_FillInStackTrace|java\.lang\.Throwable\.<init>";

/// `try` statements with their catch types.
const TRIES: &str = r#"((try_statement
   body: (block) @body
   (catch_clause (catch_formal_parameter (catch_type) @types))) @try)"#;

/// Share of the exception cost the fix removes (the input test costs a little).
const REMOVED: f64 = 0.9;

struct ExceptionControlFlow;

impl Skill for ExceptionControlFlow {
    fn describe() -> Descriptor {
        Describe::offense(
            "exception-control-flow",
            env!("CARGO_PKG_VERSION"),
            "Java loops that let library calls throw for ordinary input (a NumberFormatException \
             per bad field), found by the time filling in stack traces, and Python functions \
             whose `except` handler runs on most calls, found by its line-level time; says \
             what to test instead.",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mut findings = Attribution::new(COST, JAVA_LIBRARY)
            .in_language(Language::Java)
            .scan(invocation, "exception construction", caller_findings)?;
        findings.extend(python::scan(invocation)?);
        Ok(findings)
    }
}

fn caller_findings(
    profile: &Profile,
    trees: &[Tree],
    caller: &CallerCost,
) -> Result<Vec<Finding>, String> {
    let function = &caller.function;
    let share = profile.share(caller.value);
    // The library methods the function calls that lead to the exceptions: its callees in the
    // standard library, by their method names (`parseLong`).
    let callees: Vec<String> = profile
        .callees(function.id, 30)?
        .into_iter()
        .map(|edge| edge.function.name)
        .filter(|name| is_library(name))
        .filter_map(|name| method_of(&name))
        .collect();
    let exceptions: Vec<String> = profile
        .find(r"Exception\.<init>|Error\.<init>")?
        .into_iter()
        .filter_map(|f| class_of(&f.name))
        .collect();
    let mut findings = Vec::new();
    for (tree_name, site) in sites_in(trees, function, &Query::new(Language::Java, TRIES))? {
        let (Some(try_), Some(body), Some(types)) = (
            site.capture("try"),
            site.capture("body"),
            site.capture("types"),
        ) else {
            continue;
        };
        if site.loop_depth == 0 {
            continue;
        }
        let caught = exceptions
            .iter()
            .find(|e| types.text.split('|').any(|t| t.trim() == e.as_str()))
            .cloned();
        // The call in the block that leads to the exceptions: a library callee the profile
        // shows (when the JIT inlined it, the exception the catch names stands for it).
        let called = match callees
            .iter()
            .find(|m| body.text.contains(&format!("{m}(")))
        {
            Some(m) => m.clone(),
            None if caught.is_some() => "a call in the try block".to_string(),
            None => continue,
        };
        let thrown = caught.unwrap_or_else(|| types.text.trim().to_string());
        findings.push(
            Finding::opportunity("exception-control-flow")
                .title(format!(
                    "`{}` uses `{thrown}` as control flow in a loop: {} of {}",
                    plain_name(&function.name),
                    percent(share),
                    profile.sample_type()
                ))
                .message(format!(
                    "{} goes to constructing exceptions under `{}`. Inside a loop, {} \
                     throws `{thrown}` for every input it rejects, and the loop catches it and \
                     goes on: exceptions are ordinary here, not exceptional, and each one walks \
                     the thread's stack to fill in its stack trace. Test the input before the \
                     call (for a number: empty, a sign, then digits; for a known placeholder \
                     such as `n/a`: compare), or use an API that reports failure without \
                     throwing. No patch is proposed: which test is right depends on what the \
                     input may hold.",
                    profile.cost(caller.value),
                    plain_name(&function.name),
                    if called.contains(' ') {
                        called.clone()
                    } else {
                        format!("`{called}(..)`")
                    },
                ))
                .location(
                    Location::capture(&tree_name, &site.path, try_).in_function(&function.name),
                )
                .measured(profile, caller.value)
                .saving(share * REMOVED)
                .confidence(0.75)
                .evidence(
                    "exception construction time in the function",
                    caller.value as f64,
                    profile.unit(),
                )
                .label(
                    "fingerprint",
                    format!("try {called} catch {thrown} in a loop"),
                )
                .build(),
        );
    }
    if findings.is_empty() {
        joule_sdk::log::info(format!(
            "`{}`: {} making exceptions, but no try/catch in a loop around {:?}",
            function.name,
            percent(share),
            callees
        ));
    }
    Ok(findings)
}

fn is_library(name: &str) -> bool {
    let method = plain_name(name);
    [
        "java.", "javax.", "jdk.", "sun.", "com.sun.", "java/", "jdk/", "sun/",
    ]
    .iter()
    .any(|p| method.starts_with(p))
}

/// The method's simple name: `long java.lang.Long.parseLong(java.lang.String, int)` ->
/// `parseLong`; constructors (`<init>`) give the class's (`new Foo(..)` is written `Foo(`).
pub fn method_of(name: &str) -> Option<String> {
    let plain = plain_name(name);
    let mut parts = plain.rsplit(['.', '/']);
    let method = parts.next()?;
    if method == "<init>" {
        return parts.next().map(str::to_string);
    }
    (!method.is_empty() && !method.starts_with('<')).then(|| method.to_string())
}

/// The simple class name of a constructor: `void java.lang.NumberFormatException.<init>(..)`
/// -> `NumberFormatException`.
pub fn class_of(name: &str) -> Option<String> {
    let plain = plain_name(name);
    let class = plain.strip_suffix(".<init>")?;
    Some(class.rsplit(['.', '/', '$']).next()?.to_string())
}

export_skill!(ExceptionControlFlow, id = "exception-control-flow");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_classes_from_jvm_names() {
        assert_eq!(
            method_of("long java.lang.Long.parseLong(java.lang.String, int)").as_deref(),
            Some("parseLong")
        );
        assert_eq!(
            method_of("java/lang/Integer.parseInt").as_deref(),
            Some("parseInt")
        );
        assert_eq!(
            method_of("void java.math.BigDecimal.<init>(java.lang.String)").as_deref(),
            Some("BigDecimal")
        );
        assert_eq!(
            class_of("void java.lang.NumberFormatException.<init>(java.lang.String)").as_deref(),
            Some("NumberFormatException")
        );
        assert_eq!(
            class_of("long java.lang.Long.parseLong(java.lang.String)"),
            None
        );
        assert!(is_library(
            "int java.lang.Integer.parseInt(java.lang.String, int)"
        ));
        assert!(!is_library("long Ledger.total(java.util.List, int)"));
    }
}
