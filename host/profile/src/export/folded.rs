//! Folded stacks out: `root;...;leaf value`, one line per distinct stack, as Brendan Gregg's
//! `stackcollapse-*` and inferno's `collapse-*` write them. Lines are aggregated (labels that
//! split stacks in the model do not show in folded text) and sorted, so the output is stable.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::Profile;

/// The stacks of `profile` in sample type `t`, folded, aggregated and sorted. Stacks whose
/// value is zero are left out, as the collapse tools never print them.
pub fn lines(profile: &Profile, t: usize) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    let mut names: Vec<&str> = Vec::new();
    for i in 0..profile.stack_count() {
        let value = profile.stack_values(i).get(t).copied().unwrap_or(0);
        if value == 0 {
            continue;
        }
        names.clear();
        names.extend(
            profile
                .frames_of(i)
                .map(|f| profile.function_name(f.function)),
        );
        names.reverse();
        let key = names.join(";");
        let slot = out.entry(key).or_default();
        *slot = slot.saturating_add(value);
    }
    out
}

/// Folded text of `profile` in sample type `t`.
pub fn write(profile: &Profile, t: usize) -> String {
    let mut text = String::new();
    for (stack, value) in lines(profile, t) {
        let _ = writeln!(text, "{stack} {value}");
    }
    text
}

/// The two-column differential form (`stack base new`) that flame graph tools read: every stack
/// of either profile, with its value in each (0 where absent).
pub fn write_diff(base: &Profile, base_t: usize, new: &Profile, new_t: usize) -> String {
    let mut both: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (stack, v) in lines(base, base_t) {
        both.entry(stack).or_default().0 = v;
    }
    for (stack, v) in lines(new, new_t) {
        both.entry(stack).or_default().1 = v;
    }
    let mut text = String::new();
    for (stack, (a, b)) in both {
        let _ = writeln!(text, "{stack} {a} {b}");
    }
    text
}
