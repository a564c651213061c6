//! A skill that prints 8 MiB to stdout and to stderr: the host captures a bounded amount, and
//! the run record and report stay small.

use std::io::Write;

use joule_sdk::prelude::*;

struct Shouter;

impl Skill for Shouter {
    fn describe() -> Descriptor {
        Describe::new(
            "shouter",
            "0.1.0",
            "Prints far more than the host captures.",
        )
        .parameter(
            "mib",
            "How much to print to each stream, in MiB.",
            Some("8"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let mib: usize = invocation.param_or("mib", 8)?;
        let line = format!("{}\n", "S".repeat(1023));
        let (mut out_written, mut err_written) = (0usize, 0usize);
        let mut stdout = std::io::stdout();
        let mut stderr = std::io::stderr();
        for _ in 0..(mib << 10) {
            if stdout.write_all(line.as_bytes()).is_ok() {
                out_written += line.len();
            }
            if stderr.write_all(line.as_bytes()).is_ok() {
                err_written += line.len();
            }
        }
        let _ = stdout.flush();
        Ok(vec![
            Finding::info("shouted")
                .title(format!(
                    "wrote {out_written} bytes to stdout and {err_written} to stderr"
                ))
                .build(),
        ])
    }
}

export_skill!(Shouter);
