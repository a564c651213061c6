//! Metrics as CSV with a header: `timestamp`, `series` and `value` columns in any order (names
//! compared without case), every other column a label.

use super::{Collector, MetricSet, MetricsError, Point, parse_timestamp, parse_value};

/// The columns of the header: where the required ones are, and the labels' names.
struct Header {
    names: Vec<String>,
    timestamp: usize,
    series: usize,
    value: usize,
}

impl Header {
    fn parse(
        collector: &Collector<'_>,
        record: &::csv::ByteRecord,
        line: u64,
    ) -> Result<Self, MetricsError> {
        let mut names = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|_| {
                collector.error(
                    format!("line {line}, column {}", i + 1),
                    "the column name is not UTF-8",
                )
            })?;
            if name.is_empty() {
                return Err(collector.error(
                    format!("line {line}, column {}", i + 1),
                    "empty column name in the header",
                ));
            }
            if let Some(j) = names
                .iter()
                .position(|n: &String| n.eq_ignore_ascii_case(name))
            {
                return Err(collector.error(
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
                    collector.error(
                        format!("line {line}"),
                        format!(
                            "the header has no `{wanted}` column (it has: {}); `timestamp`, `series` and `value` are required",
                            names.join(", ")
                        ),
                    )
                })
        };
        Ok(Header {
            timestamp: find("timestamp")?,
            series: find("series")?,
            value: find("value")?,
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
        self.line += memchr::memchr_iter(b'\n', &self.data[self.at..start]).count() as u64;
        self.at = start;
        self.line
    }

    fn of_record(&mut self, record: &::csv::ByteRecord) -> u64 {
        record.position().map_or(0, |p| self.of(p.byte()))
    }
}

/// Reads CSV metrics (`data` already inflated).
pub(super) fn read(name: &str, data: &[u8]) -> Result<MetricSet, MetricsError> {
    let mut collector = Collector::new(name);
    let mut lines = Lines::new(data);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(data);
    let mut record = ::csv::ByteRecord::new();
    let mut next =
        |record: &mut ::csv::ByteRecord, collector: &Collector<'_>, lines: &mut Lines| {
            reader.read_byte_record(record).map_err(|e| {
                let line = e.position().map_or(0, |p| lines.of(p.byte()));
                collector.error(format!("line {line}"), format!("unreadable CSV ({e})"))
            })
        };
    if !next(&mut record, &collector, &mut lines)? {
        return Err(collector.error("line 1", "no header"));
    }
    let header_line = lines.of_record(&record);
    let header = Header::parse(&collector, &record, header_line)?;
    let mut rows = 0usize;
    while next(&mut record, &collector, &mut lines)? {
        rows += 1;
        let line = lines.of_record(&record);
        row(&mut collector, &header, &record, line)?;
    }
    if rows == 0 {
        return Err(collector.error(
            format!("line {header_line}"),
            "the header is not followed by any row",
        ));
    }
    collector.finish()
}

/// Reads one row into the collector, or skips it with a warning. Errors only when its timestamp
/// format differs from the file's.
fn row(
    collector: &mut Collector<'_>,
    header: &Header,
    record: &::csv::ByteRecord,
    line: u64,
) -> Result<(), MetricsError> {
    if record.len() != header.names.len() {
        collector.skip(
            format!("line {line}"),
            format!(
                "{} fields where the header has {}",
                record.len(),
                header.names.len()
            ),
        );
        return Ok(());
    }
    let field_place = |i: usize| format!("line {line}, field {}", header.names[i]);
    let mut cells = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(cell) => cells.push(cell),
            Err(_) => {
                collector.skip(field_place(i), "not UTF-8".to_string());
                return Ok(());
            }
        }
    }
    let stamp = cells[header.timestamp];
    if stamp.is_empty() {
        collector.skip(field_place(header.timestamp), "empty timestamp".to_string());
        return Ok(());
    }
    let Some((format, t)) = parse_timestamp(stamp) else {
        collector.skip(
            field_place(header.timestamp),
            super::timestamp_problem(stamp),
        );
        return Ok(());
    };
    collector.check_time_format(format, line, field_place(header.timestamp))?;
    let series = cells[header.series];
    if series.is_empty() {
        collector.skip(field_place(header.series), "empty series name".to_string());
        return Ok(());
    }
    let v = match parse_value(cells[header.value]) {
        Ok(v) => v,
        Err(problem) => {
            collector.skip(field_place(header.value), problem);
            return Ok(());
        }
    };
    let labels = cells
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != header.timestamp && i != header.series && i != header.value)
        .map(|(i, cell)| (header.names[i].clone(), cell.to_string()))
        .collect();
    collector.push(series.to_string(), labels, Point { t, v }, line);
    Ok(())
}
