//! `profiles`: granted profiles as resources, with queries answered natively from the canonical
//! model. Only answers cross into the guest; results are capped so one call cannot ask the host
//! to copy a whole large profile. Every call is counted, charged against the host-call data
//! limit by the size of its answer, and recorded for the audit log.

use std::sync::Arc;

use joule_policy::Capability;
use joule_profile::model::{self, FunctionId, Profile};
use regex::RegexBuilder;
use wasmtime::component::Resource;

use super::account::parse_bytes;
use super::bindings::joule::skill::profiles::{
    CursorOptions, DiffQuery, EdgeStat, Frame, Function, FunctionDelta, FunctionStat, Host,
    HostProfile, HostStackCursor, LabelSummary, LineStat, MatchMode, Metadata, Order, SampleFilter,
    SampleType, StackSample, Subtree, TopQuery,
};
use super::{CallError, ErrorCode, HostCost, RegexBudget, SkillState, call_error};
use crate::audit::{Op, Target};
use crate::inputs::NamedProfile;

/// Rows a list query returns at most, whatever the guest asks for.
pub const MAX_ROWS: u32 = 10_000;
/// Stacks a cursor returns per batch at most.
pub const MAX_BATCH: u32 = 4_096;

/// A guest's handle on one granted profile, or on a view a `filter` made of one.
pub struct ProfileHandle {
    profile: Arc<NamedProfile>,
    /// Its name in the audit buffer.
    name: u32,
    /// The heap bytes of the view when the host made it for the skill (0 for a granted
    /// profile, which the run holds anyway).
    view_bytes: usize,
}

impl HostCost for ProfileHandle {
    const WHAT: &'static str = "a profile handle";

    fn host_bytes(&self) -> usize {
        self.view_bytes
    }
}

/// A position in the stacks of one profile, optionally narrowed to some functions.
pub struct StackCursor {
    profile: Arc<NamedProfile>,
    name: u32,
    stacks: Vec<u32>,
    next: usize,
    batch: usize,
    /// The view it keeps alive, when its profile is one (see [`ProfileHandle::view_bytes`]).
    view_bytes: usize,
}

impl HostCost for StackCursor {
    const WHAT: &'static str = "a stack cursor";

    /// Its copy of the stack index, and the view it keeps alive: the view's handle may be
    /// dropped while the cursor lives.
    fn host_bytes(&self) -> usize {
        self.stacks.capacity() * std::mem::size_of::<u32>() + self.view_bytes
    }
}

/// The approximate size of an answer as it crosses into the guest, for the host-call data
/// limit and the audit log.
trait WireSize {
    fn wire_size(&self) -> u64;
}

impl WireSize for Function {
    fn wire_size(&self) -> u64 {
        (self.name.len() + self.system_name.len() + self.file.as_ref().map_or(0, String::len))
            as u64
            + 16
    }
}

impl WireSize for FunctionStat {
    fn wire_size(&self) -> u64 {
        self.function.wire_size() + 16
    }
}

impl WireSize for EdgeStat {
    fn wire_size(&self) -> u64 {
        self.function.wire_size() + 8
    }
}

impl WireSize for LineStat {
    fn wire_size(&self) -> u64 {
        self.file.as_ref().map_or(0, String::len) as u64 + 24
    }
}

impl WireSize for StackSample {
    fn wire_size(&self) -> u64 {
        (self.frames.len() * 8 + self.values.len() * 8) as u64
    }
}

impl WireSize for LabelSummary {
    fn wire_size(&self) -> u64 {
        (self.key.len() + self.value.len()) as u64 + 8
    }
}

impl WireSize for FunctionDelta {
    fn wire_size(&self) -> u64 {
        self.name.len() as u64 + 32
    }
}

impl WireSize for Subtree {
    fn wire_size(&self) -> u64 {
        16 + self.children.wire_size()
    }
}

