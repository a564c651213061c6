//! Indexes a source tree's function definitions the way `tree.definitions` does on its first
//! call, and says what it cost: files, bytes, definitions, wall time; then the time of a lookup.
//! The recipe behind the figures in docs/offense.md (`make bench-symbols`).
//!
//! ```sh
//! cargo run --release -p joule-tests --example symbols -- /usr/share/go-1.19 [--cache DIR] [NAME ...]
//! ```
//!
//! With `--cache DIR` the files' definitions are kept there (as `joule run` keeps them beside
//! its compiled components): a second run parses only the files that changed. With `--check`,
//! every file is also parsed whole, and the run fails unless each gives the definitions the
//! index found (Go's bodies are blanked before indexing: this is the proof on a real tree).

use std::time::Instant;

use joule::source::syntax::Language;
use joule::source::{SourceTree, symbols};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args
        .next()
        .ok_or("usage: symbols TREE [--cache DIR] [--check] [NAME ...]")?;
    let mut names: Vec<String> = Vec::new();
    let mut cache = None;
    let mut check = false;
    while let Some(arg) = args.next() {
        if arg == "--check" {
            check = true;
        } else if arg == "--cache" {
            cache = Some(args.next().ok_or("--cache DIR")?);
        } else {
            names.push(arg);
        }
    }
    let mut tree = SourceTree::open("tree", std::path::Path::new(&root))?;
    if let Some(dir) = &cache {
        tree = tree.with_symbol_cache(std::path::Path::new(dir));
    }
    let index = tree.symbols();
    println!(
        "{root}: {} files ({} from the cache), {:.1} MB, {} definitions indexed in {:.2} s on {} threads{}",
        index.files,
        index.cached,
        index.bytes as f64 / 1e6,
        index.len(),
        index.took.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        index
            .partial
            .as_ref()
            .map(|why| format!(" (partial: {why})"))
            .unwrap_or_default()
    );
    let names = if names.is_empty() {
        vec![
            "Run".to_string(),
            "parse_line".to_string(),
            "main".to_string(),
        ]
    } else {
        names
    };
    let all = |_: &str| true;
    if check {
        check_against_whole_parses(std::path::Path::new(&root))?;
    }
    for name in &names {
        const ROUNDS: u32 = 10_000;
        let started = Instant::now();
        let mut found = 0;
        for _ in 0..ROUNDS {
            found = index.lookup(name, 10, &all).len();
        }
        println!(
            "lookup {name:?}: {found} definitions (at most 10) in {:.2} us",
            started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
        );
    }
    Ok(())
}

/// Every file under `root` (hidden directories skipped) indexed as the index does and parsed
/// whole: an error naming the first file where they differ. Files that do not parse cleanly
/// (test data of parsers, templates) are counted and left out.
fn check_against_whole_parses(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut dirs = vec![root.to_path_buf()];
    let (mut files, mut definitions, mut invalid) = (0usize, 0usize, 0usize);
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            // Symbolic links are not followed, as the tree's walk does not follow them.
            if !kind.is_file() || Language::of_path(&path.to_string_lossy()).is_none() {
                continue;
            }
            let name = path.to_string_lossy().to_string();
            let bytes = std::fs::read(&path)?;
            let indexed = symbols::file_definitions(&name, &bytes, true).unwrap_or_default();
            match symbols::file_definitions(&name, &bytes, false) {
                None => invalid += 1,
                Some(whole) if whole != indexed => {
                    return Err(format!(
                        "{name}: the index's definitions differ from a whole parse"
                    )
                    .into());
                }
                Some(_) => {
                    files += 1;
                    definitions += indexed.len();
                }
            }
        }
    }
    println!(
        "check: {files} files, {definitions} definitions, the same as whole parses; \
         {invalid} files with syntax errors left out"
    );
    Ok(())
}
