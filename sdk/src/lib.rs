//! The Joule skill SDK: everything a skill author needs to write a skill in Rust.
//!
//! A skill is a `cdylib` crate built for `wasm32-wasip2`. It implements [`Skill`] and exports it
//! with [`export_skill!`]; the bindings to the `joule:skill` WIT contract are generated here,
//! once, so authors never run a bindings generator.
//!
//! ```ignore
//! use joule_sdk::prelude::*;
//!
//! struct Hottest;
//!
//! impl Skill for Hottest {
//!     fn describe() -> Descriptor {
//!         Describe::new("hottest", env!("CARGO_PKG_VERSION"), "The single hottest function.")
//!             .uses("profiles")
//!             .build()
//!     }
//!
//!     fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
//!         let mut findings = Vec::new();
//!         for profile in Profile::granted() {
//!             if let Some(top) = profile.top(1)?.first() {
//!                 findings.push(
//!                     Finding::info("hottest-function")
//!                         .title(format!("{} is the hottest function", top.function.name))
//!                         .share(profile.share(top.self_value))
//!                         .build(),
//!                 );
//!             }
//!         }
//!         Ok(findings)
//!     }
//! }
//!
//! export_skill!(Hottest, id = "hottest");
//! ```

pub mod code;
mod describe;
mod finding;
mod history;
pub mod hotspot;
pub mod log;
mod metrics;
pub mod once;
mod profile;
/// Statistics (the `joule-stats` crate, shared with the host).
pub use joule_stats as stats;
mod tree;
pub mod units;

/// Bindings generated from `wit/` (the `skill` world). Most skills only need the re-exports in
/// [`prelude`]; everything the contract offers is reachable here.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "skill",
        pub_export_macro: true,
        export_macro_name: "__export_world_skill",
        default_bindings_module: "joule_sdk::bindings",
    });
}

pub use bindings::joule::skill::profiles::{
    CursorOptions, DiffQuery, EdgeStat, Frame, Function, FunctionDelta, FunctionStat, LabelMatch,
    LabelSummary, LineStat, MatchMode, Metadata, Order, SampleFilter, SampleType, StackSample,
    Subtree, TopQuery,
};
pub use bindings::joule::skill::source::{
    Definition, Entry, EntryKind, Language, SearchMatch, SearchQuery, SyntaxCapture, SyntaxMatch,
    SyntaxQuery,
};
pub use bindings::joule::skill::types::{
    ByteRange, CallError, Descriptor, Edit, ErrorCode, Finding, FindingFilter, FindingKind, Impact,
    Invocation, LineRange, Location, Measure, Parameter, Span, Trigger,
};
pub use describe::Describe;
pub use finding::FindingBuilder;
pub use history::{BlameLine, ChangeKind, Commit, FileChange, Hunk, Repo};
pub use metrics::{MetricSet, Point, SeriesInfo, TimeFormat};
pub use profile::{Profile, unsymbolized};
pub use tree::{Query, Search, Tree};

/// What a skill implements. `describe` must not call the host; `run` does the work.
pub trait Skill {
    fn describe() -> Descriptor;
    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String>;
}

/// The bytes of `id`, for the `joule:skill-id` section [`export_skill!`] writes.
#[doc(hidden)]
pub const fn __claimed_id<const N: usize>(id: &str) -> [u8; N] {
    let bytes = id.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Everything a typical skill uses, in one import.
pub mod prelude {
    pub use crate::log;
    pub use crate::{
        CallError, Describe, Descriptor, EdgeStat, Edit, Finding, FindingKind, Function,
        FunctionStat, Invocation, Language, LineRange, LineStat, Location, Measure, MetricSet,
        Order, Profile, Query, Search, Skill, Span, SyntaxMatch, Tree, Trigger, export_skill,
    };
}

impl ErrorCode {
    /// The code as the WIT contract spells it (`denied`, `not-found`...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not-found",
            ErrorCode::InvalidArgument => "invalid-argument",
            ErrorCode::Denied => "denied",
            ErrorCode::LimitExceeded => "limit-exceeded",
            ErrorCode::Io => "io",
            ErrorCode::Unsupported => "unsupported",
        }
    }
}

/// `denied: ../x: `..` is not allowed...`, so `?` in a skill's `run` reports host errors well.
impl From<CallError> for String {
    fn from(e: CallError) -> Self {
        format!("{}: {}", e.code.name(), e.message)
    }
}

impl Invocation {
    /// The value of a parameter (the operator's, else its declared default).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter parsed as `T`, or `default` when absent; an error names the bad value.
    pub fn param_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.param(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| format!("parameter `{name}`: cannot parse {raw:?}")),
        }
    }
}

/// Exports a type implementing [`Skill`] as the component's `describe` and `run`.
///
/// `export_skill!(Hottest, id = "hottest")` also writes the id into the component, in a custom
/// section named `joule:skill-id`, where the host reads it without running any code: under a
/// policy, a component whose digest no entry pins is refused before its `describe` runs, and
/// the refusal (and `joule audit`) can then name the skill by the id it claims rather than by
/// its file name. The claim is a name, never a credential: the host admits by digest, and
/// refuses a component whose `describe` returns another id than the one it claims.
#[macro_export]
macro_rules! export_skill {
    ($skill:ty, id = $id:literal) => {
        $crate::export_skill!($skill);

        const _: () = {
            #[unsafe(link_section = "joule:skill-id")]
            #[used]
            static CLAIMED_ID: [u8; $id.len()] = $crate::__claimed_id($id);
        };
    };
    ($skill:ty) => {
        const _: () = {
            struct __JouleSkillExport;

            impl $crate::bindings::Guest for __JouleSkillExport {
                fn describe() -> $crate::Descriptor {
                    <$skill as $crate::Skill>::describe()
                }

                fn run(
                    invocation: $crate::Invocation,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, ::std::string::String>
                {
                    <$skill as $crate::Skill>::run(&invocation)
                }
            }

    $crate::__export_skill_impl!(__JouleSkillExport with_types_in $crate::bindings);
        };
    };
}
