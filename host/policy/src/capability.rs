//! What a skill can reach: the host's own interfaces (one per capability a policy grants), the
//! risky WASI interfaces a policy must name, and, for any import, what it reaches in this host.

use serde::Serialize;

/// A `joule:skill` interface a skill imports to reach one kind of input (or the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Profiles,
    Source,
    Metrics,
    History,
    Log,
}

impl Capability {
    /// Every capability, in the order reports list them.
    pub const ALL: [Capability; 5] = [
        Capability::Profiles,
        Capability::Source,
        Capability::Metrics,
        Capability::History,
        Capability::Log,
    ];

    /// The name a skill declares in `describe` and the interface's name in `joule:skill`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Profiles => "profiles",
            Capability::Source => "source",
            Capability::Metrics => "metrics",
            Capability::History => "history",
            Capability::Log => "log",
        }
    }

    /// The interface a component imports for it, without version: `joule:skill/profiles`.
    pub fn interface(self) -> String {
        format!("joule:skill/{}", self.name())
    }

    /// Whether `imports` (versioned interface names, as read from a component) include it.
    pub fn imported_by(self, imports: &[String]) -> bool {
        let prefix = format!("{}@", self.interface());
        imports.iter().any(|i| i.starts_with(&prefix))
    }

    /// The key of a `[[skill]]` entry that grants inputs of this kind; the log needs no grant.
    pub fn policy_key(self) -> Option<&'static str> {
        match self {
            Capability::Profiles => Some("profiles"),
            Capability::Source => Some("sources"),
            Capability::Metrics => Some("metrics"),
            Capability::History => Some("history"),
            Capability::Log => None,
        }
    }

    /// One input of this kind, in words ("source tree").
    pub fn one(self) -> &'static str {
        match self {
            Capability::Profiles => "profile",
            Capability::Source => "source tree",
            Capability::Metrics => "metric set",
            Capability::History => "repository",
            Capability::Log => "log",
        }
    }

    /// Inputs of this kind, in words ("source trees").
    pub fn many(self) -> &'static str {
        match self {
            Capability::Profiles => "profiles",
            Capability::Source => "source trees",
            Capability::Metrics => "metric sets",
            Capability::History => "repositories",
            Capability::Log => "logs",
        }
    }
}

/// WASI interfaces a skill may import only when its policy entry names them: the name a policy
/// uses (`wasi = ["sockets"]`) and the interface prefix.
pub const RISKY_WASI: &[(&str, &str)] = &[
    ("filesystem", "wasi:filesystem/"),
    ("sockets", "wasi:sockets/"),
    ("http", "wasi:http/"),
];

/// The policy name of the risky WASI interface `import` belongs to, if it is one.
pub fn risky(import: &str) -> Option<&'static str> {
    RISKY_WASI
        .iter()
        .find(|(_, prefix)| import.starts_with(prefix))
        .map(|(name, _)| *name)
}

/// What an import reaches in this host, for security reviews (`joule audit`): the host
/// decides it, whatever the skill hopes for.
pub fn reach(import: &str) -> &'static str {
    let interface = import.split('@').next().unwrap_or(import);
    match interface {
        "joule:skill/profiles" => "the profiles granted, read-only, queried in the host",
        "joule:skill/source" => {
            "the source trees granted, read-only, minus the deny rules; no path leaves a tree; \
             text searches, syntax queries and function lookups run in the host"
        }
        "joule:skill/log" => "log lines into the run record, within the log budget",
        "joule:skill/findings" => {
            "findings handed to the host before the run ends, kept if the run is then stopped, \
             within the findings limits"
        }
        "joule:skill/metrics" => "the metric sets granted, read-only, in batches",
        "joule:skill/history" => {
            "the git repositories granted, read-only: commits, diffs, blame, revert patches"
        }
        "joule:skill/types" => "types only",
        "wasi:cli/environment" => "empty: no variables, no arguments, no working directory",
        "wasi:cli/exit" => "ends the skill's own run, reported as failed",
        "wasi:cli/stdin" => "closed",
        "wasi:cli/stdout" | "wasi:cli/stderr" => "captured into the run record, 1 MiB each",
        "wasi:clocks/wall-clock" | "wasi:clocks/monotonic-clock" => "the host's clocks",
        "wasi:random/random" | "wasi:random/insecure" | "wasi:random/insecure-seed" => {
            "random bytes"
        }
        "wasi:filesystem/types" | "wasi:filesystem/preopens" => {
            "no preopened directory: no file at all (risky: refused unless granted)"
        }
        "wasi:http/types" | "wasi:http/outgoing-handler" => {
            "not provided by the host: refused at load"
        }
        i if i.starts_with("wasi:sockets/") => {
            "TCP, UDP and name lookup all switched off (risky: refused unless granted)"
        }
        i if i.starts_with("wasi:cli/terminal-") => "no terminal",
        i if i.starts_with("wasi:io/") => "streams and polling, for stdio",
        _ => "not provided by the host: refused at load",
    }
}
