//! Metrics as Apache Parquet, the columnar format fleet metric exports come in (Spark, DuckDB,
//! pandas and pyarrow, Polars, ClickHouse), read with the `parquet` crate of the Arrow Rust
//! implementation through its column readers (no Arrow arrays: values go straight into the
//! store).
//!
//! The columns are CSV's: `timestamp` (INT64 integers kept as written, or a TIMESTAMP in
//! milli-, micro- or nanoseconds, or an INT32 DATE, both stored as Unix seconds and shown as
//! date-times), `series` (a string), `value` (DOUBLE, FLOAT, INT32 or INT64), and every other
//! column a label, its values as text (strings, integers, floats, booleans). Names are
//! compared without case; the schema must be flat. Each row group is one block
//! (`stream.rs`), parsed in parallel with the others; messages name the row (from 1, counted
//! over the file), its row group and the column.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, BinaryArray};
use arrow_schema::DataType as ArrowType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::{LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::reader::{ChunkReader, FileReader, Length, SerializedFileReader};

use super::stream::{Block, BlockBuilder, Known, Merge, Origin, key_part, ordered};
use super::{LoadOptions, MetricSet, MetricsError, TimeFormat};

/// A Parquet file read by position (`pread`), so row groups can be decoded on several threads
/// at once. The parquet crate's own reader for `File` seeks a shared file offset, and two
/// threads seeking it read each other's bytes ("failed to fill whole buffer").
#[derive(Clone)]
pub(super) struct PositionalFile(Arc<File>);

impl PositionalFile {
    pub fn new(file: File) -> Self {
        PositionalFile(Arc::new(file))
    }
}

/// A reader of a [`PositionalFile`] from an offset on.
pub(super) struct PositionalRead {
    file: Arc<File>,
    at: u64,
}

fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, at);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, at);
}

