//! `loop-after-answer`: a loop whose whole body is `if COND { flag = CONSTANT }` has its answer
//! the first time `COND` holds, yet walks the rest of the collection, setting the flag again.
//!
//! Profile evidence: the time a hot function spends on the lines of that loop (line-level
//! totals). Source evidence (a syntax query, Rust and Python): a `for` loop whose body is only
//! that `if`, whose branch only assigns a constant to a name, with no `else`. Setting the flag
//! again changes nothing, so the loop can stop there; the patch adds `break` after the
//! assignment. In Python the loop variable outlives the loop, so a function that reads it
//! afterwards gets no patch. The condition is assumed free of side effects (it is evaluated
//! for fewer elements afterwards).

use joule_sdk::SyntaxMatch;
use joule_sdk::hotspot::sites_in;
use joule_sdk::prelude::*;
use joule_sdk::units::percent;

const RUST: &str = r#"(for_expression
  body: (block .
    (expression_statement
      (if_expression
        condition: (_) @condition
        consequence: (block .
          (expression_statement
            (assignment_expression
              left: (identifier) @flag
              right: [(boolean_literal) (integer_literal) (string_literal)] @value)) @set .)
        !alternative)) .)) @loop"#;

const PYTHON: &str = r#"(for_statement
  left: (_) @variable
  body: (block .
    (if_statement
      condition: (_) @condition
      consequence: (block .
        (expression_statement
          (assignment left: (identifier) @flag right: [(true) (false) (integer) (string) (none)] @value)) @set .)
      !alternative) .)
  !alternative) @loop"#;

/// Share of the loop's time the fix saves when the answer comes, on average, halfway through
/// (nothing when it never comes).
const REMOVED: f64 = 0.5;

/// Functions (by total time) whose loops are looked at.
const CANDIDATES: u32 = 30;

struct LoopAfterAnswer;

impl Skill for LoopAfterAnswer {
    fn describe() -> Descriptor {
        Describe::offense(
            "loop-after-answer",
            env!("CARGO_PKG_VERSION"),
            "Loops that keep going after they have their answer (`if cond { found = true }` \
             over a whole collection); proposes `break` once it is found (Rust, Python).",
            "0.02",
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let min_share: f64 = invocation.param_or("min-share", 0.02)?;
        let trees = Tree::granted();
        let mut findings = Vec::new();
        for profile in Profile::granted() {
            let mut examined = 0;
            for stat in profile.top_by_total(CANDIDATES)? {
                let function = &stat.function;
                let language = function.file.as_deref().and_then(Language::of_path);
                let query = match language {
                    Some(Language::Rust) => RUST,
                    Some(Language::Python) => PYTHON,
                    _ => continue,
                };
                if profile.share(stat.total_value) < min_share {
                    continue;
                }
                examined += 1;
                let language = language.unwrap_or(Language::Rust);
                for (tree, site) in sites_in(&trees, function, &Query::new(language, query))? {
                    let place = Place {
                        tree: &tree,
                        site: &site,
                        language,
                    };
                    findings.extend(finding(&profile, &trees, function, place, min_share)?);
                }
            }
            log::info(format!(
                "{}: loops of {examined} hot functions looked at",
                profile.name()
            ));
        }
        Ok(findings)
    }
}

/// Whether `text` uses the identifier `name` (as a whole word).
pub fn mentions(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Where a loop was found: the tree, the match, and the language it is in.
struct Place<'a> {
    tree: &'a str,
    site: &'a SyntaxMatch,
    language: Language,
}

fn finding(
    profile: &Profile,
    trees: &[Tree],
    function: &Function,
    place: Place<'_>,
    min_share: f64,
) -> Result<Option<Finding>, String> {
    let Place {
        tree: tree_name,
        site,
        language,
    } = place;
    let (Some(lp), Some(set), Some(flag), Some(condition)) = (
        site.capture("loop"),
        site.capture("set"),
        site.capture("flag"),
        site.capture("condition"),
    ) else {
        return Ok(None);
    };
    let Some(tree) = trees.iter().find(|t| t.name() == tree_name) else {
        return Ok(None);
    };
    // The function's time on the loop's lines (totals: calls made there count).
    let value: i64 = profile
        .lines(function.id, 10_000)?
        .iter()
        .filter(|l| lp.lines.start <= l.line && l.line <= lp.lines.end)
        .map(|l| l.total_value)
        .sum();
    let share = profile.share(value);
    if share < min_share {
        return Ok(None);
    }
    let profiled = &function.name;
    // Python keeps the loop variable after the loop: stopping early would change it.
    if language == Language::Python
        && let (Some(variable), Some(lines)) = (site.capture("variable"), site.function_lines)
        && lines.end > lp.lines.end
    {
        let after = tree
            .read_lines(&site.path, lp.lines.end + 1, lines.end)?
            .join("\n");
        if variable
            .text
            .split(',')
            .any(|v| mentions(&after, v.trim().trim_matches(['(', ')'])))
        {
            return Ok(None);
        }
    }
    // `break` right after the assignment, on its line, so it stays inside the `if` whether the
    // `if` spans lines or not (`if x: found = True` -> `if x: found = True; break`).
    if !set.is_whole() {
        return Ok(None);
    }
    let stop = if language == Language::Rust {
        " break;"
    } else {
        "; break"
    };
    let fence = if language == Language::Rust {
        "rust"
    } else {
        "python"
    };
    let unit = profile.unit();
    let text: String = lp.text.lines().take(4).collect::<Vec<_>>().join("\n");
    Ok(Some(
        Finding::opportunity("loop-after-answer")
            .title(format!(
                "`{}` keeps looping after `{}` is set: {} of {}",
                profiled,
                flag.text,
                percent(share),
                profile.sample_type()
            ))
            .message(format!(
                "{} is spent in this loop of `{}`:\n\n```{fence}\n{text}\n```\n\n\
                 Its only effect is setting `{}` to a constant once `{}` holds; every element \
                 after the first that does is wasted work. The patch stops the loop there with \
                 `break` (the condition is assumed to have no side effects). How much it saves \
                 depends on where the answer comes: half the loop when it comes halfway, \
                 nothing when it never comes.",
                profile.cost(value),
                profiled,
                flag.text,
                condition.text,
            ))
            .location(Location::capture(tree_name, &site.path, lp).in_function(profiled))
            .measured(profile, value)
            .saving(share * REMOVED)
            .confidence(0.8)
            .evidence("time on the loop's lines", value as f64, unit)
            .label("fingerprint", format!("{}:{}", flag.text, condition.text))
            .edit(Edit::capture(
                tree_name,
                &site.path,
                set,
                &format!("{}{stop}", set.text.trim_end()),
            ))
            .build(),
    ))
}

export_skill!(LoopAfterAnswer, id = "loop-after-answer");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_only() {
        assert!(mentions("return u.name", "u"));
        assert!(!mentions("return users", "u"));
        assert!(!mentions("found = True", "u"));
        assert!(mentions("print(u)", "u"));
    }
}