impl WireSize for Metadata {
    fn wire_size(&self) -> u64 {
        (self.name.len()
            + self.format.len()
            + self.sample_types.len() * 24
            + self.totals.len() * 8
            + self.comments.iter().map(String::len).sum::<usize>()) as u64
            + 64
    }
}

impl WireSize for i64 {
    fn wire_size(&self) -> u64 {
        8
    }
}

impl<T: WireSize> WireSize for Vec<T> {
    fn wire_size(&self) -> u64 {
        self.iter().map(WireSize::wire_size).sum::<u64>() + 8
    }
}

impl<T: WireSize> WireSize for Result<T, CallError> {
    fn wire_size(&self) -> u64 {
        match self {
            Ok(v) => v.wire_size(),
            Err(e) => e.message.len() as u64 + 8,
        }
    }
}

fn function_record(p: &Profile, id: FunctionId) -> Function {
    let f = &p.functions[id as usize];
    Function {
        id,
        name: p.str(f.name).to_string(),
        system_name: p.str(f.system_name).to_string(),
        file: (f.file != 0).then(|| p.str(f.file).to_string()),
        start_line: (f.start_line != 0).then_some(f.start_line),
    }
}

fn stat_record(p: &Profile, s: model::FunctionStat) -> FunctionStat {
    FunctionStat {
        function: function_record(p, s.function),
        self_value: s.self_value,
        total_value: s.total_value,
    }
}

fn edge_records(p: &Profile, edges: Vec<model::EdgeStat>) -> Vec<EdgeStat> {
    edges
        .into_iter()
        .map(|e| EdgeStat {
            function: function_record(p, e.function),
            value: e.value,
        })
        .collect()
}

fn sample_type(p: &Profile, t: Option<u32>) -> Result<usize, CallError> {
    p.sample_type_or_default(t).ok_or_else(|| {
        call_error(
            ErrorCode::InvalidArgument,
            format!(
                "sample type {} does not exist (the profile has {})",
                t.unwrap_or(0),
                p.sample_types.len()
            ),
        )
    })
}

fn function_id(p: &Profile, id: FunctionId) -> Result<FunctionId, CallError> {
    if (id as usize) < p.functions.len() {
        Ok(id)
    } else {
        Err(call_error(
            ErrorCode::NotFound,
            format!(
                "function {id} does not exist (the profile has {})",
                p.functions.len()
            ),
        ))
    }
}

/// The longest name regex; a longer one is refused before anything is compiled.
pub const MAX_NAME_PATTERN_BYTES: usize = 64 << 10;
/// The most a name regex's compiled program and lazy DFA cache may each take.
const NAME_REGEX_NFA: usize = 1 << 20;
const NAME_REGEX_DFA: usize = 1 << 20;

fn name_regex(pattern: &str, budget: RegexBudget) -> Result<regex::Regex, CallError> {
    if pattern.len() > MAX_NAME_PATTERN_BYTES {
        return Err(call_error(
            ErrorCode::InvalidArgument,
            format!(
                "name regexes are at most {MAX_NAME_PATTERN_BYTES} bytes (got {})",
                pattern.len()
            ),
        ));
    }
    RegexBuilder::new(pattern)
        .size_limit(budget.nfa)
        .dfa_size_limit(budget.dfa)
        .build()
        .map_err(|e| call_error(ErrorCode::InvalidArgument, format!("bad name regex: {e}")))
}

/// Label matchers one filter may hold.
const MAX_LABEL_MATCHERS: usize = 64;

fn rows(limit: u32) -> usize {
    limit.min(MAX_ROWS) as usize
}

impl SkillState {
    /// Runs one query on a profile handle: counts the call, answers it, charges the answer's
    /// size and records it.
    fn on_profile<T: WireSize>(
        &mut self,
        handle: &Resource<ProfileHandle>,
        op: Op,
        answer: impl FnOnce(&Profile) -> T,
    ) -> wasmtime::Result<T> {
        let started = self.begin(op)?;
        let h = self.table.get(handle)?;
        let result = answer(&h.profile.profile);
        let name = h.name;
        self.end(started, op, || Target::Name(name), result.wire_size(), None)?;
        Ok(result)
    }

