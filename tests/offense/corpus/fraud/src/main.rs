//! The workload: the fraud check for 2,000 accounts of 2,000 orders each.

fn main() -> std::process::ExitCode {
    let accounts: Vec<Vec<corpus_fraud::Order>> = (1..=2000)
        .map(|seed| corpus_fraud::orders(2000, seed))
        .collect();
    joule_capture::bench_main(20, || {
        for orders in &accounts {
            std::hint::black_box(corpus_fraud::any_suspicious(orders));
        }
    })
}
