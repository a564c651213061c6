//! The workload: the id list of a batch of 20,000 ids.

fn main() -> std::process::ExitCode {
    let ids = corpus_joinids::ids(20_000);
    joule_capture::bench_main(3, || {
        std::hint::black_box(corpus_joinids::id_list(&ids));
    })
}