    fn push_profile(
        &mut self,
        profile: Arc<NamedProfile>,
        view_bytes: usize,
    ) -> wasmtime::Result<Resource<ProfileHandle>> {
        let name = self.audit.as_mut().map_or(0, |a| a.intern(&profile.name));
        self.push_handle(ProfileHandle {
            profile,
            name,
            view_bytes,
        })
    }

    /// [`Self::on_profile`] for a query that may build a name regex from `pattern`: the
    /// regex's limits come from the memory account, and its charge is held for the call.
    fn on_profile_regex<T: WireSize>(
        &mut self,
        handle: &Resource<ProfileHandle>,
        op: Op,
        pattern: Option<&str>,
        answer: impl FnOnce(&Profile, RegexBudget) -> T,
    ) -> wasmtime::Result<T> {
        // A pattern past the cap is refused before anything is parsed: charged nothing.
        let Some(parse) = pattern.map(|p| {
            if p.len() > MAX_NAME_PATTERN_BYTES {
                0
            } else {
                parse_bytes(p)
            }
        }) else {
            let unused = RegexBudget { nfa: 0, dfa: 0 };
            return self.on_profile(handle, op, |p| answer(p, unused));
        };
        let budget = self.regex_budget(NAME_REGEX_NFA, NAME_REGEX_DFA, parse)?;
        self.charged(budget.cost(parse), "a name regex", |s| {
            s.on_profile(handle, op, |p| answer(p, budget))
        })
    }
}

impl Host for SkillState {
    fn granted(&mut self) -> wasmtime::Result<Vec<Resource<ProfileHandle>>> {
        let started = self.begin(Op::ProfilesGranted)?;
        let profiles = self.inputs.profiles.clone();
        let denied =
            (profiles.is_empty() && !self.inputs.withheld_profiles.is_empty()).then(|| {
                self.grants
                    .withheld(Capability::Profiles, &self.inputs.withheld_profiles)
                    .to_string()
            });
        let handles = profiles
            .into_iter()
            .map(|p| self.push_profile(p, 0))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let bytes = handles.len() as u64 * 4;
        self.end(
            started,
            Op::ProfilesGranted,
            || Target::None,
            bytes,
            denied.as_deref(),
        )?;
        Ok(handles)
    }
}

impl HostProfile for SkillState {
    fn metadata(&mut self, handle: Resource<ProfileHandle>) -> wasmtime::Result<Metadata> {
        let started = self.begin(Op::Metadata)?;
        let h = self.table.get(&handle)?;
        let (named, name) = (h.profile.clone(), h.name);
        let p = &named.profile;
        let value_type = |t: &model::ValueType| SampleType {
            name: p.str(t.name).to_string(),
            unit: p.str(t.unit).to_string(),
        };
        let meta = Metadata {
            name: named.name.clone(),
            format: p.format.name().to_string(),
            sample_types: p.sample_types.iter().map(value_type).collect(),
            default_sample_type: p.default_sample_type as u32,
            totals: p.totals(),
            sample_count: p.raw_sample_count,
            stack_count: p.stack_count() as u64,
            function_count: p.functions.len() as u32,
            duration_nanos: p.duration_nanos,
            period: p.period,
            period_type: p.period_type.as_ref().map(value_type),
            comments: p.comments.iter().map(|&c| p.str(c).to_string()).collect(),
        };
        self.end(
            started,
            Op::Metadata,
            || Target::Name(name),
            meta.wire_size(),
            None,
        )?;
        Ok(meta)
    }

