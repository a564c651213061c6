//! Metrics as CSV with a header: `timestamp`, `series` and `value` columns in any order (names
//! compared without case), every other column a label (as text, whatever it holds).
//!
//! The header is read first; the rest is cut into blocks at line ends outside quotes and each
//! block is parsed on its own (`stream.rs`). A row's series key is looked up from its raw cells
//! before anything is parsed, so rows of another shard cost a hash lookup and no float parsing.

use std::io::BufRead;

use super::stream::{BlockBuilder, Known, Origin, TextBlocks, threads};
use super::{LoadOptions, MetricSet, MetricsError, parse_timestamp, parse_value};

/// The columns of the header: where the required ones are, and the labels' names.
struct Header {
    names: Vec<String>,
    timestamp: usize,
    series: usize,
    value: usize,
    /// The other columns, in order.
    labels: Vec<usize>,
    /// The same, in the order of their names (the order of a series' title).
    sorted_labels: Vec<usize>,
}

impl Header {
    fn parse(file: &str, record: &::csv::ByteRecord, line: u64) -> Result<Self, MetricsError> {
        let error = |place: String, message: String| MetricsError {
            file: file.to_string(),
            place: Some(place),
            message,
        };
        let mut names = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|_| {
                error(
                    format!("line {line}, column {}", i + 1),
                    "the column name is not UTF-8".to_string(),
                )
            })?;
            if name.is_empty() {
                return Err(error(
                    format!("line {line}, column {}", i + 1),
                    "empty column name in the header".to_string(),
                ));
            }
            if let Some(j) = names
                .iter()
                .position(|n: &String| n.eq_ignore_ascii_case(name))
            {
                return Err(error(
                    format!("line {line}, field {name}"),
                    format!(
                        "column `{name}` appears twice in the header (columns {} and {})",
                        j + 1,
                        i + 1
                    ),
                ));
            }
            names.push(name.to_string());
        }
        let find = |wanted: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| {
                    error(
                        format!("line {line}"),
                        format!(
                            "the header has no `{wanted}` column (it has: {}); `timestamp`, `series` and `value` are required",
                            names.join(", ")
                        ),
                    )
                })
        };
        let (timestamp, series, value) = (find("timestamp")?, find("series")?, find("value")?);
        let labels: Vec<usize> = (0..names.len())
            .filter(|&i| i != timestamp && i != series && i != value)
            .collect();
        let mut sorted_labels = labels.clone();
        sorted_labels.sort_by(|&a, &b| names[a].cmp(&names[b]));
        Ok(Header {
            timestamp,
            series,
            value,
            labels,
            sorted_labels,
            names,
        })
    }
}

/// Line numbers from the CSV reader's byte offsets. (Its own line count comes out one short
/// after CRLF line ends, and a record's offset may point at the `\n` ending the line before.)
struct Lines<'d> {
    data: &'d [u8],
    /// A byte offset and the line it is on.
    at: usize,
    line: u64,
}

impl<'d> Lines<'d> {
    fn new(data: &'d [u8]) -> Self {
        Lines {
            data,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record that the reader places at `byte`: the first byte after it that
    /// ends no line. Offsets only grow, so counting is linear in the file.
    fn of(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).min(self.data.len());
        while start < self.data.len() && matches!(self.data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.at {
            (self.at, self.line) = (0, 1);
        }
        let between = &self.data[self.at..start];
        // Most calls span one short line, where a plain loop beats setting up a vector count.
        self.line += if between.len() < 128 {
            between.iter().filter(|&&b| b == b'\n').count() as u64
        } else {
            memchr::memchr_iter(b'\n', between).count() as u64
        };
        self.at = start;
        self.line
    }

    fn of_record(&mut self, record: &::csv::ByteRecord) -> u64 {
        record.position().map_or(0, |p| self.of(p.byte()))
    }
}

/// Reads CSV metrics from `input` (already inflated, its byte-order mark gone).
pub(super) fn read(
    name: &str,
    input: impl BufRead,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    let mut blocks = TextBlocks::new(input, options.block_bytes);
    blocks.quoted = true;
    let fail = |line: u64, message: String| MetricsError {
        file: name.to_string(),
        place: Some(format!("line {line}")),
        message,
    };
    let Some(first) = blocks.next() else {
        return Err(match blocks.failed.take() {
            Some(e) => super::unreadable(name, &e),
            None => fail(1, "no header".to_string()),
        });
    };
    // The header: the first record of the first block (its names trimmed).
    let mut reader = csv_reader(&first[..], ::csv::Trim::All);
    let mut record = ::csv::ByteRecord::new();
    let mut lines = Lines::new(&first);
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(fail(1, "no header".to_string())),
        Err(e) => {
            let line = e.position().map_or(1, |p| lines.of(p.byte()));
            return Err(fail(line, format!("unreadable CSV ({e})")));
        }
    }
    let header_line = lines.of_record(&record);
    // A header cut short by a broken stream is the stream's fault.
    let header =
        Header::parse(name, &record, header_line).map_err(|e| match blocks.failed.take() {
            Some(failed) if blocks_ended(&first) => super::unreadable(name, &failed),
            _ => e,
        })?;
    let body_start = (reader.position().byte() as usize).min(first.len());
    let first_body_line = 1 + memchr::memchr_iter(b'\n', &first[..body_start]).count() as u64;
    let first = first[body_start..].to_vec();
    let shard = options.shard;
    let merge = blocks.parse_all(
        name,
        first_body_line,
        Some(first),
        threads(options.threads),
        |block, known| parse_block(&header, block, shard, known),
    )?;
    if merge.rows() == 0 {
        return Err(fail(
            header_line,
            "the header is not followed by any row".to_string(),
        ));
    }
    merge.finish()
}

/// Whether the first block is all there was (no line end after the header).
fn blocks_ended(first: &[u8]) -> bool {
    memchr::memchr(b'\n', first).is_none()
}

/// A reader of records in `data`. Rows are read untrimmed (trimming every field took 6% of
/// the time): [`row`] trims the cells it uses.
fn csv_reader(data: &[u8], trim: ::csv::Trim) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(trim)
        .from_reader(data)
}