impl Read for PositionalRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(&self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl Length for PositionalFile {
    fn len(&self) -> u64 {
        self.0.metadata().map_or(0, |m| m.len())
    }
}

impl ChunkReader for PositionalFile {
    type T = io::BufReader<PositionalRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(io::BufReader::new(PositionalRead {
            file: self.0.clone(),
            at: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<::bytes::Bytes> {
        // Straight into a buffer of the right size: a column chunk is tens of megabytes, and
        // growing a buffer through a `BufReader` copied it three times.
        let mut buffer = vec![0u8; length.min(self.len().saturating_sub(start) as usize)];
        let mut read = 0;
        while read < buffer.len() {
            match read_at(&self.0, &mut buffer[read..], start + read as u64) {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        if read != length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "expected {length} bytes at offset {start}, the file has {read}"
            )));
        }
        Ok(buffer.into())
    }
}

/// The first (and last) four bytes of every Parquet file.
pub(super) const MAGIC: [u8; 4] = *b"PAR1";

/// What a timestamp column holds, and how to make it a stored time.
#[derive(Clone, Copy)]
enum Clock {
    /// Integers kept as written.
    Integer,
    /// Units a second (1,000 for milliseconds ...), stored as Unix seconds.
    Timestamp(i64),
    /// Days since 1970-01-01.
    Date,
}

/// The columns the reader uses, by index in the schema.
struct Layout {
    timestamp: usize,
    clock: Clock,
    series: usize,
    value: usize,
    /// (index, name) of each label column.
    labels: Vec<(usize, String)>,
    names: Vec<String>,
}

/// One column chunk of a row group, decoded: values, and per row the index of its value (or
/// `None` for a null) when the column has nulls.
struct Cells {
    values: Values,
    /// Definition levels, when the column may hold nulls.
    defs: Option<Vec<i16>>,
    max_def: i16,
}

enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Text (and binary) columns as the column reader gives them: each value holds a
    /// reference to its page, counted up and down per row.
    Bytes(Vec<ByteArray>),
    /// The same as one Arrow array (offsets into one buffer), how text columns are read when
    /// they can be: a fifth of the cost a row, which a shard reading a whole fleet pays for
    /// every row it leaves to the others.
    Binary(BinaryArray),
}

impl Cells {
    /// Rows decoded.
    fn len(&self) -> usize {
        match (&self.defs, &self.values) {
            (Some(defs), _) => defs.len(),
            (None, Values::Bool(v)) => v.len(),
            (None, Values::I32(v)) => v.len(),
            (None, Values::I64(v)) => v.len(),
            (None, Values::F32(v)) => v.len(),
            (None, Values::F64(v)) => v.len(),
            (None, Values::Bytes(v)) => v.len(),
            (None, Values::Binary(v)) => v.len(),
        }
    }

    /// Per row, the index of its value, or `None` for a null.
    fn positions(&self, rows: usize) -> Vec<Option<u32>> {
        if let Values::Binary(v) = &self.values
            && v.null_count() > 0
        {
            return (0..rows)
                .map(|r| (r < v.len() && v.is_valid(r)).then_some(r as u32))
                .collect();
        }
        match &self.defs {
            None => (0..rows as u32).map(Some).collect(),
            Some(defs) => {
                let mut next = 0u32;
                defs.iter()
                    .map(|&d| {
                        (d == self.max_def).then(|| {
                            next += 1;
                            next - 1
                        })
                    })
                    .collect()
            }
        }
    }

    /// Value `i` as a number, for `value` columns.
    fn number(&self, i: usize) -> Option<f64> {
        match &self.values {
            Values::I32(v) => v.get(i).map(|&x| f64::from(x)),
            Values::I64(v) => v.get(i).map(|&x| x as f64),
            Values::F32(v) => v.get(i).map(|&x| f64::from(x)),
            Values::F64(v) => v.get(i).copied(),
            _ => None,
        }
    }

    /// Value `i` as an integer, for `timestamp` columns.
    fn integer(&self, i: usize) -> Option<i64> {
        match &self.values {
            Values::I32(v) => v.get(i).map(|&x| i64::from(x)),
            Values::I64(v) => v.get(i).copied(),
            _ => None,
        }
    }

    /// Value `i`'s bytes as they go into a series key (cheap: no text made).
    fn key_bytes<'a>(&'a self, i: usize, scratch: &'a mut [u8; 8]) -> &'a [u8] {
        match &self.values {
            Values::Bytes(_) | Values::Binary(_) => self.raw(Some(i as u32)),
            Values::Bool(v) => {
                scratch[0] = v.get(i).copied().map_or(2, u8::from);
                &scratch[..1]
            }
            Values::I32(v) => {
                *scratch = i64::from(v.get(i).copied().unwrap_or(0)).to_le_bytes();
                &scratch[..]
            }
            Values::I64(v) => {
                *scratch = v.get(i).copied().unwrap_or(0).to_le_bytes();
                &scratch[..]
            }
            Values::F32(v) => {
                *scratch = f64::from(v.get(i).copied().unwrap_or(0.0))
                    .to_bits()
                    .to_le_bytes();
                &scratch[..]
            }
            Values::F64(v) => {
                *scratch = v.get(i).copied().unwrap_or(0.0).to_bits().to_le_bytes();
                &scratch[..]
            }
        }
    }

    /// The bytes of text value `i` (empty for a null, or in a column that is not text).
    fn raw(&self, i: Option<u32>) -> &[u8] {
        match (&self.values, i) {
            (Values::Bytes(v), Some(i)) => v.get(i as usize).map_or(&[], |b| b.data()),
            (Values::Binary(v), Some(i)) => binary(v, i as usize),
            _ => &[],
        }
    }

    /// Value `i` as label text; `None` when it is not UTF-8.
    fn text(&self, i: usize) -> Option<String> {
        let mut out = String::new();
        match &self.values {
            Values::Bytes(v) => return v.get(i).and_then(|b| b.as_utf8().ok()).map(str::to_string),
            Values::Binary(v) => {
                return (i < v.len())
                    .then(|| std::str::from_utf8(v.value(i)).ok().map(str::to_string))
                    .flatten();
            }
            Values::Bool(v) => write!(out, "{}", v.get(i)?),
            Values::I32(v) => write!(out, "{}", v.get(i)?),
            Values::I64(v) => write!(out, "{}", v.get(i)?),
            Values::F32(v) => write!(out, "{}", v.get(i)?),
            Values::F64(v) => write!(out, "{}", v.get(i)?),
        }
        .ok()?;
        Some(out)
    }
}

/// Value `i` of an Arrow binary array (empty past its end).
fn binary(v: &BinaryArray, i: usize) -> &[u8] {
    if i < v.len() { v.value(i) } else { &[] }
}

/// Reads Parquet metrics from `input` (a file, or bytes in memory).
pub(super) fn read<R: ChunkReader + Clone + 'static>(
    name: &str,
    input: R,
    options: &LoadOptions,
) -> Result<MetricSet, MetricsError> {
    let fail = |place: Option<String>, message: String| MetricsError {
        file: name.to_string(),
        place,
        message,
    };
    let reader = SerializedFileReader::new(input.clone())
        .map_err(|e| fail(None, format!("unreadable Parquet ({e})")))?;
    let layout = layout(&reader).map_err(|(column, message)| fail(column, message))?;
    // Text columns through Arrow's reader when the schema maps to Arrow's; otherwise (and
    // for a row group it cannot read) through the column readers, row by row as before.
    let texts = ArrowReaderMetadata::try_new(
        Arc::new(reader.metadata().clone()),
        ArrowReaderOptions::new(),
    )
    .ok()
    .map(|metadata| Texts { input, metadata });
    let groups = reader.metadata().num_row_groups();
    // Rows before each row group, for row numbers over the file.
    let mut first_rows = Vec::with_capacity(groups);
    let mut rows = 0u64;
    for g in 0..groups {
        first_rows.push(rows);
        rows += reader.metadata().row_group(g).num_rows().max(0) as u64;
    }
    if rows == 0 {
        return Err(fail(None, "no rows".to_string()));
    }
    let mut merge = Merge::new(name, 1);
    let known = Known::default();
    let shard = options.shard;
    ordered(
        super::stream::threads(options.threads),
        0..groups,
        |g| row_group(&reader, texts.as_ref(), &layout, g, shard, &known),
        |block| merge.block(block, &known),
    );
    merge.finish()
}