    fn function(
        &mut self,
        handle: Resource<ProfileHandle>,
        id: FunctionId,
    ) -> wasmtime::Result<Result<Function, CallError>> {
        self.on_profile(&handle, Op::Function, |p| {
            function_id(p, id).map(|id| function_record(p, id))
        })
    }

    fn find_functions(
        &mut self,
        handle: Resource<ProfileHandle>,
        pattern: String,
        mode: MatchMode,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<Function>, CallError>> {
        let regex = matches!(mode, MatchMode::Regex).then_some(pattern.as_str());
        self.on_profile_regex(&handle, Op::FindFunctions, regex, |p, budget| {
            let ids: Vec<FunctionId> = match mode {
                MatchMode::Exact => p.functions_named(&pattern).to_vec(),
                MatchMode::Substring => (0..p.functions.len() as FunctionId)
                    .filter(|&f| p.function_name(f).contains(&pattern))
                    .collect(),
                MatchMode::Regex => {
                    let re = name_regex(&pattern, budget)?;
                    (0..p.functions.len() as FunctionId)
                        .filter(|&f| re.is_match(p.function_name(f)))
                        .collect()
                }
            };
            Ok(ids
                .into_iter()
                .take(rows(limit))
                .map(|f| function_record(p, f))
                .collect())
        })
    }

    fn top(
        &mut self,
        handle: Resource<ProfileHandle>,
        query: TopQuery,
    ) -> wasmtime::Result<Result<Vec<FunctionStat>, CallError>> {
        let pattern = query.name_filter.as_deref();
        self.on_profile_regex(&handle, Op::Top, pattern, |p, budget| {
            let t = sample_type(p, query.sample_type)?;
            let filter = pattern.map(|re| name_regex(re, budget)).transpose()?;
            let order = match query.order {
                Order::BySelf => model::Order::BySelf,
                Order::ByTotal => model::Order::ByTotal,
            };
            let top = p.top(t, order, rows(query.limit), |f| {
                filter
                    .as_ref()
                    .is_none_or(|re| re.is_match(p.function_name(f)))
            });
            Ok(top.into_iter().map(|s| stat_record(p, s)).collect())
        })
    }

    fn stat(
        &mut self,
        handle: Resource<ProfileHandle>,
        id: FunctionId,
        sample_type_index: Option<u32>,
    ) -> wasmtime::Result<Result<FunctionStat, CallError>> {
        self.on_profile(&handle, Op::Stat, |p| {
            let t = sample_type(p, sample_type_index)?;
            let id = function_id(p, id)?;
            Ok(stat_record(p, p.function_stat(id, t)))
        })
    }

    fn total_of(
        &mut self,
        handle: Resource<ProfileHandle>,
        ids: Vec<FunctionId>,
        sample_type_index: Option<u32>,
    ) -> wasmtime::Result<Result<i64, CallError>> {
        self.on_profile(&handle, Op::TotalOf, |p| {
            sample_type(p, sample_type_index).map(|t| p.total_of(&ids, t))
        })
    }

    fn callers(
        &mut self,
        handle: Resource<ProfileHandle>,
        id: FunctionId,
        sample_type_index: Option<u32>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<EdgeStat>, CallError>> {
        self.on_profile(&handle, Op::Callers, |p| {
            neighbours(p, id, sample_type_index, limit, true)
        })
    }

    fn callees(
        &mut self,
        handle: Resource<ProfileHandle>,
        id: FunctionId,
        sample_type_index: Option<u32>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<EdgeStat>, CallError>> {
        self.on_profile(&handle, Op::Callees, |p| {
            neighbours(p, id, sample_type_index, limit, false)
        })
    }

    fn lines(
        &mut self,
        handle: Resource<ProfileHandle>,
        id: FunctionId,
        sample_type_index: Option<u32>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<LineStat>, CallError>> {
        self.on_profile(&handle, Op::Lines, |p| {
            let t = sample_type(p, sample_type_index)?;
            let id = function_id(p, id)?;
            let file = p.functions[id as usize].file;
            let file = (file != 0).then(|| p.str(file).to_string());
            Ok(p.lines(id, t, rows(limit))
                .into_iter()
                .map(|l| LineStat {
                    file: file.clone(),
                    line: l.line,
                    self_value: l.self_value,
                    total_value: l.total_value,
                })
                .collect())
        })
    }

    fn stacks(
        &mut self,
        handle: Resource<ProfileHandle>,
        options: CursorOptions,
    ) -> wasmtime::Result<Result<Resource<StackCursor>, CallError>> {
        let started = self.begin(Op::Stacks)?;
        let h = self.table.get(&handle)?;
        let (named, name, view_bytes) = (h.profile.clone(), h.name, h.view_bytes);
        if let Some(&bad) = options
            .containing
            .iter()
            .find(|&&f| f as usize >= named.profile.functions.len())
        {
            self.end(started, Op::Stacks, || Target::Name(name), 0, None)?;
            return Ok(Err(call_error(
                ErrorCode::NotFound,
                format!("function {bad} does not exist"),
            )));
        }
        // The cursor's copy of the stack index is at most one entry a stack: charged before it
        // is built, then the handle is charged what it holds.
        let most = named.profile.stack_count() * std::mem::size_of::<u32>();
        let stacks = self.charged(most, StackCursor::WHAT, |_| {
            Ok(named.profile.stacks_containing(&options.containing))
        })?;
        let cursor = StackCursor {
            profile: named,
            name,
            stacks,
            next: 0,
            batch: options.batch.clamp(1, MAX_BATCH) as usize,
            view_bytes,
        };
        let handle = self.push_handle(cursor)?;
        self.end(started, Op::Stacks, || Target::Name(name), 4, None)?;
        Ok(Ok(handle))
    }

    fn filter(
        &mut self,
        handle: Resource<ProfileHandle>,
        filter: SampleFilter,
    ) -> wasmtime::Result<Result<Resource<ProfileHandle>, CallError>> {
        let started = self.begin(Op::Filter)?;
        let h = self.table.get(&handle)?;
        let (named, name) = (h.profile.clone(), h.name);
        if filter.labels.len() > MAX_LABEL_MATCHERS {
            let e = call_error(
                ErrorCode::InvalidArgument,
                format!(
                    "{} label matchers; at most {MAX_LABEL_MATCHERS} are allowed",
                    filter.labels.len()
                ),
            );
            self.end(started, Op::Filter, || Target::Name(name), 0, None)?;
            return Ok(Err(e));
        }
        let wanted: Vec<(String, Option<String>)> = filter
            .labels
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect();
        let p = &named.profile;
        // A view holds at most what its profile does: that much is charged to the skill's
        // memory account while it is built, then the handle is charged the view's own size.
        let most = usize::try_from(p.heap_bytes()).unwrap_or(usize::MAX);
        let filtered = self.charged(most, "a filtered profile view", |_| {
            Ok(p.retain_stacks(|i| p.stack_has_labels(i, &wanted) != filter.exclude))
        })?;
        // It is also charged as if it had been returned, so filters in a loop meet the
        // host-call data limit whatever they drop.
        let cost = 4 + filtered.heap_bytes();
        let view_bytes = usize::try_from(filtered.heap_bytes()).unwrap_or(usize::MAX);
        let view = Arc::new(NamedProfile {
            name: named.name.clone(),
            path: named.path.clone(),
            profile: filtered,
        });
        let handle = self.push_profile(view, view_bytes)?;
        self.end(started, Op::Filter, || Target::Name(name), cost, None)?;
        Ok(Ok(handle))
    }

    fn labels(
        &mut self,
        handle: Resource<ProfileHandle>,
        sample_type_index: Option<u32>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<LabelSummary>, CallError>> {
        self.on_profile(&handle, Op::Labels, |p| {
            sample_type(p, sample_type_index).map(|t| {
                p.label_totals(t)
                    .into_iter()
                    .take(rows(limit))
                    .map(|(key, value, total)| LabelSummary { key, value, total })
                    .collect()
            })
        })
    }

    fn diff(
        &mut self,
        handle: Resource<ProfileHandle>,
        base: Resource<ProfileHandle>,
        query: DiffQuery,
    ) -> wasmtime::Result<Result<Vec<FunctionDelta>, CallError>> {
        let base = self.table.get(&base)?.profile.clone();
        self.on_profile(&handle, Op::Diff, |new| {
            let bt = sample_type(&base.profile, query.base_sample_type)?;
            let nt = sample_type(new, query.sample_type)?;
            let order = match query.order {
                Order::BySelf => model::diff::DiffOrder::BySelf,
                Order::ByTotal => model::diff::DiffOrder::ByTotal,
            };
            let deltas = model::diff::diff(&base.profile, bt, new, nt, query.normalize, order);
            Ok(deltas
                .into_iter()
                .filter(|d| d.self_delta() != 0 || d.total_delta() != 0)
                .take(rows(query.limit))
                .map(|d| FunctionDelta {
                    name: d.name,
                    base_self: d.base_self,
                    base_total: d.base_total,
                    new_self: d.new_self,
                    new_total: d.new_total,
                })
                .collect())
        })
    }

    fn subtree(
        &mut self,
        handle: Resource<ProfileHandle>,
        path: Vec<FunctionId>,
        sample_type_index: Option<u32>,
        limit: u32,
    ) -> wasmtime::Result<Result<Subtree, CallError>> {
        self.on_profile(&handle, Op::Subtree, |p| {
            let t = sample_type(p, sample_type_index)?;
            for &f in &path {
                function_id(p, f)?;
            }
            let node = p.subtree(&path, t, rows(limit));
            Ok(Subtree {
                total_value: node.total_value,
                self_value: node.self_value,
                children: edge_records(p, node.children),
            })
        })
    }

    fn drop(&mut self, handle: Resource<ProfileHandle>) -> wasmtime::Result<()> {
        let started = self.begin(Op::DropProfile)?;
        let h = self.drop_handle(handle)?;
        self.end(started, Op::DropProfile, || Target::Name(h.name), 0, None)
    }
}

fn neighbours(
    p: &Profile,
    id: FunctionId,
    sample_type_index: Option<u32>,
    limit: u32,
    callers: bool,
) -> Result<Vec<EdgeStat>, CallError> {
    let t = sample_type(p, sample_type_index)?;
    let id = function_id(p, id)?;
    Ok(edge_records(p, p.neighbours(id, t, callers, rows(limit))))
}

impl HostStackCursor for SkillState {
    fn next(&mut self, handle: Resource<StackCursor>) -> wasmtime::Result<Vec<StackSample>> {
        let started = self.begin(Op::CursorNext)?;
        let cursor = self.table.get_mut(&handle)?;
        let p = &cursor.profile.profile;
        let end = (cursor.next + cursor.batch).min(cursor.stacks.len());
        let batch: Vec<StackSample> = cursor.stacks[cursor.next..end]
            .iter()
            .map(|&i| StackSample {
                frames: p
                    .frames_of(i as usize)
                    .map(|f| Frame {
                        function: f.function,
                        line: f.line,
                    })
                    .collect(),
                values: p.stack_values(i as usize).to_vec(),
            })
            .collect();
        cursor.next = end;
        let name = cursor.name;
        self.end(
            started,
            Op::CursorNext,
            || Target::Name(name),
            batch.wire_size(),
            None,
        )?;
        Ok(batch)
    }

    fn drop(&mut self, handle: Resource<StackCursor>) -> wasmtime::Result<()> {
        let started = self.begin(Op::DropCursor)?;
        let c = self.drop_handle(handle)?;
        self.end(started, Op::DropCursor, || Target::Name(c.name), 0, None)
    }
}
