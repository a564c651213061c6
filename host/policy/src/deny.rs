//! Paths a skill may not read inside a granted tree: built-in secret patterns, the policy's
//! `deny` globs, and the `allow` exceptions.
//!
//! Matching is on a normalised path (no `.` or empty components, trailing dots and spaces
//! dropped, lower case), so `./.ENV`, `.//.env` and `.env.` all meet the `.env` pattern. A
//! pattern without `/` matches any component of the path (`id_*` denies `keys/id_rsa`); one with
//! `/` matches the whole path, at any depth (`.git/**` denies `vendor/x/.git/config`).

use globset::{GlobBuilder, GlobMatcher};

use crate::denial::Denial;
use crate::file::PolicyPlace;

/// Denied in every tree unless a policy's `allow` names the path.
pub const BUILTIN_SECRETS: &[&str] = &[
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_*", ".git/**", ".ssh/**", ".aws/**",
    ".netrc", "*.kdbx",
];

#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    /// Matches one path component (deny patterns without `/`).
    component: Option<GlobMatcher>,
    /// Match the whole path (the rest). A pattern `dir/**` also matches `dir` itself, so the
    /// directory cannot be listed or searched either.
    whole: Vec<GlobMatcher>,
}

fn glob(p: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(p)
        .case_insensitive(true)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
}

impl Pattern {
    /// A deny pattern: without `/`, any component; with `/`, the whole path at any depth.
    fn deny(text: &str) -> Result<Self, globset::Error> {
        let trimmed = text.trim_start_matches("./");
        if !trimmed.contains('/') {
            return Ok(Pattern {
                text: text.to_string(),
                component: Some(glob(trimmed)?),
                whole: Vec::new(),
            });
        }
        let anchored = trimmed.trim_start_matches('/');
        let mut whole = Vec::new();
        // Separate matchers rather than one `{a,**/a}` alternation: a comma or a brace in the
        // pattern must not change what it means.
        for p in Self::with_dir(anchored) {
            whole.push(glob(&p)?);
            whole.push(glob(&format!("**/{p}"))?);
        }
        Ok(Pattern {
            text: text.to_string(),
            component: None,
            whole,
        })
    }

    /// An allow pattern: the whole path from the tree root, nothing else (`.env` lets through
    /// `.env`, not `sub/.env`).
    fn allow(text: &str) -> Result<Self, globset::Error> {
        let anchored = text.trim_start_matches("./").trim_start_matches('/');
        Ok(Pattern {
            text: text.to_string(),
            component: None,
            whole: Self::with_dir(anchored)
                .iter()
                .map(|p| glob(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// `p`, and for `dir/**` also `dir`.
    fn with_dir(p: &str) -> Vec<String> {
        let mut out = vec![p.to_string()];
        if let Some(dir) = p.strip_suffix("/**")
            && !dir.is_empty()
        {
            out.push(dir.to_string());
        }
        out
    }

    fn matches(&self, normalized: &str) -> bool {
        if self.whole.iter().any(|g| g.is_match(normalized)) {
            return true;
        }
        self.component
            .as_ref()
            .is_some_and(|g| normalized.split('/').any(|c| g.is_match(c)))
    }
}

/// The deny rules of one skill.
#[derive(Clone, Debug)]
pub struct DenyRules {
    skill: String,
    builtin: Vec<Pattern>,
    extra: Vec<Pattern>,
    allow: Vec<Pattern>,
    place: Option<PolicyPlace>,
    deny_place: Option<PolicyPlace>,
}

/// `a/./b//c.` -> `a/b/c`, lower case: the form patterns are matched against.
pub fn normalize(path: &str) -> String {
    path.split(['/', '\\'])
        // `..` stays as it is (callers refuse it); other trailing dots and spaces go, as
        // Windows-style file systems would drop them.
        .map(|c| {
            if c == ".." {
                c
            } else {
                c.trim_end_matches(['.', ' '])
            }
        })
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

impl DenyRules {
    pub fn new(
        skill: &str,
        deny: &[String],
        allow: &[String],
        place: Option<PolicyPlace>,
        deny_place: Option<PolicyPlace>,
    ) -> Result<Self, globset::Error> {
        let builtin = BUILTIN_SECRETS.iter().map(|p| Pattern::deny(p));
        Ok(DenyRules {
            skill: skill.to_string(),
            builtin: builtin.collect::<Result<_, _>>()?,
            extra: deny
                .iter()
                .map(|p| Pattern::deny(p))
                .collect::<Result<_, _>>()?,
            allow: allow
                .iter()
                .map(|p| Pattern::allow(p))
                .collect::<Result<_, _>>()?,
            place,
            deny_place,
        })
    }

    /// The built-in patterns alone.
    pub fn builtin(skill: &str) -> Self {
        DenyRules {
            skill: skill.to_string(),
            builtin: BUILTIN_SECRETS
                .iter()
                .filter_map(|p| Pattern::deny(p).ok())
                .collect(),
            extra: Vec::new(),
            allow: Vec::new(),
            place: None,
            deny_place: None,
        }
    }

    /// `Err(reason)` when `path` (as asked, and as resolved through symlinks when given) may not
    /// be read; the reason names the pattern and what would allow the read.
    pub fn check(&self, path: &str, resolved: Option<&str>) -> Result<(), Denial> {
        for candidate in std::iter::once(path).chain(resolved) {
            let normalized = normalize(candidate);
            if normalized.is_empty() {
                continue;
            }
            // The target of a symlink is judged but not named: a denial must not tell the skill
            // where a link leads.
            let through = candidate != path;
            let via = if through {
                " leads through a symlink to a path that"
            } else {
                ""
            };
            if let Some(p) = self.extra.iter().find(|p| p.matches(&normalized)) {
                let place = self
                    .deny_place
                    .as_ref()
                    .map(|pl| format!(" ({pl})"))
                    .unwrap_or_default();
                return Err(Denial::new(
                    format!(
                        "{path}{via} matches deny pattern \"{}\" of {}{place}",
                        p.text,
                        entry_name(&self.skill)
                    ),
                    "remove it there to allow the read",
                ));
            }
            let allowed = self.allow.iter().any(|p| p.matches(&normalized));
            if !allowed && let Some(p) = self.builtin.iter().find(|p| p.matches(&normalized)) {
                let shown = if through {
                    "the link's target".to_string()
                } else {
                    format!("\"{normalized}\"")
                };
                let how = match &self.place {
                    Some(place) => format!(
                        "to read it, add {shown} to allow in {} ({place})",
                        entry_name(&self.skill)
                    ),
                    None => {
                        "to read it, run with a policy whose allow names it (see docs/security.md)"
                            .to_string()
                    }
                };
                return Err(Denial::new(
                    format!(
                        "{path}{via} matches the built-in secret pattern \"{}\"",
                        p.text
                    ),
                    how,
                ));
            }
        }
        Ok(())
    }

    /// In words, for `joule audit`.
    pub fn describe(&self) -> String {
        let mut parts = vec!["built-in secret patterns".to_string()];
        if !self.extra.is_empty() {
            let list: Vec<&str> = self.extra.iter().map(|p| p.text.as_str()).collect();
            parts.push(format!("deny {}", list.join(", ")));
        }
        if !self.allow.is_empty() {
            let list: Vec<&str> = self.allow.iter().map(|p| p.text.as_str()).collect();
            parts.push(format!("except {}", list.join(", ")));
        }
        parts.join("; ")
    }

    /// True when a listed or found path may be shown to the skill.
    pub fn visible(&self, path: &str) -> bool {
        self.check(path, None).is_ok()
    }
}

/// How a policy file names the entry of `skill`: `[[skill]] "ID"`, or `[agent]` for the agent.
fn entry_name(skill: &str) -> String {
    if skill == crate::file::AGENT {
        "[agent]".to_string()
    } else {
        format!("[[skill]] \"{skill}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_denied_however_they_are_spelled() {
        let rules = DenyRules::new(
            "s",
            &["config/prod/**".into()],
            &["test/fixtures/key.pem".into()],
            None,
            None,
        )
        .unwrap();
        for path in [
            ".env",
            ".ENV",
            "./.env",
            ".//.env",
            ".env.",
            ".env ",
            "sub/.env",
            ".env.local",
            "keys/id_rsa",
            "ID_ED25519",
            "certs/server.PEM",
            ".git/config",
            ".GIT/config",
            "vendor/x/.git/HEAD",
            "config/prod/db.toml",
            "Config/Prod/x",
        ] {
            assert!(rules.check(path, None).is_err(), "{path} should be denied");
        }
        for path in [
            "src/main.rs",
            "envoy.rs",
            "README.md",
            "git/config",
            "test/fixtures/key.pem",
            "config/dev/db.toml",
        ] {
            assert!(rules.check(path, None).is_ok(), "{path} should be allowed");
        }
        // `..` is not read as a trailing dot: `sub/../.env` stays what it says (and callers
        // refuse `..` before the deny rules see it).
        assert_eq!(normalize("sub/../.env"), "sub/../.env");
        assert_eq!(normalize("./A//b./c "), "a/b/c");
        // A symlink with an innocent name pointing at a secret is judged by its target too.
        assert!(rules.check("innocent.txt", Some(".env")).is_err());
        let e = rules.check("a/.env", None).unwrap_err().to_string();
        assert!(e.contains("built-in secret pattern \".env\""), "{e}");
        let e = rules.check("config/prod/x", None).unwrap_err().to_string();
        assert!(e.contains("deny pattern \"config/prod/**\""), "{e}");
    }
}
