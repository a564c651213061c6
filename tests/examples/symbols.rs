//! Indexes a source tree's function definitions the way `tree.definitions` does on its first
//! call, and says what it cost: files, bytes, definitions, wall time; then the time of a lookup.
//! The recipe behind the figures in docs/offense.md (`make bench-symbols`).
//!
//! ```sh
//! cargo run --release -p joule-tests --example symbols -- /usr/share/go-1.19 [--cache DIR] [NAME ...]
//! ```
//!
//! With `--cache DIR` the files' definitions are kept there (as `joule run` keeps them beside
//! its compiled components): a second run parses only the files that changed.

use std::time::Instant;

use joule::source::SourceTree;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args
        .next()
        .ok_or("usage: symbols TREE [--cache DIR] [NAME ...]")?;
    let mut names: Vec<String> = Vec::new();
    let mut cache = None;
    while let Some(arg) = args.next() {
        if arg == "--cache" {
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
