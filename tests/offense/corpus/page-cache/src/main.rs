//! The workload: a worker thread per core (as servers size their pools) serves 200,000 page
//! requests, from 20,000 pages, through one cache of 256 pages.

fn main() -> std::process::ExitCode {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2)) as u64;
    joule_capture::bench_main(3, || {
        let cache = corpus_page_cache::PageCache::new(256);
        std::hint::black_box(corpus_page_cache::serve(&cache, workers, 200_000, 20_000));
    })
}
