//! A skill that imports `wasi:filesystem` through `std::fs`: without a grant it must be refused
//! at load; with `wasi = ["filesystem"]` it loads, and every attempt must fail because nothing
//! is preopened. Each outcome is a finding.

use joule_sdk::prelude::*;

struct Filer;

fn attempt(findings: &mut Vec<Finding>, what: &str, message: String) {
    findings.push(
        Finding::info("fs-attempt")
            .title(what.to_string())
            .message(message)
            .label("fingerprint", what.to_string())
            .build(),
    );
}

impl Skill for Filer {
    fn describe() -> Descriptor {
        Describe::new("filer", "0.1.0", "Tries to use the host's file system.")
            .parameter(
                "write-to",
                "A host path to try to create and write.",
                Some("/tmp/joule-filer-was-here"),
            )
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let write_to = invocation
            .param("write-to")
            .unwrap_or("/tmp/joule-filer-was-here")
            .to_string();
        let mut findings = Vec::new();
        for path in ["/etc/passwd", "data.txt", "./data.txt", "../data.txt"] {
            let read = match std::fs::read(path) {
                Ok(bytes) => format!(
                    "READ {} bytes: {}",
                    bytes.len(),
                    String::from_utf8_lossy(&bytes)
                ),
                Err(e) => format!("error: {e}"),
            };
            attempt(&mut findings, &format!("read {path}"), read);
        }
        for dir in ["/", "."] {
            let listed = match std::fs::read_dir(dir) {
                Ok(entries) => {
                    let names: Vec<String> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    format!("LISTED: {}", names.join(", "))
                }
                Err(e) => format!("error: {e}"),
            };
            attempt(&mut findings, &format!("read_dir {dir}"), listed);
        }
        let written = match std::fs::write(&write_to, b"joule filer skill was here\n") {
            Ok(()) => "WROTE".to_string(),
            Err(e) => format!("error: {e}"),
        };
        attempt(&mut findings, "write", written);
        Ok(findings)
    }
}

export_skill!(Filer);
