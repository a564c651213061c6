//! Source trees granted to skills: the one place where a skill-supplied path becomes a file read.
//!
//! A tree is opened once as a capability (`cap_std::fs::Dir`); every later access is relative to
//! it. Paths are checked twice: first lexically here (absolute paths, `..`, NUL bytes and
//! backslashes are refused with a message saying why), then by `cap-std`, which refuses any
//! resolution, symlinks included, that would leave the root. Nothing is read before both agree.

mod bodies;
mod search;
pub mod symbols;
pub mod syntax;
pub mod walk;

pub use search::{MAX_PATTERN_BYTES, REGEX_DFA_BYTES, REGEX_NFA_BYTES, SearchMatch, SearchQuery};

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// Files larger than this are not read whole (search skips them too).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a tree access failed. The variants map one-to-one onto the WIT `error-code`s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Io(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
}

/// A directory granted to skills under a name.
#[derive(Debug)]
pub struct SourceTree {
    name: String,
    root: PathBuf,
    dir: Dir,
    /// Build-path prefixes that stand for this tree's root (`/home/ci/build/app`), tried
    /// before suffix detection when mapping a profile's file paths onto the tree.
    prefixes: Vec<String>,
    /// The tree's function definitions, indexed on the first lookup ([`symbols`]), and where
    /// files' definitions are kept between runs.
    symbols: std::sync::OnceLock<symbols::SymbolIndex>,
    symbol_cache: Option<symbols::SymbolCache>,
    /// Syntax trees of the files queried last ([`syntax::Parsed`]): a skill that queries one
    /// file once for each of its hot functions parses it once.
    parsed: std::sync::Mutex<syntax::Parsed>,
}

