//! The workload: sort a listing of 200,000 entries (a fresh copy each iteration).

fn main() -> std::process::ExitCode {
    let listing = corpus_sortkeys::listing(200_000);
    joule_capture::bench_main(5, || {
        let mut entries = listing.clone();
        corpus_sortkeys::sort_listing(&mut entries);
        std::hint::black_box(entries);
    })
}
