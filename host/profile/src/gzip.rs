//! Transparent gzip, the one reader for every file Joule reads (profiles and metric files):
//! inputs starting with the gzip magic are inflated, as a stream, before format detection.
//! Errors say where in the *compressed* input the stream broke.
//!
//! One limit policy: nothing inflates past [`MAX_INFLATED`], whatever the format, so a gzip bomb
//! is refused with an error (naming the compressed offset) instead of exhausting memory.

use std::borrow::Cow;
use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

pub const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most any input may inflate to. Real profiles and metric files are far smaller (a fleet's
/// 100,000 series of 1,000 points is about 3 GiB of CSV at most); past this it is a bomb.
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

/// Why inflating failed, and where: carried inside the `io::Error` a streaming reader sees
/// (recovered with [`InflateError::of`]), or returned by [`maybe_inflate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InflateError {
    /// How far into the compressed input the decoder had read.
    pub compressed_offset: u64,
    pub message: String,
}

impl InflateError {
    /// The inflate error inside an I/O error from [`Inflate`], if that is what it is.
    pub fn of(e: &io::Error) -> Option<&InflateError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<InflateError>())
    }
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
    limit: u64,
}

impl<R: Read> Inflate<R> {
    /// Inflates `inner` up to [`MAX_INFLATED`].
    pub fn new(inner: R) -> Self {
        Self::within(inner, MAX_INFLATED)
    }

    /// Inflates `inner` up to `limit` bytes: the tests' small bombs, and readers that stream
    /// what they inflate instead of holding it (metric files), for which [`MAX_INFLATED`] is
    /// no memory bound.
    pub fn within(inner: R, limit: u64) -> Self {
        Inflate {
            decoder: MultiGzDecoder::new(Counted { inner, consumed: 0 }),
            inflated: 0,
            limit,
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
                if self.inflated > self.limit {
                    return Err(io::Error::other(InflateError {
                        compressed_offset: self.consumed(),
                        message: format!(
                            "inflates to more than {} (compressed offset); refusing it as a gzip bomb",
                            size(self.limit)
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

/// `4 GiB`, or bytes when the limit is not a whole number of GiB.
fn size(limit: u64) -> String {
    if limit >= 1 << 30 && limit.is_multiple_of(1 << 30) {
        format!("{} GiB", limit >> 30)
    } else {
        format!("{limit} bytes")
    }
}

/// The inflated bytes of an in-memory input, or the input itself when it is not gzipped.
pub fn maybe_inflate(bytes: &[u8]) -> Result<Cow<'_, [u8]>, InflateError> {
    maybe_inflate_within(bytes, MAX_INFLATED)
}

fn maybe_inflate_within(bytes: &[u8], limit: u64) -> Result<Cow<'_, [u8]>, InflateError> {
    if !bytes.starts_with(&MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    // Compressed inputs inflate 5-20x; start there to avoid most regrowth.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(8));
    Inflate::within(bytes, limit)
        .read_to_end(&mut out)
        .map_err(|e| {
            InflateError::of(&e)
                .cloned()
                .unwrap_or_else(|| InflateError {
                    compressed_offset: 0,
                    message: format!("cannot inflate: {e}"),
                })
        })?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_input_passes_through_and_gzip_is_undone_member_by_member() {
        assert!(matches!(
            maybe_inflate(b"a;b 1\n"),
            Ok(Cow::Borrowed(b"a;b 1\n"))
        ));
        let mut two = gzip(b"a;b 1\n");
        two.extend(gzip(b"a;c 2\n"));
        assert_eq!(&*maybe_inflate(&two).unwrap(), b"a;b 1\na;c 2\n");
    }

    #[test]
    fn past_the_limit_is_a_bomb_named_at_its_compressed_offset() {
        // 64 KiB of zeros compress to about 100 bytes: past a 16 KiB limit.
        let bomb = gzip(&vec![0u8; 64 << 10]);
        let e = maybe_inflate_within(&bomb, 16 << 10).unwrap_err();
        assert!(
            e.message.starts_with(
                "inflates to more than 16384 bytes (compressed offset); refusing it as a gzip bomb"
            ),
            "{e}"
        );
        assert!(
            e.compressed_offset > 0 && e.compressed_offset <= bomb.len() as u64,
            "{e}"
        );
        // Up to the limit, the same input is read.
        assert_eq!(
            maybe_inflate_within(&bomb, 64 << 10).unwrap().len(),
            64 << 10
        );
        assert_eq!(size(MAX_INFLATED), "4 GiB");
    }

    #[test]
    fn a_truncated_stream_says_so_and_how_much_came_out() {
        let gz = gzip(
            &(0..20_000u32)
                .flat_map(|i| i.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        let e = maybe_inflate(&gz[..gz.len() / 2]).unwrap_err();
        assert!(e.message.starts_with("the gzip stream is truncated"), "{e}");
        assert!(e.message.contains("bytes inflated before the error"), "{e}");
        assert!(e.compressed_offset <= (gz.len() / 2) as u64, "{e}");
    }
}
