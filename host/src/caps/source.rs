//! `source`: granted source trees as resources. Every path goes through [`SourceTree`], the one
//! path resolver, and through the skill's deny rules (built-in secret patterns and the
//! policy's `deny`), checked on the path as asked and on where it leads through symlinks.
//! Denied files are refused with the rule and the policy line that would allow them, and are
//! left out of listings and search results.

use std::sync::Arc;
use std::time::Instant;

use joule_policy::{Capability, Denial};
use wasmtime::component::Resource;

use super::account::{glob_cost, parse_bytes, query_cost};
use super::bindings::joule::skill::source::{
    Definition, Entry, EntryKind, Host, HostTree, Language, SearchMatch, SearchQuery,
    SyntaxCapture, SyntaxMatch, SyntaxQuery,
};
use super::bindings::joule::skill::types::{ByteRange, LineRange};
use super::{CallError, ErrorCode, HostCost, SkillState, call_error};
use crate::audit::{Op, Target};
use crate::deadline::Late;
use crate::source::{self as tree, Rebase, SourceTree, TreeError};
use crate::source::{symbols, syntax};

/// A guest's handle on one granted tree.
pub struct TreeHandle {
    tree: Arc<SourceTree>,
}

impl HostCost for TreeHandle {
    const WHAT: &'static str = "a tree handle";
}

fn entry_record(e: tree::Entry) -> Entry {
    Entry {
        path: e.path,
        kind: match e.kind {
            tree::EntryKind::File => EntryKind::File,
            tree::EntryKind::Directory => EntryKind::Directory,
            tree::EntryKind::Symlink => EntryKind::Symlink,
            tree::EntryKind::Other => EntryKind::Other,
        },
        size: e.size,
    }
}

fn error_size(e: &CallError) -> u64 {
    e.message.len() as u64 + 8
}

impl SkillState {
    fn tree(&self, handle: &Resource<TreeHandle>) -> wasmtime::Result<Arc<SourceTree>> {
        Ok(self.table.get(handle)?.tree.clone())
    }

    /// The deny rules' verdict on `path` in `tree`, judged as asked and as resolved.
    fn denial(&self, tree: &SourceTree, path: &str) -> Option<Denial> {
        let resolved = tree.resolved(path);
        self.grants.deny.check(path, resolved.as_deref()).err()
    }

    /// A path operation: counted, checked against the deny rules, answered, charged and
    /// recorded.
    fn on_path<T>(
        &mut self,
        handle: &Resource<TreeHandle>,
        op: Op,
        path: &str,
        answer: impl FnOnce(&Arc<SourceTree>) -> Result<T, CallError>,
        size: impl FnOnce(&T) -> u64,
    ) -> wasmtime::Result<Result<T, CallError>> {
        let started = self.begin(op)?;
        let tree = self.tree(handle)?;
        let resource = || Target::text(format!("{}:{path}", tree.name()));
        // The lexical check first: a path with `..` is refused as such, before the deny
        // rules could read `sub/../.env` as some other path.
        if let Err(e) = crate::source::checked_path(path) {
            let e = CallError::from(e);
            let denied = (e.code == ErrorCode::Denied).then_some(e.message.as_str());
            self.end(started, op, resource, error_size(&e), denied)?;
            return Ok(Err(e));
        }
        if let Some(denial) = self.denial(&tree, path) {
            let e = call_error(ErrorCode::Denied, denial.to_string());
            self.end(started, op, resource, error_size(&e), Some(&e.message))?;
            return Ok(Err(e));
        }
        let result = answer(&tree);
        let (bytes, denied) = match &result {
            Ok(v) => (size(v), None),
            Err(e) => (
                error_size(e),
                (e.code == ErrorCode::Denied).then_some(e.message.as_str()),
            ),
        };
        self.end(started, op, resource, bytes, denied)?;
        Ok(result)
    }
}

