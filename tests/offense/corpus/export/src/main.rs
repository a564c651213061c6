//! The workload: export 200,000 records to a file in the temporary directory.

fn main() -> std::process::ExitCode {
    let records = corpus_export::records(200_000);
    let path = std::env::temp_dir().join(format!("corpus-export-{}.csv", std::process::id()));
    let code = joule_capture::bench_main(3, || {
        corpus_export::export(&records, &path).expect("the export is written");
    });
    let _ = std::fs::remove_file(&path);
    code
}
