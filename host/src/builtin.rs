//! The shipped skills, built into the `joule` binary (by `build.rs`, with the default feature
//! `builtin-skills`): what runs when no `--skills` is given, and what `--skills` adds to, or
//! with `--no-builtin-skills` replaces.

/// A shipped skill's component, as built into the binary.
#[derive(Debug)]
pub struct BuiltIn {
    /// The skill's id, which is also its crate's name under `skills/`.
    pub id: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin_skills.rs"));

/// Every built-in skill, in order of id; none without the `builtin-skills` feature.
pub fn all() -> &'static [BuiltIn] {
    BUILT_IN
}

/// The built-in skill with id `id`.
pub fn get(id: &str) -> Option<&'static BuiltIn> {
    BUILT_IN.iter().find(|b| b.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each built-in is known by its id before any of its code runs (a replacement given with
    /// `--skills` is matched to it, a policy names it): the component claims that id.
    #[test]
    fn each_built_in_claims_its_id() {
        let mut ids: Vec<&str> = all().iter().map(|b| b.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), all().len(), "ids sorted and unique");
        for b in all() {
            assert_eq!(
                crate::engine::claimed_id(b.bytes),
                Ok(Some(b.id.to_string())),
                "{}",
                b.id
            );
        }
        #[cfg(feature = "builtin-skills")]
        assert!(get("hot-functions").is_some());
    }
}