impl SkillState {
    /// A host-side walk of the files under `under` (a search, a syntax query): counted and
    /// checked like a path, the deny rules applied to every file it visits (as asked and as
    /// resolved), stopped at the deadline, which then ends the invocation as it would have.
    ///
    /// The walk checks the deadline between files and inside parsing and matching, but a regex
    /// cannot be interrupted inside a file (up to 16 MiB: seconds with a slow pattern), so the
    /// walk runs on a worker waited for only until the deadline ([`crate::deadline`]); it
    /// stops itself at the next file.
    fn on_walk<T: Send + 'static>(
        &mut self,
        handle: &Resource<TreeHandle>,
        op: Op,
        under: &str,
        what: &'static str,
        walk: impl FnOnce(&SourceTree, &dyn Fn(&str) -> bool, Instant) -> Result<T, TreeError>
        + Send
        + 'static,
        size: impl FnOnce(&T) -> u64,
    ) -> wasmtime::Result<Result<T, CallError>> {
        let grants = self.grants.clone();
        let deadline = self.deadline;
        let dir = under.to_string();
        let skill = self.skill_id.clone();
        let cancel = self.cancel.clone();
        let result = self.on_path(
            handle,
            op,
            under,
            move |tree| {
                let tree = Arc::clone(tree);
                let walked = crate::deadline::until_or_cancelled(
                    &skill,
                    deadline,
                    cancel.as_ref(),
                    move || {
                        let visible = crate::source::walk_filter(&tree, &dir, &grants.deny);
                        walk(&tree, &visible, deadline)
                    },
                );
                match walked {
                    Ok(answer) => answer.map_err(CallError::from),
                    Err(Late::Deadline) => Err(call_error(
                        ErrorCode::LimitExceeded,
                        format!("deadline exceeded in {what}"),
                    )),
                    // The skill is stopped at its next epoch check.
                    Err(Late::Cancelled) => Err(call_error(
                        ErrorCode::LimitExceeded,
                        super::CANCELLED.to_string(),
                    )),
                    Err(Late::Lost(why)) => Err(call_error(ErrorCode::Io, why)),
                }
            },
            size,
        )?;
        if Instant::now() >= deadline {
            let reason = self.overdue(Some(&format!("in {what}")));
            return Err(self.stop(reason));
        }
        Ok(result)
    }
}

fn language(l: Language) -> syntax::Language {
    match l {
        Language::Rust => syntax::Language::Rust,
        Language::C => syntax::Language::C,
        Language::Cpp => syntax::Language::Cpp,
        Language::Go => syntax::Language::Go,
        Language::Python => syntax::Language::Python,
        Language::Java => syntax::Language::Java,
        Language::Javascript => syntax::Language::JavaScript,
        Language::Typescript => syntax::Language::TypeScript,
        Language::Tsx => syntax::Language::Tsx,
    }
}

fn definition(d: symbols::Definition) -> Definition {
    Definition {
        path: d.path,
        function: d.name,
        lines: LineRange {
            start: d.lines.0,
            end: d.lines.1,
        },
        language: wit_language(d.language),
    }
}

fn wit_language(l: syntax::Language) -> Language {
    match l {
        syntax::Language::Rust => Language::Rust,
        syntax::Language::C => Language::C,
        syntax::Language::Cpp => Language::Cpp,
        syntax::Language::Go => Language::Go,
        syntax::Language::Python => Language::Python,
        syntax::Language::Java => Language::Java,
        syntax::Language::JavaScript => Language::Javascript,
        syntax::Language::TypeScript => Language::Typescript,
        syntax::Language::Tsx => Language::Tsx,
    }
}

fn syntax_match(m: syntax::SyntaxMatch) -> SyntaxMatch {
    SyntaxMatch {
        path: m.path,
        pattern: m.pattern,
        captures: m
            .captures
            .into_iter()
            .map(|c| SyntaxCapture {
                name: c.name,
                kind: c.kind,
                bytes: ByteRange {
                    start: c.start_byte,
                    end: c.end_byte,
                },
                lines: LineRange {
                    start: c.start_line,
                    end: c.end_line,
                },
                text: c.text,
            })
            .collect(),
        function: m.function,
        function_lines: m
            .function_lines
            .map(|(start, end)| LineRange { start, end }),
        loop_depth: m.loop_depth,
    }
}

impl Host for SkillState {
    fn granted(&mut self) -> wasmtime::Result<Vec<Resource<TreeHandle>>> {
        let started = self.begin(Op::SourceGranted)?;
        let trees = self.inputs.trees.clone();
        let denied = (trees.is_empty() && !self.inputs.withheld_trees.is_empty()).then(|| {
            self.grants
                .withheld(Capability::Source, &self.inputs.withheld_trees)
                .to_string()
        });
        let handles = trees
            .into_iter()
            .map(|tree| self.push_handle(TreeHandle { tree }))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let bytes = handles.len() as u64 * 4;
        self.end(
            started,
            Op::SourceGranted,
            || Target::None,
            bytes,
            denied.as_deref(),
        )?;
        Ok(handles)
    }
}