/// The file again, read through Arrow's reader for its text columns.
struct Texts<R> {
    input: R,
    metadata: ArrowReaderMetadata,
}

impl<R: ChunkReader + Clone + 'static> Texts<R> {
    /// Columns `columns` of row group `g` as binary arrays of `rows` values each, by column
    /// index; `None` when Arrow's reader cannot give them all (text that is not UTF-8 fails
    /// its whole batch: the column readers then find the row and skip only it).
    fn read(
        &self,
        g: usize,
        columns: &[usize],
        rows: usize,
    ) -> Option<std::collections::HashMap<usize, BinaryArray>> {
        // The row count is the file's word: past a large row group's, the column readers
        // (which reserve no more than a typical one) read it instead.
        if columns.is_empty() || rows == 0 || rows > 1 << 24 {
            return None;
        }
        let schema = self.metadata.metadata().file_metadata().schema_descr();
        let mask = ProjectionMask::leaves(schema, columns.iter().copied());
        let mut batches = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.input.clone(),
            self.metadata.clone(),
        )
        .with_row_groups(vec![g])
        .with_projection(mask)
        .with_batch_size(rows)
        .build()
        .ok()?;
        let batch = batches.next()?.ok()?;
        if batch.num_rows() != rows || batch.num_columns() != columns.len() {
            return None;
        }
        // Projected columns come in the schema's order, as `columns` is.
        let mut out = std::collections::HashMap::with_capacity(columns.len());
        for (&i, array) in columns.iter().zip(batch.columns()) {
            let binary = match array.data_type() {
                ArrowType::Utf8 => BinaryArray::from(array.as_string::<i32>().clone()),
                ArrowType::Binary => array.as_binary::<i32>().clone(),
                _ => return None,
            };
            out.insert(i, binary);
        }
        Some(out)
    }
}

