//! Cost charged to the code that asked for it: the time a profile spends under some library's
//! functions (regex compilation, growing a vector, writing to a file), attributed to the first
//! function above that library on each stack, the caller whose source a skill then reads.
//!
//! ```ignore
//! let costs = Attribution::new(r"^regex::Regex::new$", r"^regex(_automata|_syntax)?::")
//!     .exempt(r"LazyLock|OnceLock")
//!     .run(&profile)?;
//! for caller in &costs.callers { /* caller.function.name, caller.value */ }
//! ```

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::{CallError, Function, Profile};

/// What to attribute: stacks through `cost` functions, charged to the caller of the outermost
/// `library` frame.
#[derive(Clone, Debug)]
pub struct Attribution {
    cost: String,
    library: String,
    exempt: Option<String>,
    glue: Vec<String>,
}

/// The cost charged to one calling function.
#[derive(Clone, Debug)]
pub struct CallerCost {
    pub function: Function,
    /// In the profile's default sample type.
    pub value: i64,
    /// Distinct stacks that make it up.
    pub stacks: usize,
}

/// Every caller's cost, largest first, and what was left out.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    pub callers: Vec<CallerCost>,
    /// The cost charged to callers.
    pub charged: i64,
    /// The cost under an exempt frame (a lazy initialiser: paid once).
    pub exempt: i64,
    /// The whole cost of the `cost` functions (cumulative, each stack once).
    pub total: i64,
}

/// Frames that only pass a call along (closure shims, trait glue, the standard library's
/// plumbing), skipped when looking for the function that asked.
const GLUE: [&str; 5] = [
    "core::",
    "alloc::",
    "std::panicking::",
    "std::panic::",
    "__rust",
];

impl Attribution {
    /// Stacks through functions matching `cost` (a regex, matched by the host), charged to the
    /// first non-glue frame above the outermost frame matching `library`.
    pub fn new(cost: &str, library: &str) -> Self {
        Attribution {
            cost: cost.to_string(),
            library: library.to_string(),
            exempt: None,
            glue: GLUE.iter().map(|g| g.to_string()).collect(),
        }
    }

    /// Stacks with a frame matching `exempt` above the library (a one-time initialiser) are
    /// counted apart and charged to no one.
    pub fn exempt(mut self, exempt: &str) -> Self {
        self.exempt = Some(exempt.to_string());
        self
    }

    /// Also skip frames starting with `prefix` when looking for the caller.
    pub fn glue(mut self, prefix: &str) -> Self {
        self.glue.push(prefix.to_string());
        self
    }

    fn is_glue(&self, name: &str) -> bool {
        let name = name.trim_start_matches('<');
        self.glue.iter().any(|g| name.starts_with(g.as_str()))
    }

    pub fn run(&self, profile: &Profile) -> Result<Costs, CallError> {
        let cost: Vec<u32> = profile.find(&self.cost)?.iter().map(|f| f.id).collect();
        if cost.is_empty() {
            return Ok(Costs::default());
        }
        let ids = |pattern: &str| -> Result<HashSet<u32>, CallError> {
            Ok(profile.find(pattern)?.into_iter().map(|f| f.id).collect())
        };
        let library = ids(&self.library)?;
        let exempt = match &self.exempt {
            Some(pattern) => ids(pattern)?,
            None => HashSet::new(),
        };
        let default_type = profile.metadata().default_sample_type as usize;
        let mut names: HashMap<u32, Function> = HashMap::new();
        let mut callers: HashMap<u32, (i64, usize)> = HashMap::new();
        let mut costs = Costs {
            total: profile.total_of(&cost)?,
            ..Costs::default()
        };
        for stack in profile.stacks(&cost)? {
            let value = stack.values.get(default_type).copied().unwrap_or(0);
            // Frames are leaf first; from the root down, the first library frame is where the
            // program entered the library. Its caller is just above it.
            let Some(entry) = stack
                .frames
                .iter()
                .rposition(|f| library.contains(&f.function))
            else {
                continue;
            };
            let mut caller = None;
            let mut is_exempt = false;
            for frame in &stack.frames[entry + 1..] {
                if exempt.contains(&frame.function) {
                    is_exempt = true;
                    break;
                }
                if caller.is_none() {
                    let name = match names.entry(frame.function) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(slot) => slot.insert(profile.function(frame.function)?),
                    };
                    if !self.is_glue(&name.name) {
                        caller = Some(frame.function);
                    }
                }
            }
            if is_exempt {
                costs.exempt += value;
                continue;
            }
            let Some(caller) = caller else { continue };
            costs.charged += value;
            let c = callers.entry(caller).or_insert((0, 0));
            c.0 += value;
            c.1 += 1;
        }
        let mut ranked: Vec<(u32, i64, usize)> =
            callers.into_iter().map(|(f, (v, s))| (f, v, s)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        costs.callers = ranked
            .into_iter()
            .filter_map(|(id, value, stacks)| {
                Some(CallerCost {
                    function: names.remove(&id)?,
                    value,
                    stacks,
                })
            })
            .collect();
        Ok(costs)
    }
}