impl HostTree for SkillState {
    fn name(&mut self, handle: Resource<TreeHandle>) -> wasmtime::Result<String> {
        let started = self.begin(Op::TreeName)?;
        let tree = self.tree(&handle)?;
        let name = tree.name().to_string();
        self.end(
            started,
            Op::TreeName,
            || Target::text(name.clone()),
            name.len() as u64,
            None,
        )?;
        Ok(name)
    }

    fn read(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<String, CallError>> {
        self.on_path(
            &handle,
            Op::Read,
            &path,
            |t| t.read(&path).map_err(CallError::from),
            |text| text.len() as u64,
        )
    }

    fn read_lines(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
        lines: LineRange,
    ) -> wasmtime::Result<Result<Vec<String>, CallError>> {
        self.on_path(
            &handle,
            Op::ReadLines,
            &path,
            |t| {
                t.read_lines(&path, lines.start, lines.end)
                    .map_err(CallError::from)
            },
            |lines| lines.iter().map(|l| l.len() as u64 + 8).sum(),
        )
    }

    fn stat(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<Entry, CallError>> {
        self.on_path(
            &handle,
            Op::StatPath,
            &path,
            |t| t.stat(&path).map(entry_record).map_err(CallError::from),
            |e| e.path.len() as u64 + 16,
        )
    }

    fn list_dir(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<Entry>, CallError>> {
        let deny = self.grants.deny.clone();
        self.on_path(
            &handle,
            Op::ListDir,
            &path,
            |t| {
                // Entries of a directory reached through a symlink are judged where they
                // really are too (`g -> .git` must not list `.git`'s files).
                let rebase = Rebase::of(t, &path);
                t.list(&path)
                    .map(|entries| {
                        entries
                            .into_iter()
                            .filter(|e| {
                                let real = rebase.as_ref().and_then(|r| r.real(&e.path));
                                deny.check(&e.path, real.as_deref()).is_ok()
                            })
                            .map(entry_record)
                            .collect()
                    })
                    .map_err(CallError::from)
            },
            |entries: &Vec<Entry>| entries.iter().map(|e| e.path.len() as u64 + 16).sum(),
        )
    }

    fn search(
        &mut self,
        handle: Resource<TreeHandle>,
        query: SearchQuery,
    ) -> wasmtime::Result<Result<Vec<SearchMatch>, CallError>> {
        let under = query.under.clone().unwrap_or_default();
        // The regex's limits come from what is left in the memory account; it and the glob set
        // are charged for the call (a literal is searched as an escaped regex: up to twice its
        // length, no classes; a pattern past the cap is refused before it is parsed).
        let parse = match query.pattern.len() {
            n if n > tree::MAX_PATTERN_BYTES => 0,
            n if !query.regex => parse_bytes("aa").saturating_mul(n),
            _ => parse_bytes(&query.pattern),
        };
        let budget = self.regex_budget(tree::REGEX_NFA_BYTES, tree::REGEX_DFA_BYTES, parse)?;
        let cost = budget.cost(parse).saturating_add(glob_cost(&query.globs));
        let query = tree::SearchQuery {
            pattern: query.pattern,
            regex: query.regex,
            case_insensitive: query.case_insensitive,
            globs: query.globs,
            under: query.under,
            limit: query.limit as usize,
            regex_sizes: Some((budget.nfa, budget.dfa)),
        };
        self.charged(cost, "a search's regex and globs", |s| {
            s.on_walk(
                &handle,
                Op::Search,
                &under,
                "a host search",
                move |t, visible, deadline| {
                    t.search_filtered(&query, visible, deadline).map(|found| {
                        found
                            .into_iter()
                            .map(|m| SearchMatch {
                                path: m.path,
                                line: m.line,
                                column: m.column,
                                line_offset: m.line_offset,
                                text: m.text,
                            })
                            .collect()
                    })
                },
                |found: &Vec<SearchMatch>| {
                    found
                        .iter()
                        .map(|m| (m.path.len() + m.text.len()) as u64 + 24)
                        .sum()
                },
            )
        })
    }

    fn query(
        &mut self,
        handle: Resource<TreeHandle>,
        query: SyntaxQuery,
    ) -> wasmtime::Result<Result<Vec<SyntaxMatch>, CallError>> {
        let under = query.under.clone().unwrap_or_default();
        // The compiled query (kept in the process's cache, or built for this call) and the
        // parser's tree are charged for the call.
        let cost = match query.query.len() {
            n if n > syntax::MAX_QUERY_BYTES => 0,
            _ => query_cost(&query.query),
        }
        .saturating_add(glob_cost(&query.globs));
        let query = syntax::SyntaxQuery {
            language: language(query.language),
            query: query.query,
            globs: query.globs,
            under: query.under,
            limit: query.limit as usize,
        };
        self.charged(cost, "a syntax query", |s| {
            s.on_walk(
                &handle,
                Op::Query,
                &under,
                "a syntax query",
                move |t, visible, deadline| {
                    t.query_syntax(&query, visible, deadline)
                        .map(|found| found.into_iter().map(syntax_match).collect())
                },
                |found: &Vec<SyntaxMatch>| {
                    found
                        .iter()
                        .map(|m| {
                            let captures: usize = m
                                .captures
                                .iter()
                                .map(|c| c.name.len() + c.kind.len() + c.text.len() + 32)
                                .sum();
                            (m.path.len() + m.function.as_ref().map_or(0, String::len) + captures)
                                as u64
                                + 24
                        })
                        .sum()
                },
            )
        })
    }

    fn locate(
        &mut self,
        handle: Resource<TreeHandle>,
        profile_path: String,
    ) -> wasmtime::Result<Option<String>> {
        let started = self.begin(Op::Locate)?;
        let tree = self.tree(&handle)?;
        let found = tree
            .locate(&profile_path)
            .filter(|p| self.grants.deny.visible(p));
        let bytes = found.as_ref().map_or(0, |p| p.len() as u64);
        let name = tree.name().to_string();
        self.end(
            started,
            Op::Locate,
            || Target::text(format!("{name}:{profile_path}")),
            bytes,
            None,
        )?;
        Ok(found)
    }

    fn definitions(
        &mut self,
        handle: Resource<TreeHandle>,
        name: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<Definition>, CallError>> {
        let started = self.begin(Op::Definitions)?;
        let tree = self.tree(&handle)?;
        let tree_name = tree.name().to_string();
        let limit = (limit as usize).clamp(1, symbols::MAX_DEFINITIONS);
        let deny = self.grants.clone();
        let wanted = name;
        // The first lookup of a tree indexes it, on a worker: a skill whose deadline comes
        // first is stopped, and the index, finished on its thread, serves the later lookups.
        let cancel = self.cancel.clone();
        let found = crate::deadline::until_or_cancelled(
            &self.skill_id,
            self.deadline,
            cancel.as_ref(),
            move || {
                let visible = |p: &str| deny.deny.visible(p);
                let index = tree.symbols();
                (
                    index.lookup(&wanted, limit, &visible),
                    index.partial.clone(),
                )
            },
        );
        let result = match found {
            Ok((found, partial)) => {
                if let Some(why) = partial {
                    tracing::debug!(tree = %tree_name, "symbol index partial: {why}");
                }
                Ok(found.into_iter().map(definition).collect::<Vec<_>>())
            }
            Err(Late::Deadline) => Err(call_error(
                ErrorCode::LimitExceeded,
                "deadline exceeded while indexing the tree's functions".to_string(),
            )),
            Err(Late::Cancelled) => Err(call_error(
                ErrorCode::LimitExceeded,
                super::CANCELLED.to_string(),
            )),
            Err(Late::Lost(why)) => Err(call_error(ErrorCode::Io, why)),
        };
        let bytes = result.as_ref().map_or(0, |found: &Vec<Definition>| {
            found
                .iter()
                .map(|d| (d.path.len() + d.function.len() + 16) as u64)
                .sum()
        });
        // The tree, as for a search or a query over all of it (whose patterns are not
        // recorded either: the log holds where a skill looked, never text it chose).
        self.end(
            started,
            Op::Definitions,
            || Target::text(format!("{tree_name}:")),
            bytes,
            None,
        )?;
        if Instant::now() >= self.deadline {
            let reason = self.overdue(Some("in a definitions lookup"));
            return Err(self.stop(reason));
        }
        Ok(result)
    }

    fn drop(&mut self, handle: Resource<TreeHandle>) -> wasmtime::Result<()> {
        let started = self.begin(Op::DropTree)?;
        let h = self.drop_handle(handle)?;
        self.end(
            started,
            Op::DropTree,
            || Target::text(h.tree.name().to_string()),
            0,
            None,
        )
    }
}
