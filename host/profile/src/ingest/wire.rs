//! Protocol Buffers wire format, read in place.
//!
//! The pprof reader walks messages with this instead of generated code so that every error can
//! name the absolute byte offset where the input went wrong, and so that strings and packed
//! arrays are read straight from the input without an intermediate message tree.

use super::Problem;

pub const VARINT: u8 = 0;
pub const I64: u8 = 1;
pub const LEN: u8 = 2;
pub const I32: u8 = 5;

/// A cursor over one message's bytes. `base` is the absolute offset of `buf[0]` in the input.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

/// One field of a message.
pub struct Field<'a> {
    pub number: u32,
    pub wire_type: u8,
    /// The absolute offset of the field's tag.
    pub offset: usize,
    /// For `VARINT`, `I64` and `I32` fields.
    pub scalar: u64,
    /// For `LEN` fields.
    pub bytes: Message<'a>,
}

impl<'a> Message<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Message {
            buf,
            pos: 0,
            base: 0,
        }
    }

    /// The message at `start..end` of the input `data` (a message found earlier, read again).
    pub fn within(data: &'a [u8], start: usize, end: usize) -> Self {
        Message {
            buf: data.get(start..end).unwrap_or(&[]),
            pos: 0,
            base: start,
        }
    }

    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn as_slice(&self) -> &'a [u8] {
        self.buf
    }

    /// A varint: short ones (see [`short_varint`]) inline, longer ones assembled a byte at a
    /// time.
    #[inline(always)]
    fn varint(&mut self) -> Result<u64, Problem> {
        match short_varint(&self.buf[self.pos.min(self.buf.len())..]) {
            Some((value, len)) => {
                self.pos += len;
                Ok(value)
            }
            None => self.varint_long(),
        }
    }

    #[inline(never)]
    fn varint_long(&mut self) -> Result<u64, Problem> {
        let start = self.offset();
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(Problem::at_byte(
                    start,
                    "truncated varint: the input ends inside a number",
                ));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Problem::at_byte(
            start,
            "malformed varint: longer than 10 bytes",
        ))
    }

    /// Calls `each` for every varint of a packed run (the whole message), for the hot packed
    /// fields of samples.
    #[inline]
    pub fn packed_varints(mut self, mut each: impl FnMut(u64)) -> Result<(), Problem> {
        while self.pos < self.buf.len() {
            each(self.varint()?);
        }
        Ok(())
    }

    fn fixed(&mut self, width: usize) -> Result<u64, Problem> {
        let start = self.offset();
        let Some(bytes) = self.buf.get(self.pos..self.pos + width) else {
            return Err(Problem::at_byte(
                start,
                format!("truncated {}-byte fixed field", width),
            ));
        };
        self.pos += width;
        let mut value = [0u8; 8];
        value[..width].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(value))
    }

    /// The next key (`field number << 3 | wire type`), or `None` at the end of the message.
    /// With [`Message::value_varint`], [`Message::value_message`] and [`Message::skip_value`]
    /// this is the fast path hot decoders use: dispatch on the key, read the value in place.
    #[inline(always)]
    pub fn key(&mut self) -> Result<Option<u64>, Problem> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        self.varint().map(Some)
    }

    /// The value of a varint field whose key was just read.
    #[inline(always)]
    pub fn value_varint(&mut self) -> Result<u64, Problem> {
        self.varint()
    }

    /// The value of a length-delimited field whose key was just read, as a message.
    #[inline(always)]
    pub fn value_message(&mut self, number: u64) -> Result<Message<'a>, Problem> {
        let len_at = self.offset();
        let len = self.varint()?;
        let remaining = self.buf.len() - self.pos;
        if len > remaining as u64 {
            return Err(Problem::at_byte(
                len_at,
                format!(
                    "field {number} claims {len} bytes but only {remaining} remain \
                     (the input is truncated or corrupt)"
                ),
            ));
        }
        let len = len as usize;
        let m = Message {
            buf: &self.buf[self.pos..self.pos + len],
            pos: 0,
            base: self.base + self.pos,
        };
        self.pos += len;
        Ok(m)
    }

    /// Skips the value of a field whose key was just read.
    #[inline]
    pub fn skip_value(&mut self, key: u64) -> Result<(), Problem> {
        match (key & 7) as u8 {
            VARINT => self.varint().map(drop),
            I64 => self.fixed(8).map(drop),
            I32 => self.fixed(4).map(drop),
            LEN => self.value_message(key >> 3).map(drop),
            other => Err(Problem::at_byte(
                self.offset(),
                format!("field {} has unsupported wire type {other}", key >> 3),
            )),
        }
    }

    /// The next field, or `None` at the end of the message.
    #[inline(always)]
    pub fn next_field(&mut self) -> Result<Option<Field<'a>>, Problem> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let offset = self.offset();
        let tag = self.varint()?;
        let number = (tag >> 3) as u32;
        let wire_type = (tag & 7) as u8;
        if number == 0 {
            return Err(Problem::at_byte(
                offset,
                "invalid field number 0 (not a protobuf message, or corrupt)",
            ));
        }
        let mut field = Field {
            number,
            wire_type,
            offset,
            scalar: 0,
            bytes: Message {
                buf: &[],
                pos: 0,
                base: offset,
            },
        };
        match wire_type {
            VARINT => field.scalar = self.varint()?,
            I64 => field.scalar = self.fixed(8)?,
            I32 => field.scalar = self.fixed(4)?,
            LEN => {
                let len_at = self.offset();
                let len = self.varint()?;
                let remaining = self.buf.len() - self.pos;
                if len > remaining as u64 {
                    return Err(Problem::at_byte(
                        len_at,
                        format!(
                            "field {number} claims {len} bytes but only {remaining} remain \
                             (the input is truncated or corrupt)"
                        ),
                    ));
                }
                let len = len as usize;
                field.bytes = Message {
                    buf: &self.buf[self.pos..self.pos + len],
                    pos: 0,
                    base: self.base + self.pos,
                };
                self.pos += len;
            }
            other => {
                return Err(Problem::at_byte(
                    offset,
                    format!("field {number} has unsupported wire type {other}"),
                ));
            }
        }
        Ok(Some(field))
    }
}

