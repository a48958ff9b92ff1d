//! The file audit log: `audit.jsonl` in `WATCHDOG_RUNTIME_DIR`, one JSON record per line,
//! appended and synced by the audit writer when the database does not take a record; and
//! beside it `audit.jsonl.copied`, the length of the file's beginning whose records are in the
//! database. The file is append-only (an operator's record, never rewritten); the marker only
//! moves forward, written atomically after a copy.

use std::fs;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AuditRecord;
use crate::supervisor::files;

pub const FILE_NAME: &str = "audit.jsonl";
pub const MARKER_NAME: &str = "audit.jsonl.copied";

/// One line of the file audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Stable id, the database's `record_id` once copied. A line written before records had
    /// ids gets one derived from its text, so copying it twice is still a no-op.
    #[serde(default)]
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    /// Why the database did not take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_error: Option<String>,
}

impl StoredRecord {
    pub fn new(id: &str, record: &AuditRecord, db_error: Option<String>) -> Self {
        Self {
            id: id.to_string(),
            at: record.at,
            actor: record.actor.clone(),
            ip: record.ip.clone(),
            action: record.action.as_str().to_string(),
            target: record.target.clone(),
            detail: record.detail(),
            db_error,
        }
    }

    fn parse(line: &str) -> Option<Self> {
        let mut record: Self = serde_json::from_str(line).ok()?;
        if record.id.is_empty() {
            let digest = ring::digest::digest(&ring::digest::SHA256, line.as_bytes());
            record.id = digest.as_ref()[..16]
                .iter()
                .fold(String::from("line-"), |mut id, b| {
                    id.push_str(&format!("{b:02x}"));
                    id
                });
        }
        Some(record)
    }
}

/// Appends one record and syncs it to disk.
pub fn append(dir: &Path, record: &StoredRecord) -> io::Result<()> {
    let line = serde_json::to_string(record).map_err(io::Error::other)?;
    files::append_line(&dir.join(FILE_NAME), &line)
}

/// The records the database has not taken yet, oldest first, and the file length up to the
/// end of the last complete line read (the marker to write once they are copied).
#[derive(Debug, Default)]
pub struct Uncopied {
    pub records: Vec<StoredRecord>,
    pub end: u64,
}

/// Reads the records past the marker. A line that does not parse (torn by a crash) is skipped;
/// a last line without its newline is left for the next read.
pub fn uncopied(dir: &Path) -> io::Result<Uncopied> {
    read(dir, Include::Uncopied)
}

/// Which of the file's records to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Those past the marker: not in the database yet.
    Uncopied,
    /// Every one (the database cannot be read, so the copies there cannot be shown).
    All,
}

fn read(dir: &Path, include: Include) -> io::Result<Uncopied> {
    let bytes = match fs::read(dir.join(FILE_NAME)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Uncopied::default()),
        Err(e) => return Err(e),
    };
    let start = match include {
        Include::Uncopied => copied_up_to(dir, bytes.len() as u64),
        Include::All => 0,
    };
    let tail = &bytes[start as usize..];
    let complete = tail
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    let records = String::from_utf8_lossy(&tail[..complete])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let record = StoredRecord::parse(line);
            if record.is_none() {
                tracing::warn!(
                    line,
                    "audit: an unreadable line in the file audit log; skipped"
                );
            }
            record
        })
        .collect();
    Ok(Uncopied {
        records,
        end: start + complete as u64,
    })
}

/// Whether the file holds records past the marker.
pub fn has_uncopied(dir: &Path) -> bool {
    let len = fs::metadata(dir.join(FILE_NAME)).map_or(0, |m| m.len());
    len > copied_up_to(dir, len)
}

/// Moves the marker: the file's first `end` bytes are in the database.
pub fn mark_copied(dir: &Path, end: u64) -> io::Result<()> {
    files::write_atomically(&dir.join(MARKER_NAME), format!("{end}\n").as_bytes())
}

/// The newest records, newest first, at most `limit`: what `GET /admin/api/audit` shows beside
/// the database's rows.
pub fn recent(dir: &Path, limit: usize, include: Include) -> io::Result<Vec<StoredRecord>> {
    let mut records = read(dir, include)?.records;
    records.reverse();
    records.truncate(limit);
    Ok(records)
}

/// The marker, or 0 when absent, unreadable, or past the end (the file was replaced).
fn copied_up_to(dir: &Path, len: u64) -> u64 {
    fs::read_to_string(dir.join(MARKER_NAME))
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|end| *end <= len)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u32) -> StoredRecord {
        StoredRecord {
            id: format!("id-{n}"),
            at: Utc::now(),
            actor: "signal".into(),
            ip: None,
            action: "worker.reload".into(),
            target: None,
            detail: serde_json::json!({"n": n}),
            db_error: Some("refused".into()),
        }
    }

    #[test]
    fn the_marker_hides_copied_records_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_uncopied(dir.path()));
        append(dir.path(), &line(1)).unwrap();
        append(dir.path(), &line(2)).unwrap();
        let first = uncopied(dir.path()).unwrap();
        assert_eq!(first.records.len(), 2);
        mark_copied(dir.path(), first.end).unwrap();
        assert!(!has_uncopied(dir.path()));

        // A torn line (a crash mid-write), a record, and an unfinished last line.
        let path = dir.path().join(FILE_NAME);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"id\": \"torn\n");
        text.push_str(&serde_json::to_string(&line(3)).unwrap());
        text.push('\n');
        text.push_str("{\"unfinished\"");
        fs::write(&path, text).unwrap();
        assert!(has_uncopied(dir.path()));
        let next = uncopied(dir.path()).unwrap();
        let ids: Vec<_> = next.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["id-3"]);
        let recent = super::recent(dir.path(), 10, Include::Uncopied).unwrap();
        assert_eq!(recent[0].detail["n"], 3, "newest first");
        assert_eq!(recent.len(), 1);
        let all = super::recent(dir.path(), 10, Include::All).unwrap();
        assert_eq!(all.len(), 3, "the copied ones too");
        mark_copied(dir.path(), next.end).unwrap();
        assert!(uncopied(dir.path()).unwrap().records.is_empty());
    }

    #[test]
    fn a_line_without_an_id_gets_a_stable_one() {
        let text = r#"{"at":"2026-11-25T08:00:00Z","actor":"a","ip":null,"action":"worker.reload","target":null,"detail":{}}"#;
        let one = StoredRecord::parse(text).unwrap();
        let two = StoredRecord::parse(text).unwrap();
        assert!(one.id.starts_with("line-"), "{}", one.id);
        assert_eq!(one.id, two.id);
    }
}
