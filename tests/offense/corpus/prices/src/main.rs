//! The workload: price 4 million order lines.

fn main() -> std::process::ExitCode {
    let lines = corpus_prices::lines(4_000_000);
    joule_capture::bench_main(10, || {
        std::hint::black_box(corpus_prices::gross_prices(&lines));
    })
}
