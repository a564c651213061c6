//! The workload: validate 20,000 submitted addresses.

fn main() -> std::process::ExitCode {
    let submissions = corpus_emails::submissions(20_000);
    joule_capture::bench_main(2, || {
        std::hint::black_box(corpus_emails::count_valid(&submissions));
    })
}
