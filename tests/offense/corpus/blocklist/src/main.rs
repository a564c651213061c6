//! The workload: 200,000 events from 40,000 users filtered against 2,000 blocked users.

fn main() -> std::process::ExitCode {
    let events = corpus_blocklist::events(200_000, 40_000);
    let blocked = corpus_blocklist::block_list(40_000, 20);
    joule_capture::bench_main(5, || {
        std::hint::black_box(corpus_blocklist::allowed(&events, &blocked));
    })
}