/// Where each column is, from the schema; or the column and why not.
fn layout<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
) -> Result<Layout, (Option<String>, String)> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut names = Vec::with_capacity(schema.num_columns());
    for i in 0..schema.num_columns() {
        let column = schema.column(i);
        let path = column.path().string();
        if column.max_rep_level() > 0 || path.contains('.') {
            return Err((
                Some(format!("column {path}")),
                "a nested or repeated column; metrics in Parquet are flat: timestamp, series, value and label columns".to_string(),
            ));
        }
        names.push(column.name().to_string());
    }
    let find = |wanted: &str| {
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                (
                    None,
                    format!(
                        "no `{wanted}` column (it has: {}); `timestamp`, `series` and `value` are required",
                        names.join(", ")
                    ),
                )
            })
    };
    let (timestamp, series, value) = (find("timestamp")?, find("series")?, find("value")?);
    let column_error = |i: usize, message: String| (Some(format!("column {}", names[i])), message);
    let ts = schema.column(timestamp);
    let clock = match (ts.physical_type(), ts.logical_type_ref()) {
        (PhysicalType::INT64, Some(LogicalType::Timestamp(t))) => Clock::Timestamp(match t.unit {
            TimeUnit::MILLIS => 1_000,
            TimeUnit::MICROS => 1_000_000,
            TimeUnit::NANOS => 1_000_000_000,
        }),
        (PhysicalType::INT32, Some(LogicalType::Date)) => Clock::Date,
        (PhysicalType::INT64 | PhysicalType::INT32, _) => Clock::Integer,
        (other, _) => {
            return Err(column_error(
                timestamp,
                format!(
                    "the timestamp is {other}; it must be INT64 (an integer or a TIMESTAMP) or an INT32 DATE"
                ),
            ));
        }
    };
    if schema.column(series).physical_type() != PhysicalType::BYTE_ARRAY {
        return Err(column_error(
            series,
            format!(
                "the series name is {}; it must be a string (BYTE_ARRAY)",
                schema.column(series).physical_type()
            ),
        ));
    }
    match schema.column(value).physical_type() {
        PhysicalType::DOUBLE | PhysicalType::FLOAT | PhysicalType::INT32 | PhysicalType::INT64 => {}
        other => {
            return Err(column_error(
                value,
                format!("the value is {other}; it must be DOUBLE, FLOAT, INT32 or INT64"),
            ));
        }
    }
    let mut labels = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i == timestamp || i == series || i == value {
            continue;
        }
        match schema.column(i).physical_type() {
            PhysicalType::BYTE_ARRAY
            | PhysicalType::BOOLEAN
            | PhysicalType::INT32
            | PhysicalType::INT64
            | PhysicalType::FLOAT
            | PhysicalType::DOUBLE => labels.push((i, n.clone())),
            other => {
                return Err(column_error(
                    i,
                    format!(
                        "a label column of type {other}; labels are strings, integers, floats or booleans"
                    ),
                ));
            }
        }
    }
    Ok(Layout {
        timestamp,
        clock,
        series,
        value,
        labels,
        names,
    })
}

/// The decoded label columns of a row group.
fn labels_used<'a>(
    layout: &'a Layout,
    columns: &'a [Option<Cells>],
) -> impl Iterator<Item = &'a Cells> {
    layout
        .labels
        .iter()
        .filter_map(|(i, _)| columns[*i].as_ref())
}

/// A column chunk's values and, when it may hold nulls, its definition levels.
type Decoded<V> = (Vec<V>, Option<Vec<i16>>);

/// Every value and definition level of a column chunk.
fn read_all<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    rows: usize,
    max_def: i16,
) -> parquet::errors::Result<Decoded<T::T>> {
    // The row count is the file's word: reserve no more than a typical row group for it.
    let reserve = rows.min(1 << 20);
    let mut values = Vec::with_capacity(reserve);
    let mut defs = (max_def > 0).then(|| Vec::with_capacity(reserve));
    let mut read = 0;
    while read < rows {
        let (records, _, _) = reader.read_records(rows - read, defs.as_mut(), None, &mut values)?;
        if records == 0 {
            break;
        }
        read += records;
    }
    Ok((values, defs))
}

