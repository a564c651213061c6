//! The workload: count the words of a 2-million-word text.

fn main() -> std::process::ExitCode {
    let text = corpus_wordcount::text(2_000_000, 5_000);
    joule_capture::bench_main(3, || {
        std::hint::black_box(corpus_wordcount::count_words(&text));
    })
}
