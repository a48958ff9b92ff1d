//! The restart history: the last [`KEEP`] restart decisions, kept in memory by the supervisor's
//! core ([`History`]) and written atomically to `restart-history.json` in
//! `WATCHDOG_RUNTIME_DIR` after every change ([`save`]), so it survives a supervisor restart.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::files;

/// Entries kept (older ones are dropped; the audit log keeps everything).
pub const KEEP: usize = 50;

pub const FILE_NAME: &str = "restart-history.json";

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The supervisor itself: a crashed worker replaced, a worker recycled.
    Auto,
    /// An administrator, through the admin API.
    Manual,
    /// The watchdog: a worker whose heartbeat stopped.
    Watchdog,
    /// SIGHUP.
    Signal,
}

/// What was restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new generation of every worker, then the old one drained.
    Reload,
    /// One worker replaced (crashed or hung).
    Replace,
    /// One worker replaced after `WORKER_MAX_REQUESTS` (routine; does not count as churn).
    Recycle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allowed,
    /// Allowed past cooldown or guarded mode by an acknowledged override with a reason.
    AllowedOverride,
    RejectedCooldown,
    RejectedBlocked,
    RejectedReasonRequired,
}

impl Decision {
    pub fn carried_out(self) -> bool {
        matches!(self, Self::Allowed | Self::AllowedOverride)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::AllowedOverride => "allowed_override",
            Self::RejectedCooldown => "rejected_cooldown",
            Self::RejectedBlocked => "rejected_blocked",
            Self::RejectedReasonRequired => "rejected_reason_required",
        }
    }
}

/// One restart decision and, once known, its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Increasing number, unique within one runtime directory.
    pub seq: u64,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub ip: Option<String>,
    /// When the restart finished (or was rejected); `None` while it runs.
    pub completed_at: Option<DateTime<Utc>>,
    /// `None` while it runs.
    pub success: Option<bool>,
    pub source: Source,
    pub action: Action,
    pub decision: Decision,
    /// Why it was asked for (the override reason for manual overrides).
    pub reason: Option<String>,
    pub manual_override: bool,
    /// The worker generation it started, when it started one.
    pub generation: Option<u64>,
    /// How it ended, in words (the failure, for a failed reload).
    pub outcome: Option<String>,
}

impl HistoryEntry {
    pub fn new(
        source: Source,
        action: Action,
        decision: Decision,
        requested_by: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            seq: 0,
            requested_by: requested_by.to_string(),
            requested_at: at,
            ip: None,
            completed_at: None,
            success: None,
            source,
            action,
            decision,
            reason: None,
            manual_override: false,
            generation: None,
            outcome: None,
        }
    }

    pub fn finish(&mut self, at: DateTime<Utc>, success: bool, outcome: Option<String>) {
        self.completed_at = Some(at);
        self.success = Some(success);
        self.outcome = outcome;
    }
}

/// The history in memory. The supervisor's core changes it; its shell saves it to the file
/// after every change ([`save`]).
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: Vec<HistoryEntry>,
}

impl History {
    /// A history continuing `entries` (oldest first), as [`load`] returns them.
    pub fn new(mut entries: Vec<HistoryEntry>) -> Self {
        let excess = entries.len().saturating_sub(KEEP);
        entries.drain(..excess);
        Self { entries }
    }

    /// Oldest first.
    pub fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }

    /// The newest `n`, newest first.
    pub fn newest(&self, n: usize) -> Vec<HistoryEntry> {
        self.entries.iter().rev().take(n).cloned().collect()
    }

    /// Appends `entry` (numbering it) and trims to [`KEEP`]; returns its number.
    pub fn push(&mut self, mut entry: HistoryEntry) -> u64 {
        let seq = self.entries.last().map_or(1, |e| e.seq + 1);
        entry.seq = seq;
        self.entries.push(entry);
        let excess = self.entries.len().saturating_sub(KEEP);
        self.entries.drain(..excess);
        seq
    }

    /// Changes entry `seq` (if still kept); returns the updated entry.
    pub fn update(&mut self, seq: u64, f: impl FnOnce(&mut HistoryEntry)) -> Option<HistoryEntry> {
        let entry = self.entries.iter_mut().find(|e| e.seq == seq)?;
        f(entry);
        Some(entry.clone())
    }

    pub fn get(&self, seq: u64) -> Option<&HistoryEntry> {
        self.entries.iter().find(|e| e.seq == seq)
    }
}

/// Loads `dir/restart-history.json`. A missing file is an empty history; an unreadable one is
/// moved aside (never deleted: it is an operator's record) and the history starts empty.
pub fn load(dir: &Path) -> Vec<HistoryEntry> {
    let path = dir.join(FILE_NAME);
    read(&path).unwrap_or_else(|error| {
        let aside = path.with_extension(format!("corrupt-{}", Utc::now().timestamp()));
        let _ = std::fs::rename(&path, &aside);
        tracing::error!(
            path = %path.display(),
            moved_to = %aside.display(),
            error = %error,
            "the restart history cannot be read; starting a new one"
        );
        Vec::new()
    })
}

/// Writes the history to `dir/restart-history.json` atomically.
pub fn save(dir: &Path, entries: &[HistoryEntry]) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(entries).map_err(std::io::Error::other)?;
    files::write_atomically(&dir.join(FILE_NAME), &bytes)
}

/// Reads a history file; a missing file is an empty history.
pub fn read(path: &Path) -> std::io::Result<Vec<HistoryEntry>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_keeps_fifty_entries_and_survives_a_reload_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::new(load(dir.path()));
        for i in 0..60 {
            let mut e = HistoryEntry::new(
                Source::Signal,
                Action::Reload,
                Decision::Allowed,
                "signal",
                Utc::now(),
            );
            e.reason = Some(format!("n{i}"));
            history.push(e);
        }
        let seq = history.entries().last().unwrap().seq;
        history.update(seq, |e| e.finish(Utc::now(), true, None));
        save(dir.path(), history.entries()).unwrap();

        let again = History::new(load(dir.path()));
        assert_eq!(again.entries().len(), KEEP);
        assert_eq!(again.entries()[0].reason.as_deref(), Some("n10"));
        assert_eq!(again.entries().last().unwrap().success, Some(true));
        assert_eq!(again.newest(1)[0].seq, 60);
    }

    #[test]
    fn an_unreadable_history_is_moved_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{ not json").unwrap();
        assert!(load(dir.path()).is_empty());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.contains("corrupt")), "{names:?}");
    }
}