/// Column `i` of a row group, decoded.
fn cells(
    row_group: &dyn parquet::file::reader::RowGroupReader,
    i: usize,
    rows: usize,
) -> parquet::errors::Result<Cells> {
    let max_def = row_group
        .metadata()
        .column(i)
        .column_descr()
        .max_def_level();
    let (values, defs) = match row_group.get_column_reader(i)? {
        ColumnReader::BoolColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::Bool(v), d)
        }
        ColumnReader::Int32ColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::I32(v), d)
        }
        ColumnReader::Int64ColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::I64(v), d)
        }
        ColumnReader::FloatColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::F32(v), d)
        }
        ColumnReader::DoubleColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::F64(v), d)
        }
        ColumnReader::ByteArrayColumnReader(r) => {
            let (v, d) = read_all(r, rows, max_def)?;
            (Values::Bytes(v), d)
        }
        _ => {
            return Err(parquet::errors::ParquetError::General(
                "a column type metrics do not use".to_string(),
            ));
        }
    };
    Ok(Cells {
        values,
        defs,
        max_def,
    })
}

/// The rows of row group `g`. A column that cannot be decoded skips the row group, with a
/// warning naming it.
fn row_group<R: ChunkReader + Clone + 'static>(
    reader: &SerializedFileReader<R>,
    texts: Option<&Texts<R>>,
    layout: &Layout,
    g: usize,
    shard: Option<super::Shard>,
    known: &Known,
) -> Block {
    let mut block = BlockBuilder::new(Origin::RowGroup(g), shard, known);
    let rows = reader.metadata().row_group(g).num_rows().max(0) as usize;
    let schema = reader.metadata().file_metadata().schema_descr();
    let used = |i: usize| {
        i == layout.timestamp
            || i == layout.series
            || i == layout.value
            || layout.labels.iter().any(|(j, _)| *j == i)
    };
    let text_columns: Vec<usize> = (0..layout.names.len())
        .filter(|&i| used(i) && schema.column(i).physical_type() == PhysicalType::BYTE_ARRAY)
        .collect();
    let mut arrays = texts
        .and_then(|t| t.read(g, &text_columns, rows))
        .unwrap_or_default();
    let decoded = reader.get_row_group(g).and_then(|rg| {
        let mut columns = Vec::with_capacity(layout.names.len());
        for i in 0..layout.names.len() {
            columns.push(if !used(i) {
                None
            } else if let Some(array) = arrays.remove(&i) {
                let max_def = schema.column(i).max_def_level();
                Some(Cells {
                    values: Values::Binary(array),
                    defs: None,
                    max_def,
                })
            } else {
                Some(cells(&*rg, i, rows)?)
            });
        }
        Ok(columns)
    });
    let columns = match decoded {
        Ok(columns) => columns,
        Err(e) => {
            let message = format!("the row group cannot be decoded ({e}); its {rows} rows skipped");
            block.skip_rows(0, rows, message);
            return block.finish(rows as u64);
        }
    };
    let column = |i: usize| columns[i].as_ref();
    let (Some(ts), Some(series), Some(value)) = (
        column(layout.timestamp),
        column(layout.series),
        column(layout.value),
    ) else {
        return block.finish(rows as u64);
    };
    // Rows every column holds: fewer than the metadata says is a damaged file.
    let decoded = [ts, series, value]
        .into_iter()
        .chain(labels_used(layout, &columns))
        .map(Cells::len)
        .min()
        .unwrap_or(0)
        .min(rows);
    if decoded < rows {
        let message = format!(
            "the row group says it has {rows} rows but its columns hold {decoded}; the rest are skipped"
        );
        block.skip_rows(decoded as u64, rows - decoded, message);
    }
    let rows = decoded;
    let at_ts = ts.positions(rows);
    let at_series = series.positions(rows);
    let at_value = value.positions(rows);
    let labels: Vec<(&str, &Cells, Vec<Option<u32>>)> = layout
        .labels
        .iter()
        .filter_map(|(i, n)| column(*i).map(|c| (n.as_str(), c, c.positions(rows))))
        .collect();
    let field = |i: usize| Some(layout.names[i].as_str());
    // Labels in the order of their names, for the shard's hash; only when every key column
    // is text, whose bytes are the title's (numbers and booleans are written out for it).
    let mut by_name: Vec<&(&str, &Cells, Vec<Option<u32>>)> = labels.iter().collect();
    by_name.sort_by(|a, b| a.0.cmp(b.0));
    let text = |c: &Cells| matches!(c.values, Values::Bytes(_) | Values::Binary(_));
    let text_keys = text(series) && labels.iter().all(|(_, c, _)| text(c));
    let mut key = Vec::new();
    let mut scratch = [0u8; 8];
    for row in 0..rows {
        let at = row as u64;
        let Some(s) = at_series[row] else {
            block.skip(at, field(layout.series), "empty series name".into());
            continue;
        };
        // Another shard's row goes first, by its key's hash (one that is not UTF-8 is then
        // reported by the shard its bytes hash to).
        if text_keys
            && !series.raw(Some(s)).is_empty()
            && block.foreign(|| {
                let parts = by_name
                    .iter()
                    .map(|(n, c, at)| (n.as_bytes(), c.raw(at[row])));
                super::shard::key_hash(series.raw(Some(s)), parts)
            })
        {
            block.other_shard();
            continue;
        }
        key.clear();
        key_part(&mut key, series.key_bytes(s as usize, &mut scratch));
        for (_, cells, at_label) in &labels {
            match at_label[row] {
                Some(i) => key_part(&mut key, cells.key_bytes(i as usize, &mut scratch)),
                None => key.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let id = match block.lookup(&key) {
            Some(Some(id)) => id,
            Some(None) => {
                block.other_shard();
                continue;
            }
            None => {
                let Some(name) = series.text(s as usize).filter(|n| !n.is_empty()) else {
                    let problem = if series.text(s as usize).is_some() {
                        "empty series name"
                    } else {
                        "not UTF-8"
                    };
                    block.skip(at, field(layout.series), problem.into());
                    continue;
                };
                let mut pairs = Vec::with_capacity(labels.len());
                let mut bad = None;
                for (n, cells, at_label) in &labels {
                    // A null label is an empty one, as an empty CSV cell is.
                    let text = match at_label[row] {
                        Some(i) => cells.text(i as usize),
                        None => Some(String::new()),
                    };
                    match text {
                        Some(text) => pairs.push((n.to_string(), text)),
                        None => bad = Some(*n),
                    }
                }
                if let Some(n) = bad {
                    block.skip(at, Some(n), "not UTF-8".into());
                    continue;
                }
                match block.add(&key, name, pairs) {
                    Some(id) => id,
                    None => {
                        block.other_shard();
                        continue;
                    }
                }
            }
        };
        let Some(raw) = at_ts[row].and_then(|i| ts.integer(i as usize)) else {
            block.skip(at, field(layout.timestamp), "empty timestamp".into());
            continue;
        };
        let (format, t) = match layout.clock {
            Clock::Integer => (TimeFormat::Integer, raw),
            Clock::Timestamp(per_second) => (TimeFormat::Rfc3339, raw.div_euclid(per_second)),
            Clock::Date => (TimeFormat::Rfc3339, raw.saturating_mul(86_400)),
        };
        match at_value[row].and_then(|i| value.number(i as usize)) {
            Some(v) if v.is_finite() => block.push(id, t, v, at, format),
            Some(v) => block.skip(
                at,
                field(layout.value),
                format!("`{v}` is not a finite number"),
            ),
            None => block.skip(at, field(layout.value), "empty value".into()),
        }
    }
    block.finish(rows as u64)
}
