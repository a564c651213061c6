//! A skill that logs far more than any budget: by default 65,536 lines of 16 KiB (1 GiB), or
//! as many empty lines as asked (`line-bytes = 0`). The host must keep only its log budget,
//! count the rest as dropped, and stay within bounded memory while doing so.

use joule_sdk::prelude::*;

struct Logger;

impl Skill for Logger {
    fn describe() -> Descriptor {
        Describe::new("logger", "0.1.0", "Logs far more than any budget.")
            .uses("log")
            .parameter("lines", "How many lines to log.", Some("65536"))
            .parameter(
                "line-bytes",
                "The size of each line, in bytes.",
                Some("16384"),
            )
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let lines: u64 = invocation.param_or("lines", 65_536)?;
        let line_bytes: usize = invocation.param_or("line-bytes", 16_384)?;
        let line = "L".repeat(line_bytes);
        for _ in 0..lines {
            log::info(&line);
        }
        Ok(vec![
            Finding::info("logged")
                .title(format!("logged {lines} lines of {line_bytes} bytes"))
                .evidence("bytes", (lines * line_bytes as u64) as f64, "bytes")
                .build(),
        ])
    }
}

export_skill!(Logger);
