//! Transparent gzip: inputs starting with the gzip magic are inflated before format detection.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::Problem;

const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most a profile may inflate to. Real profiles are far smaller; a gzip bomb is refused
/// with an error instead of exhausting memory.
pub const MAX_INFLATED: u64 = 4 << 30;

/// Counts how far into the compressed input the decoder has read, for error messages.
struct Counted<'a> {
    inner: &'a [u8],
    consumed: usize,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n;
        Ok(n)
    }
}

/// The inflated bytes of a gzip input, or the input itself.
pub fn maybe_inflate(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Problem> {
    if !bytes.starts_with(&MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut counted = Counted {
        inner: bytes,
        consumed: 0,
    };
    // Compressed profiles inflate 5-20x; start there to avoid most regrowth.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(8));
    let result = MultiGzDecoder::new(&mut counted)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out);
    match result {
        Ok(_) if out.len() as u64 > MAX_INFLATED => Err(Problem::at_byte(
            counted.consumed,
            format!(
                "inflates to more than {} GiB (compressed offset); refusing it as a gzip bomb",
                MAX_INFLATED >> 30
            ),
        )),
        Ok(_) => Ok(std::borrow::Cow::Owned(out)),
        Err(e) => {
            let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the gzip stream is truncated".to_string()
            } else {
                format!("corrupt gzip stream ({e})")
            };
            Err(Problem::at_byte(
                counted.consumed,
                format!(
                    "{reason} (compressed offset; {} bytes inflated before the error)",
                    out.len()
                ),
            ))
        }
    }
}
