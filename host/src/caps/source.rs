//! `source`: granted source trees as resources. Every call goes through [`SourceTree`], the one
//! path resolver; this module only translates between WIT and it.

use std::sync::Arc;

use wasmtime::component::Resource;

use super::bindings::joule::skill::source::{
    Entry, EntryKind, Host, HostTree, SearchMatch, SearchQuery,
};
use super::bindings::joule::skill::types::LineRange;
use super::{CallError, SkillState};
use crate::source::{self as tree, SourceTree};

/// A guest's handle on one granted tree.
pub struct TreeHandle {
    tree: Arc<SourceTree>,
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

impl SkillState {
    fn tree(&mut self, handle: &Resource<TreeHandle>) -> wasmtime::Result<Arc<SourceTree>> {
        self.calls += 1;
        Ok(self.table.get(handle)?.tree.clone())
    }
}

impl Host for SkillState {
    fn granted(&mut self) -> wasmtime::Result<Vec<Resource<TreeHandle>>> {
        self.calls += 1;
        let trees = self.inputs.trees.clone();
        trees
            .into_iter()
            .map(|tree| Ok(self.table.push(TreeHandle { tree })?))
            .collect()
    }
}

impl HostTree for SkillState {
    fn name(&mut self, handle: Resource<TreeHandle>) -> wasmtime::Result<String> {
        Ok(self.tree(&handle)?.name().to_string())
    }

    fn read(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<String, CallError>> {
        Ok(self.tree(&handle)?.read(&path).map_err(CallError::from))
    }

    fn read_lines(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
        lines: LineRange,
    ) -> wasmtime::Result<Result<Vec<String>, CallError>> {
        Ok(self
            .tree(&handle)?
            .read_lines(&path, lines.start, lines.end)
            .map_err(CallError::from))
    }

    fn stat(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<Entry, CallError>> {
        Ok(self
            .tree(&handle)?
            .stat(&path)
            .map(entry_record)
            .map_err(CallError::from))
    }

    fn list_dir(
        &mut self,
        handle: Resource<TreeHandle>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<Entry>, CallError>> {
        Ok(self
            .tree(&handle)?
            .list(&path)
            .map(|entries| entries.into_iter().map(entry_record).collect())
            .map_err(CallError::from))
    }

    fn search(
        &mut self,
        handle: Resource<TreeHandle>,
        query: SearchQuery,
    ) -> wasmtime::Result<Result<Vec<SearchMatch>, CallError>> {
        let query = tree::SearchQuery {
            pattern: query.pattern,
            regex: query.regex,
            case_insensitive: query.case_insensitive,
            globs: query.globs,
            under: query.under,
            limit: query.limit as usize,
        };
        Ok(self
            .tree(&handle)?
            .search(&query)
            .map(|found| {
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
            .map_err(CallError::from))
    }

    fn locate(
        &mut self,
        handle: Resource<TreeHandle>,
        profile_path: String,
    ) -> wasmtime::Result<Option<String>> {
        Ok(self.tree(&handle)?.locate(&profile_path))
    }

    fn drop(&mut self, handle: Resource<TreeHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
