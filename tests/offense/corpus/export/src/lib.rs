//! A CSV export of ledger records, as a reporting job writes them.
//!
//! Planted inefficiency (offense corpus): `export` writes each line straight to the `File`,
//! so every `writeln!` is a `write` system call (several, one per formatted piece).

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// One ledger record.
pub struct Record {
    pub id: u64,
    pub account: String,
    pub cents: i64,
}

/// Writes `records` to `path` as CSV with a header line.
pub fn export(records: &[Record], path: &Path) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    writeln!(file, "id,account,amount")?;
    for r in records {
        writeln!(
            file,
            "{},{},{}.{:02}",
            r.id,
            r.account,
            r.cents / 100,
            (r.cents % 100).abs()
        )?;
    }
    Ok(())
}

/// `n` records, deterministic.
pub fn records(n: usize) -> Vec<Record> {
    let accounts = ["cash", "receivables", "payables", "revenue", "expenses"];
    (0..n as u64)
        .map(|i| Record {
            id: i,
            account: accounts[(i % 5) as usize].to_string(),
            cents: (i as i64 * 7919) % 1_000_000 - 500_000,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_header_and_one_line_per_record() {
        let dir = std::env::temp_dir().join(format!("corpus-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let records = vec![
            Record {
                id: 1,
                account: "cash".into(),
                cents: 1050,
            },
            Record {
                id: 2,
                account: "revenue".into(),
                cents: -7,
            },
        ];
        export(&records, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "id,account,amount\n1,cash,10.50\n2,revenue,0.07\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
