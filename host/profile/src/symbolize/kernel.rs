//! Kernel addresses to function names, from `/proc/kallsyms`, only when the profile was
//! recorded on the kernel running now (its build id, from `/sys/kernel/notes`, matches the one
//! perf recorded): another kernel's addresses would get wrong names.

use std::path::Path;
use std::sync::OnceLock;

/// The running kernel's text symbols, sorted by address.
pub struct Kallsyms {
    symbols: Vec<(u64, String)>,
}

impl Kallsyms {
    /// The running kernel's symbols if `recorded_build_id` (perf's, for `[kernel.kallsyms]`)
    /// is the running kernel's and `/proc/kallsyms` shows addresses (`kptr_restrict` hides
    /// them from unprivileged users); `None` otherwise.
    /// Read once per process: every perf.data file of a run shares them.
    pub fn running(recorded_build_id: &[u8]) -> Option<&'static Kallsyms> {
        static RUNNING: OnceLock<Option<(Vec<u8>, Kallsyms)>> = OnceLock::new();
        let (build_id, symbols) = RUNNING
            .get_or_init(|| Self::read(Path::new("/sys/kernel/notes"), Path::new("/proc/kallsyms")))
            .as_ref()?;
        (!recorded_build_id.is_empty() && recorded_build_id == build_id.as_slice())
            .then_some(symbols)
    }

    /// The running kernel's build id and symbols.
    fn read(notes: &Path, kallsyms: &Path) -> Option<(Vec<u8>, Kallsyms)> {
        let running = build_id_of_notes(&std::fs::read(notes).ok()?)?;
        let text = std::fs::read_to_string(kallsyms).ok()?;
        let mut symbols: Vec<(u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let address = u64::from_str_radix(parts.next()?, 16).ok()?;
                let kind = parts.next()?;
                let name = parts.next()?;
                (address != 0 && matches!(kind, "t" | "T" | "w" | "W"))
                    .then(|| (address, name.to_string()))
            })
            .collect();
        if symbols.is_empty() {
            return None;
        }
        symbols.sort_unstable_by_key(|s| s.0);
        Some((running, Kallsyms { symbols }))
    }

    /// The function `address` is in: the nearest symbol at or before it.
    pub fn function(&self, address: u64) -> Option<&str> {
        let i = self.symbols.partition_point(|s| s.0 <= address);
        self.symbols[..i].last().map(|s| s.1.as_str())
    }
}

/// The GNU build id in a sequence of ELF notes (`/sys/kernel/notes`).
fn build_id_of_notes(mut notes: &[u8]) -> Option<Vec<u8>> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |b: &[u8]| -> Option<u32> { Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?)) };
    let align = |n: usize| n.div_ceil(4) * 4;
    while notes.len() >= 12 {
        let name_size = word(notes)? as usize;
        let desc_size = word(&notes[4..])? as usize;
        let kind = word(&notes[8..])?;
        let name_end = 12usize.checked_add(align(name_size))?;
        let desc_end = name_end.checked_add(align(desc_size))?;
        let name = notes.get(12..12 + name_size)?;
        if kind == NT_GNU_BUILD_ID && name.starts_with(b"GNU") {
            return notes
                .get(name_end..name_end + desc_size)
                .map(<[u8]>::to_vec);
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: u32, name: &[u8], desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((name.len() as u32).to_ne_bytes());
        out.extend((desc.len() as u32).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(name);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out.extend(desc);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out
    }

    #[test]
    fn the_build_id_note_is_found_among_others_and_garbage_is_none() {
        let mut notes = note(6, b"Linux\0", &[1, 2, 3]);
        notes.extend(note(3, b"GNU\0", &[0xab, 0xcd, 0xef, 0x01, 0x23]));
        assert_eq!(
            build_id_of_notes(&notes),
            Some(vec![0xab, 0xcd, 0xef, 0x01, 0x23])
        );
        assert_eq!(build_id_of_notes(&notes[..20]), None);
        assert_eq!(build_id_of_notes(&[0xff; 40]), None);
    }

    #[test]
    fn symbols_are_read_with_the_running_kernels_build_id_and_hidden_addresses_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes");
        std::fs::write(&notes, note(3, b"GNU\0", &[9, 9, 9, 9])).unwrap();
        let kallsyms = dir.path().join("kallsyms");
        std::fs::write(
            &kallsyms,
            "ffffffff81000000 T _text\nffffffff81001000 t do_syscall_64\nffffffff81002000 D some_data\nffffffff81003000 T schedule\n",
        )
        .unwrap();
        let (id, k) = Kallsyms::read(&notes, &kallsyms).unwrap();
        assert_eq!(id, [9, 9, 9, 9]);
        assert_eq!(k.function(0xffffffff81001234), Some("do_syscall_64"));
        assert_eq!(k.function(0xffffffff81002345), Some("do_syscall_64"));
        assert_eq!(k.function(0xffffffff81003001), Some("schedule"));
        assert_eq!(k.function(0x1000), None);
        std::fs::write(&kallsyms, "0000000000000000 T _text\n").unwrap();
        assert!(
            Kallsyms::read(&notes, &kallsyms).is_none(),
            "kptr_restrict hides addresses"
        );
    }
}