/// The rows of one block (whole records; line 1 is the block's first line).
fn parse_block(
    header: &Header,
    data: &[u8],
    shard: Option<super::Shard>,
    known: &Known,
) -> super::stream::Block {
    let mut block = BlockBuilder::new(Origin::Lines, shard, known);
    block.reserve(data.len() / 32);
    let mut lines = Lines::new(data);
    let mut reader = csv_reader(data, ::csv::Trim::None);
    let mut record = ::csv::ByteRecord::new();
    let mut key = Vec::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // Reading bytes from memory fails only on a malformed record; the rest of the
                // block cannot be trusted to line up.
                let at = e.position().map_or(1, |p| lines.of(p.byte())) - 1;
                block.skip(
                    at,
                    None,
                    format!("unreadable CSV ({e}); the rest of its block is skipped"),
                );
                break;
            }
        }
        let at = lines.of_record(&record).saturating_sub(1);
        row(&mut block, header, &record, at, &mut key);
    }
    let span = memchr::memchr_iter(b'\n', data).count() as u64;
    block.finish(span)
}

/// Reads one row into the block, or skips it with a warning.
fn row(
    block: &mut BlockBuilder,
    header: &Header,
    record: &::csv::ByteRecord,
    at: u64,
    key: &mut Vec<u8>,
) {
    if record.len() != header.names.len() {
        block.skip(
            at,
            None,
            format!(
                "{} fields where the header has {}",
                record.len(),
                header.names.len()
            ),
        );
        return;
    }
    let cell = |i: usize| record.get(i).unwrap_or_default().trim_ascii();
    let field = |i: usize| Some(header.names[i].as_str());
    // Another shard's row goes first, by its key's hash (a row with an empty name is
    // reported by every shard, as by one process; one that is not UTF-8 by the shard its
    // bytes hash to).
    if !cell(header.series).is_empty()
        && block.foreign(|| {
            let labels = header
                .sorted_labels
                .iter()
                .map(|&i| (header.names[i].as_bytes(), cell(i)));
            super::shard::key_hash(cell(header.series), labels)
        })
    {
        return block.other_shard();
    }
    // The series key as written: the name, then each label cell.
    key.clear();
    for i in std::iter::once(header.series).chain(header.labels.iter().copied()) {
        super::stream::key_part(key, cell(i));
    }
    let id = match block.lookup(key) {
        Some(Some(id)) => id,
        Some(None) => return block.other_shard(),
        None => {
            let series = match std::str::from_utf8(cell(header.series)) {
                Ok("") => return block.skip(at, field(header.series), "empty series name".into()),
                Ok(s) => s.to_string(),
                Err(_) => return block.skip(at, field(header.series), "not UTF-8".into()),
            };
            let mut labels = Vec::with_capacity(header.labels.len());
            for &i in &header.labels {
                match std::str::from_utf8(cell(i)) {
                    Ok(v) => labels.push((header.names[i].clone(), v.to_string())),
                    Err(_) => return block.skip(at, field(i), "not UTF-8".into()),
                }
            }
            match block.add(key, series, labels) {
                Some(id) => id,
                None => return block.other_shard(),
            }
        }
    };
    let Ok(stamp) = std::str::from_utf8(cell(header.timestamp)) else {
        return block.skip(at, field(header.timestamp), "not UTF-8".into());
    };
    if stamp.is_empty() {
        return block.skip(at, field(header.timestamp), "empty timestamp".into());
    }
    let Some((format, t)) = parse_timestamp(stamp) else {
        return block.skip(at, field(header.timestamp), super::timestamp_problem(stamp));
    };
    let Ok(value) = std::str::from_utf8(cell(header.value)) else {
        return block.skip(at, field(header.value), "not UTF-8".into());
    };
    match parse_value(value) {
        Ok(v) => block.push(id, t, v, at, format),
        Err(problem) => block.skip(at, field(header.value), problem),
    }
}