impl<'a> Field<'a> {
    /// Checks the wire type of a field the schema says is a scalar or a message.
    #[inline]
    pub fn expect(&self, wire_type: u8, what: &str) -> Result<(), Problem> {
        if self.wire_type == wire_type {
            Ok(())
        } else {
            Err(self.wrong_type(wire_type, what))
        }
    }

    #[cold]
    fn wrong_type(&self, wire_type: u8, what: &str) -> Problem {
        Problem::at_byte(
            self.offset,
            format!(
                "field {} ({what}) has wire type {}, expected {wire_type}",
                self.number, self.wire_type
            ),
        )
    }

    #[inline]
    pub fn int(&self, what: &str) -> Result<i64, Problem> {
        self.expect(VARINT, what)?;
        Ok(self.scalar as i64)
    }

    #[inline]
    pub fn uint(&self, what: &str) -> Result<u64, Problem> {
        self.expect(VARINT, what)?;
        Ok(self.scalar)
    }

    #[inline]
    pub fn message(&self, what: &str) -> Result<Message<'a>, Problem> {
        self.expect(LEN, what)?;
        Ok(self.bytes)
    }

    /// A repeated varint field, packed or not: calls `push` for each value.
    #[inline]
    pub fn repeated_varint(&self, what: &str, mut push: impl FnMut(u64)) -> Result<(), Problem> {
        match self.wire_type {
            VARINT => {
                push(self.scalar);
                Ok(())
            }
            LEN => self.bytes.packed_varints(push),
            _ => self.expect(VARINT, what),
        }
    }
}

/// A varint of up to four bytes at the start of `bytes` and its length, or `None` for a longer
/// one, a malformed one, or none. Four bytes hold tags, lengths, ids below 268,435,456 and the
/// addresses of the first 256 MiB, where executables are mapped: the hot readers' short path.
#[inline(always)]
pub fn short_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    match *bytes {
        [b0, ..] if b0 < 0x80 => Some((u64::from(b0), 1)),
        [b0, b1, ..] if b1 < 0x80 => Some((u64::from(b0 & 0x7f) | (u64::from(b1) << 7), 2)),
        [b0, b1, b2, ..] if b2 < 0x80 => Some((
            u64::from(b0 & 0x7f) | (u64::from(b1 & 0x7f) << 7) | (u64::from(b2) << 14),
            3,
        )),
        [b0, b1, b2, b3, ..] if b3 < 0x80 => Some((
            u64::from(b0 & 0x7f)
                | (u64::from(b1 & 0x7f) << 7)
                | (u64::from(b2 & 0x7f) << 14)
                | (u64::from(b3) << 21),
            4,
        )),
        _ => None,
    }
}