impl SourceTree {
    /// Opens `root` as a tree. This is the only ambient file access the tree ever makes.
    pub fn open(name: impl Into<String>, root: &Path) -> anyhow::Result<Self> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot open source tree: {}",
                root.display(),
                joule_profile::ingest::io_reason(&e)
            )
        })?;
        Ok(SourceTree {
            name: name.into(),
            root: root.to_path_buf(),
            dir,
            prefixes: Vec::new(),
            symbols: std::sync::OnceLock::new(),
            symbol_cache: None,
            parsed: std::sync::Mutex::new(syntax::Parsed::default()),
        })
    }

    /// Keeps the definitions of the tree's files in directory `dir` between runs.
    pub fn with_symbol_cache(mut self, dir: &Path) -> Self {
        self.symbol_cache = Some(symbols::SymbolCache::new(dir, &self.root));
        self
    }

    /// The tree's function definitions: indexed by the first caller, in the process's
    /// lifetime once (concurrent callers wait for that one).
    pub fn symbols(&self) -> &symbols::SymbolIndex {
        self.symbols
            .get_or_init(|| self.index_symbols(self.symbol_cache.as_ref()))
    }

    /// Declares that paths starting with `prefix` in profiles are files of this tree.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        let prefix = prefix.trim_end_matches('/').to_string();
        self.prefixes.push(prefix);
        self
    }

    /// Where a file a profile names is in this tree: under an operator-declared prefix, else the
    /// longest suffix of the path that is a file here (`/ci/build/app/src/main.rs` ->
    /// `src/main.rs`). `None` when the tree does not have it; never a path outside the tree.
    pub fn locate(&self, profile_path: &str) -> Option<String> {
        // A frame's file name is a path: anything longer is not one, and would make the
        // suffix search below quadratic in the skill's string.
        if profile_path.len() > MAX_PATH_BYTES {
            return None;
        }
        let normalized = profile_path.replace('\\', "/");
        for prefix in &self.prefixes {
            if let Some(rest) = normalized.strip_prefix(prefix.as_str())
                && let Some(rest) = rest.strip_prefix('/')
                && self.is_file(rest)
            {
                return Some(rest.to_string());
            }
        }
        let parts: Vec<&str> = normalized
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            return None;
        }
        if parts.len() > MAX_PATH_COMPONENTS {
            return None;
        }
        (0..parts.len())
            .map(|skip| parts[skip..].join("/"))
            .find(|candidate| self.is_file(candidate))
    }

    /// Where `path` leads once symlinks are resolved, relative to the root, when that differs
    /// from the path as given (for deny rules that must also judge the target). `None` when it
    /// does not resolve or resolves to itself.
    pub fn resolved(&self, path: &str) -> Option<String> {
        let rel = checked_path(path).ok()?;
        let canonical = self.dir.canonicalize(rel).ok()?;
        let shown = display_path(&canonical);
        (shown != display_path(rel)).then_some(shown)
    }

    /// The one path inside the tree that `path` names, every spelling alike (`./a`, `a//b`, a
    /// symlink in the tree that leads to `a`): for joining edits to the same file.
    pub fn canonical(&self, path: &str) -> Result<String, TreeError> {
        let rel = checked_path(path)?;
        let canonical = self.dir.canonicalize(rel).map_err(|e| io_error(path, &e))?;
        Ok(display_path(&canonical))
    }

    fn is_file(&self, path: &str) -> bool {
        checked_path(path).is_ok_and(|p| self.dir.metadata(p).is_ok_and(|m| m.is_file()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory the operator granted, for messages and reports only.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a UTF-8 text file.
    pub fn read(&self, path: &str) -> Result<String, TreeError> {
        let bytes = self.read_bytes(path)?;
        String::from_utf8(bytes).map_err(|e| {
            TreeError::Unsupported(format!(
                "{path}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })
    }

    /// Reads a file's bytes (at most [`MAX_FILE_BYTES`]).
    pub fn read_bytes(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        let rel = checked_path(path)?;
        let mut file = self.dir.open(rel).map_err(|e| io_error(path, &e))?;
        let meta = file.metadata().map_err(|e| io_error(path, &e))?;
        if meta.is_dir() {
            return Err(TreeError::InvalidArgument(format!(
                "{path}: is a directory"
            )));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(TreeError::LimitExceeded(format!(
                "{path}: {} bytes is over the {} MiB file limit",
                meta.len(),
                MAX_FILE_BYTES >> 20
            )));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error(path, &e))?;
        Ok(bytes)
    }

    /// Lines `start..=end` (1-based) of a text file; a range past the end is cut short.
    pub fn read_lines(&self, path: &str, start: u32, end: u32) -> Result<Vec<String>, TreeError> {
        if start == 0 || end < start {
            return Err(TreeError::InvalidArgument(format!(
                "{path}: line range {start}..={end} is empty or starts at 0 (lines count from 1)"
            )));
        }
        let text = self.read(path)?;
        Ok(text
            .lines()
            .skip(start as usize - 1)
            .take((end - start) as usize + 1)
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect())
    }

    pub fn stat(&self, path: &str) -> Result<Entry, TreeError> {
        let rel = checked_path(path)?;
        let meta = self
            .dir
            .symlink_metadata(rel)
            .map_err(|e| io_error(path, &e))?;
        Ok(Entry {
            path: display_path(rel),
            kind: kind_of(&meta.file_type()),
            size: meta.len(),
        })
    }

    /// Entries of a directory (`""` is the root), sorted by path.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, TreeError> {
        let rel = checked_path(path)?;
        let entries = self.dir.read_dir(rel).map_err(|e| io_error(path, &e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(path, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry.file_type().map_err(|e| io_error(path, &e))?;
            let size = if file_type.is_file() {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            };
            out.push(Entry {
                path: display_path(&rel.join(&name)),
                kind: kind_of(&file_type),
                size,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    pub(crate) fn dir(&self) -> &Dir {
        &self.dir
    }
}

fn kind_of(t: &cap_std::fs::FileType) -> EntryKind {
    if t.is_symlink() {
        EntryKind::Symlink
    } else if t.is_dir() {
        EntryKind::Directory
    } else if t.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

/// `a/b/c` with forward slashes; `""` for the root.
fn display_path(rel: &Path) -> String {
    let parts: Vec<_> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// A directory as a skill named it and where it really is, once symlinks are resolved: the
/// entries found under it are judged by the deny rules at both places.
#[derive(Clone, Debug)]
pub struct Rebase {
    shown: String,
    real: String,
}

impl Rebase {
    /// `None` when `dir` is not reached through a symlink.
    pub fn of(tree: &SourceTree, dir: &str) -> Option<Self> {
        let real = tree.resolved(dir)?;
        let shown = display_path(checked_path(dir).ok()?);
        Some(Rebase { shown, real })
    }

    /// Where `path`, found under the directory, really is.
    pub fn real(&self, path: &str) -> Option<String> {
        let suffix = if self.shown.is_empty() {
            path
        } else {
            path.strip_prefix(self.shown.as_str())?.strip_prefix('/')?
        };
        Some(if self.real.is_empty() {
            suffix.to_string()
        } else {
            format!("{}/{suffix}", self.real)
        })
    }
}

/// What a walk of `tree` under `dir` (a search, a syntax query) may visit: the paths `deny`
/// lets through, judged as found and, under a symlinked `dir`, where they really are.
pub fn walk_filter<'a>(
    tree: &SourceTree,
    dir: &str,
    deny: &'a joule_policy::DenyRules,
) -> impl Fn(&str) -> bool + 'a {
    let rebase = Rebase::of(tree, dir);
    move |path: &str| {
        let real = rebase.as_ref().and_then(|r| r.real(path));
        deny.check(path, real.as_deref()).is_ok()
    }
}

/// The longest path a skill may give, in bytes and in components.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_PATH_COMPONENTS: usize = 256;

/// The lexical check every skill-supplied path passes before `cap-std` sees it.
pub fn checked_path(path: &str) -> Result<&Path, TreeError> {
    if path.len() > MAX_PATH_BYTES || path.split('/').count() > MAX_PATH_COMPONENTS {
        return Err(TreeError::InvalidArgument(format!(
            "a path of {} bytes: paths are at most {MAX_PATH_BYTES} bytes and \
             {MAX_PATH_COMPONENTS} components",
            path.len()
        )));
    }
    if path.contains('\0') {
        return Err(TreeError::InvalidArgument(format!(
            "{path:?}: paths may not contain NUL bytes"
        )));
    }
    if path.contains('\\') {
        return Err(TreeError::InvalidArgument(format!(
            "{path}: use `/` to separate path components"
        )));
    }
    let p = Path::new(path);
    for component in p.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err(TreeError::Denied(format!(
                    "{path}: absolute paths are not allowed; paths are relative to the tree root"
                )));
            }
            Component::ParentDir => {
                return Err(TreeError::Denied(format!(
                    "{path}: `..` is not allowed; paths stay inside the tree root"
                )));
            }
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    if path.is_empty() {
        Ok(Path::new("."))
    } else {
        Ok(p)
    }
}

fn io_error(path: &str, e: &std::io::Error) -> TreeError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => TreeError::NotFound(format!("{path}: no such file or directory")),
        // cap-std reports an escape (through a symlink, typically) as PermissionDenied.
        ErrorKind::PermissionDenied => TreeError::Denied(format!(
            "{path}: leads outside the tree root (through a symlink) or is not readable"
        )),
        ErrorKind::NotADirectory => TreeError::InvalidArgument(format!("{path}: not a directory")),
        ErrorKind::IsADirectory => TreeError::InvalidArgument(format!("{path}: is a directory")),
        _ => TreeError::Io(format!("{path}: {e}")),
    }
}

/// A tree in a temporary directory holding `files` (path, text), for tests.
#[cfg(test)]
pub(crate) fn tree_with(files: &[(&str, &str)]) -> (tempfile::TempDir, SourceTree) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let tree = SourceTree::open("t", dir.path()).unwrap();
    (dir, tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, SourceTree) {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
        let root = outside.path().join("root");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}\nfn two() {}\n").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak"))
                .unwrap();
            std::os::unix::fs::symlink("src/main.rs", root.join("inside")).unwrap();
        }
        let tree = SourceTree::open("example", &root).unwrap();
        (outside, tree)
    }

    #[test]
    fn reads_inside_the_root() {
        let (_guard, tree) = tree();
        assert_eq!(
            tree.read("src/main.rs").unwrap(),
            "fn main() {}\nfn two() {}\n"
        );
        assert_eq!(tree.read("./src/main.rs").unwrap().len(), 25);
        assert_eq!(
            tree.read_lines("src/main.rs", 2, 9).unwrap(),
            ["fn two() {}"]
        );
        assert_eq!(
            tree.list("")
                .unwrap()
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>(),
            ["inside", "leak", "src"]
        );
    }

    #[test]
    fn refuses_to_leave_the_root() {
        let (_guard, tree) = tree();
        for path in ["../secret.txt", "src/../../secret.txt", "/etc/passwd"] {
            let err = tree.read(path).unwrap_err();
            assert!(matches!(err, TreeError::Denied(_)), "{path}: {err:?}");
        }
        #[cfg(unix)]
        {
            let err = tree.read("leak").unwrap_err();
            assert!(matches!(err, TreeError::Denied(_)), "{err:?}");
            assert_eq!(tree.read("inside").unwrap().len(), 25);
        }
        assert!(matches!(
            tree.read("nope.rs").unwrap_err(),
            TreeError::NotFound(_)
        ));
        assert!(matches!(
            tree.read("a\\b").unwrap_err(),
            TreeError::InvalidArgument(_)
        ));
    }
}
