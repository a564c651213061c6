//! Folded stacks: one line per stack, frames root first separated by `;`, then a space and a
//! count (`main;parse;Regex::new 42`). Written by Brendan Gregg's `stackcollapse-*` scripts,
//! inferno's `collapse-*`, and pprof's `-raw`/`-folded` tools.
//!
//! Also the two-column differential form (`stack base new`, as `difffolded.pl` writes it), read
//! as two sample types `base` and `new`; UTF-8 or UTF-16 text (a byte-order mark says which);
//! LF or CRLF line ends. A line that does not parse becomes a warning naming its line number;
//! the others are kept.

use super::{Problem, ReadOptions, Reader};
use crate::model::{Format, FrameId, Profile, ProfileBuilder};

pub struct Folded;

impl Reader for Folded {
    fn format(&self) -> Format {
        Format::Folded
    }

    fn sniff(&self, head: &[u8]) -> bool {
        // Text (no NUL bytes once decoded) in which most of the first lines that are not `#`
        // comments are stacks ending in a count; the bad ones are reported when the file is
        // read. One line that happens to end in a number is not enough: a TOML file's
        // `opt-level = 3`, a legacy pprof text profile's `goroutine profile: total 4` or
        // `# NumGC = 4`.
        let Ok(text) = decode_text(head) else {
            return false;
        };
        if text.contains('\0') {
            return false;
        }
        // A first stack longer than the head has no count in it yet: frames are enough.
        if !text.contains('\n') {
            return text.contains(';');
        }
        let (mut lines, mut stacks) = (0usize, 0usize);
        for line in text
            .lines()
            .map(|l| l.trim_end_matches('\r').trim_end())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .take(50)
        {
            lines += 1;
            stacks += usize::from(parse_line(line).is_some());
        }
        stacks * 2 > lines
    }

    fn read(&self, data: &[u8], _options: &ReadOptions) -> Result<Profile, Problem> {
        let text = decode_text(data)?;
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').trim_end())
            .collect();
        let differential = is_differential(&lines);
        let mut builder = ProfileBuilder::new(Format::Folded);
        if differential {
            builder.set_sample_types(&[("base", "count"), ("new", "count")], 1);
        } else {
            builder.set_sample_types(&[("samples", "count")], 0);
        }
        let mut frames: Vec<FrameId> = Vec::new();
        let mut bad_lines = 0usize;
        for (index, &line) in lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            let parsed = if differential {
                parse_diff_line(line).map(|(stack, base, new)| (stack, [base, new], 2))
            } else {
                parse_line(line).map(|(stack, count)| (stack, [count, 0], 1))
            };
            let Some((stack, values, n)) = parsed else {
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
            builder.add_sample(&frames, &values[..n]);
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

/// The text of `data`: UTF-16 (LE or BE) when it starts with that byte-order mark, else UTF-8
/// (a UTF-8 byte-order mark is dropped).
fn decode_text(data: &[u8]) -> Result<std::borrow::Cow<'_, str>, Problem> {
    let utf16 = |be: bool| -> String {
        let units = data[2..].chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    match data {
        [0xff, 0xfe, ..] => Ok(utf16(false).into()),
        [0xfe, 0xff, ..] => Ok(utf16(true).into()),
        _ => {
            let data = data.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(data);
            match std::str::from_utf8(data) {
                Ok(text) => Ok(text.into()),
                // A head cut inside a character is still text.
                Err(e) if e.error_len().is_none() => {
                    Ok(String::from_utf8_lossy(&data[..e.valid_up_to()])
                        .into_owned()
                        .into())
                }
                Err(e) => {
                    let line = data[..e.valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1;
                    Err(Problem::at_line(
                        line,
                        format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
                    ))
                }
            }
        }
    }
}

/// True when the stack lines carry two counts (`stack base new`): all of the first 100
/// parseable lines must, so a frame name ending in a number is not mistaken for a count.
fn is_differential(lines: &[&str]) -> bool {
    let sample: Vec<&&str> = lines
        .iter()
        .filter(|l| !l.is_empty() && parse_line(l).is_some())
        .take(100)
        .collect();
    !sample.is_empty() && sample.iter().all(|l| parse_diff_line(l).is_some())
}

/// `stack base new` -> (stack, base, new).
fn parse_diff_line(line: &str) -> Option<(&str, i64, i64)> {
    let (rest, new) = parse_line(line)?;
    let (stack, base) = parse_line(rest)?;
    Some((stack, base, new))
}

/// `stack count` -> (stack, count). The count is the last space-separated token.
fn parse_line(line: &str) -> Option<(&str, i64)> {
    let (stack, count) = line.rsplit_once(' ')?;
    let count: i64 = count.parse().ok()?;
    // The stack is kept as written: a frame may be a lone space (perf's `rawfunc` for a
    // symbol-less line), and `a;b; 3` must round-trip.
    (!stack.is_empty() && count >= 0).then_some((stack, count))
}
