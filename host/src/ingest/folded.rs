//! Folded stacks: one line per stack, frames root first separated by `;`, then a space and a
//! count (`main;parse;Regex::new 42`). Written by Brendan Gregg's `stackcollapse-*` scripts,
//! inferno's `collapse-*`, and pprof's `-raw`/`-folded` tools.
//!
//! A line that does not parse becomes a warning naming its line number; the others are kept.

use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, FrameId, Profile, ProfileBuilder};

pub struct Folded;

impl Reader for Folded {
    fn format(&self) -> Format {
        Format::Folded
    }

    fn sniff(&self, head: &[u8]) -> bool {
        // Text (no NUL bytes) in which one of the first lines is a stack ending in a count;
        // comments and bad lines before it are reported when the file is read.
        let head = &head[..head.len().min(16 * 1024)];
        if head.contains(&0) {
            return false;
        }
        String::from_utf8_lossy(head)
            .lines()
            .map(|l| l.trim_end_matches('\r').trim_end())
            .filter(|l| !l.is_empty())
            .take(50)
            .any(|l| parse_line(l).is_some())
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        let text = std::str::from_utf8(data).map_err(|e| {
            let line = data[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Problem::at_line(
                line,
                format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
            )
        })?;
        let mut builder = ProfileBuilder::new(Format::Folded);
        builder.set_sample_types(&[("samples", "count")], 0);
        let mut frames: Vec<FrameId> = Vec::new();
        let mut bad_lines = 0usize;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r').trim_end();
            if line.is_empty() {
                continue;
            }
            let Some((stack, count)) = parse_line(line) else {
                bad_lines += 1;
                if bad_lines <= 20 {
                    builder.warn(format!(
                        "line {}: not `frame;frame;... count`, skipped",
                        index + 1
                    ));
                }
                continue;
            };
            frames.clear();
            for name in stack.split(';').rev() {
                let function = builder.function(name, name, "", 0);
                frames.push(builder.frame(function, 0));
            }
            builder.add_sample(&frames, &[count]);
        }
        if bad_lines > 20 {
            builder.warn(format!("{} more bad lines skipped", bad_lines - 20));
        }
        if !builder.has_samples() {
            return Err(Problem::whole(format!(
                "no folded stack lines found ({bad_lines} lines did not parse)"
            )));
        }
        Ok(builder.finish())
    }
}

/// `stack count` -> (stack, count). The count is the last space-separated token.
fn parse_line(line: &str) -> Option<(&str, i64)> {
    let (stack, count) = line.rsplit_once(' ')?;
    let count: i64 = count.parse().ok()?;
    let stack = stack.trim_end();
    (!stack.is_empty() && count >= 0).then_some((stack, count))
}
