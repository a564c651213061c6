//! Transparent gzip: inputs starting with the gzip magic are inflated, as a stream, before
//! format detection. Errors say where in the *compressed* input the stream broke.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

use super::Problem;

pub const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most a profile may inflate to. Real profiles are far smaller; a gzip bomb is refused
/// with an error instead of exhausting memory.
pub const MAX_INFLATED: u64 = 4 << 30;

/// Counts how far into the compressed input the decoder has read, for error messages.
struct Counted<R> {
    inner: R,
    consumed: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

/// Why inflating failed, and where: carried inside the `io::Error` a reader sees, and turned
/// back into a [`Problem`] with its offset by [`problem_from_io`].
#[derive(Debug)]
struct InflateError {
    compressed_offset: u64,
    message: String,
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: {}", self.compressed_offset, self.message)
    }
}

impl std::error::Error for InflateError {}

/// A gzip stream (one or more members) inflated on the fly, with the size cap.
pub struct Inflate<R: Read> {
    decoder: MultiGzDecoder<Counted<R>>,
    inflated: u64,
}

impl<R: Read> Inflate<R> {
    pub fn new(inner: R) -> Self {
        Inflate {
            decoder: MultiGzDecoder::new(Counted { inner, consumed: 0 }),
            inflated: 0,
        }
    }

    fn consumed(&self) -> u64 {
        self.decoder.get_ref().consumed
    }
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.decoder.read(buf) {
            Ok(n) => {
                self.inflated += n as u64;
                if self.inflated > MAX_INFLATED {
                    return Err(io::Error::other(InflateError {
                        compressed_offset: self.consumed(),
                        message: format!(
                            "inflates to more than {} GiB (compressed offset); refusing it as a gzip bomb",
                            MAX_INFLATED >> 30
                        ),
                    }));
                }
                Ok(n)
            }
            Err(e) => {
                let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
                    "the gzip stream is truncated".to_string()
                } else {
                    format!("corrupt gzip stream ({e})")
                };
                Err(io::Error::new(
                    e.kind(),
                    InflateError {
                        compressed_offset: self.consumed(),
                        message: format!(
                            "{reason} (compressed offset; {} bytes inflated before the error)",
                            self.inflated
                        ),
                    },
                ))
            }
        }
    }
}

/// The problem an I/O error while reading a profile stands for: with the compressed offset when
/// inflating failed, else the plain reason.
pub fn problem_from_io(e: &io::Error) -> Problem {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<InflateError>())
    {
        Some(inflate) => {
            Problem::at_byte(inflate.compressed_offset as usize, inflate.message.clone())
        }
        None => Problem::whole(format!("cannot read profile: {}", super::io_reason(e))),
    }
}

/// The inflated bytes of an in-memory gzip input, or the input itself.
pub fn maybe_inflate(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Problem> {
    if !bytes.starts_with(&MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    // Compressed profiles inflate 5-20x; start there to avoid most regrowth.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(8));
    Inflate::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| problem_from_io(&e))?;
    Ok(std::borrow::Cow::Owned(out))
}
