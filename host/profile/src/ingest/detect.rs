//! Format detection by content: the first reader whose `sniff` accepts the (decompressed) head.

use super::{Reader, readers};

/// How many leading bytes the readers sniff.
pub const HEAD_LEN: usize = 64 * 1024;

/// The reader for `data`, or `None` when no format matches.
pub fn detect(data: &[u8]) -> Option<&'static dyn Reader> {
    let head = &data[..data.len().min(HEAD_LEN)];
    readers().iter().copied().find(|r| r.sniff(head))
}
