//! Joule's security surface, in one crate a security team can read alone: which skill, pinned
//! by the digest of its component, may read which inputs, import which risky WASI interfaces,
//! and run within which limits; and why, when it may not.
//!
//! Deny by default: with a policy, a skill without an entry is refused at load and a skill with
//! one sees only what its entry grants. Every denial ([`Denial`]) names the policy line that
//! would allow the call, so the file is read with spans. Without a policy ([`Policy::open`]),
//! every skill may read every input the operator gave on the command line, and the built-in
//! secret patterns are still denied. The format is documented in `docs/security.md`; whole
//! example policies are in `tests/policies/` and `policies/`.
//!
//! One file a concern, each item re-exported here:
//! - `file.rs`: the policy file ([`Policy`]), and `joule policy pin` ([`pin`]).
//! - `limits.rs`: the limits of one invocation ([`Limits`]).
//! - `grants.rs`: what one skill may read ([`SkillGrants`]), and the denials for what it may not.
//! - `deny.rs`: paths no skill may read inside a granted tree ([`DenyRules`]: secrets, the
//!   policy's deny globs).
//! - `capability.rs`: the host's interfaces ([`Capability`]), the risky WASI ones, and what
//!   every import reaches ([`reach`]).
//! - `denial.rs`: the one shape of a refusal ([`Denial`]).
//! - `admission.rs`: whether a component may run any code ([`Policy::admit_unrun`], judged
//!   from its bytes before its `describe`), with which grants ([`Policy::admit`]), and which
//!   of several components giving one id keeps it ([`id_keepers`]).
//! - `review.rs`: the gap analysis behind `joule audit` ([`Policy::review`]).
//!
//! Nothing here runs Wasm or reads an input: the host asks, this crate answers.

mod admission;
mod capability;
mod denial;
mod deny;
mod file;
mod grants;
mod limits;
mod review;

pub use admission::{Component, Unrun, id_keepers};
pub use capability::{Capability, RISKY_WASI, reach, risky};
pub use denial::Denial;
pub use deny::{BUILTIN_SECRETS, DenyRules};
pub use file::{AGENT, Policy, PolicyPlace, SkillPolicy, pin};
pub use grants::{GrantsView, ProfileGrant, ProfileSelector, SkillGrants};
pub use limits::{DESCRIBE_DEADLINE, DESCRIBE_MEMORY, Limits, RunLimits};
pub use review::{Review, Verdict};

#[cfg(test)]
mod tests;
