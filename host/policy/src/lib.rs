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
//! - [`file`]: the policy file, and `joule policy pin`.
//! - [`limits`]: the limits of one invocation.
//! - [`grants`]: what one skill may read, and the denials for what it may not.
//! - [`deny`]: paths no skill may read inside a granted tree (secrets, the policy's deny globs).
//! - [`capability`]: the host's interfaces, the risky WASI ones, and what every import reaches.
//! - [`admission`]: whether a component may run, and with which grants.
//! - [`review`]: the gap analysis behind `joule audit`.
//!
//! Nothing here runs Wasm or reads an input: the host asks, this crate answers.

pub mod admission;
pub mod capability;
pub mod denial;
pub mod deny;
pub mod file;
pub mod grants;
pub mod limits;
pub mod review;

pub use admission::Component;
pub use capability::{Capability, RISKY_WASI, reach, risky};
pub use denial::Denial;
pub use deny::{BUILTIN_SECRETS, DenyRules};
pub use file::{Policy, PolicyPlace, SkillPolicy, pin};
pub use grants::{GrantsView, ProfileGrant, ProfileSelector, SkillGrants};
pub use limits::Limits;
pub use review::{Review, Verdict};

#[cfg(test)]
mod tests;
