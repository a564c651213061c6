//! pprof out: the model as a `profile.proto` message, gzipped as `pprof` and Go write it.
//!
//! The model's string table is already pprof-shaped (string 0 is empty), so it is written as
//! is. Every frame becomes a location with one line (inline chains were flattened into frames
//! on the way in), every module a mapping, every label set the labels of its samples.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::model::{LabelValue, Profile};

/// A protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    /// An int64/uint64 field; zero is the default and is left out, as protobuf does.
    fn int(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.tag(field, 0);
            self.varint(v as u64);
        }
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn message(&mut self, field: u32, m: &Message) {
        self.bytes(field, &m.0);
    }

    /// A packed repeated varint field.
    fn packed(&mut self, field: u32, values: impl Iterator<Item = u64>) {
        let mut packed = Message::default();
        for v in values {
            packed.varint(v);
        }
        if !packed.0.is_empty() {
            self.bytes(field, &packed.0);
        }
    }
}

fn value_type(name: u32, unit: u32) -> Message {
    let mut m = Message::default();
    m.int(1, i64::from(name));
    m.int(2, i64::from(unit));
    m
}

/// The model as an uncompressed `profile.proto` message.
pub fn encode(p: &Profile) -> Vec<u8> {
    let mut out = Message::default();
    for t in &p.sample_types {
        out.message(1, &value_type(t.name, t.unit));
    }
    for i in 0..p.stack_count() {
        let mut sample = Message::default();
        sample.packed(1, p.stack(i).iter().map(|&f| u64::from(f) + 1));
        sample.packed(2, p.stack_values(i).iter().map(|&v| v as u64));
        for label in p.labels_of(i) {
            let mut l = Message::default();
            l.int(1, i64::from(label.key));
            match label.value {
                LabelValue::Str(s) => l.int(2, i64::from(s)),
                LabelValue::Num { value, unit } => {
                    l.int(3, value);
                    l.int(4, i64::from(unit));
                }
            }
            sample.message(3, &l);
        }
        out.message(2, &sample);
    }
    // One mapping per module, in first-use order.
    let mut modules: Vec<u32> = Vec::new();
    for f in &p.functions {
        if f.module != 0 && !modules.contains(&f.module) {
            modules.push(f.module);
        }
    }
    for (i, &module) in modules.iter().enumerate() {
        let mut m = Message::default();
        m.int(1, i as i64 + 1);
        m.int(5, i64::from(module));
        m.int(7, 1); // has_functions
        out.message(3, &m);
    }
    for (i, frame) in p.frames.iter().enumerate() {
        let mut loc = Message::default();
        loc.int(1, i as i64 + 1);
        let module = p.functions[frame.function as usize].module;
        if let Some(m) = modules.iter().position(|&x| x == module && module != 0) {
            loc.int(2, m as i64 + 1);
        }
        let mut line = Message::default();
        line.int(1, i64::from(frame.function) + 1);
        line.int(2, i64::from(frame.line));
        loc.message(4, &line);
        out.message(4, &loc);
    }
    for (i, f) in p.functions.iter().enumerate() {
        let mut m = Message::default();
        m.int(1, i as i64 + 1);
        m.int(2, i64::from(f.name));
        m.int(3, i64::from(f.system_name));
        m.int(4, i64::from(f.file));
        m.int(5, i64::from(f.start_line));
        out.message(5, &m);
    }
    for id in 0..p.strings.len() as u32 {
        out.bytes(6, p.str(id).as_bytes());
    }
    out.int(9, p.time_nanos.unwrap_or(0));
    out.int(10, p.duration_nanos.map(|d| d as i64).unwrap_or(0));
    if let Some(t) = &p.period_type {
        out.message(11, &value_type(t.name, t.unit));
    }
    out.int(12, p.period.unwrap_or(0));
    out.packed(13, p.comments.iter().map(|&c| u64::from(c)));
    if let Some(t) = p.sample_types.get(p.default_sample_type) {
        out.int(14, i64::from(t.name));
    }
    out.0
}

/// The model as a gzipped pprof file.
pub fn write_gz(p: &Profile) -> Vec<u8> {
    let raw = encode(p);
    let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(&raw);
    gz.finish().unwrap_or_default()
}
