//! The workload: the 100 most active of 5,000 users in 4 million events.

fn main() -> std::process::ExitCode {
    let events = corpus_heavy_hitters::events(4_000_000, 5_000);
    joule_capture::bench_main(5, || {
        std::hint::black_box(corpus_heavy_hitters::top_users(&events, 100));
    })
}
