//! The workload: Joule's profile library reading real profiles of several formats and
//! answering `top` on each, as `joule profile top` does.

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../fixtures");
    let files = [
        "pprof/large.cpu.pb.gz",
        "perf/example-perf-stacks.txt.gz",
        "folded/perf-vertx-stacks-01-collapsed-all.txt",
    ]
    .map(|f| fixtures.join(f));
    joule_capture::bench_main(20, || {
        for file in &files {
            let profile = joule_profile::ingest::load(file).expect("a fixture profile");
            let t = profile.default_sample_type;
            std::hint::black_box(profile.top(t, joule_profile::model::Order::BySelf, 10, |_| true));
        }
    })
}
