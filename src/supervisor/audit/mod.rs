//! The audit trail of supervisor decisions.
//!
//! Every decision goes to the database's `audit_log` ([`crate::db::audit`]), where every
//! worker and instance reads it. When the database cannot take it (down, slow, locked), the
//! record is appended to the file audit log in `WATCHDOG_RUNTIME_DIR` instead ([`file`]),
//! synced to disk, with the database error: an operator must never lose the record of a
//! restart. Once the database answers again the writer copies those records in, each under
//! the stable id it was given when queued, so a copy retried after a failure or a crash never
//! duplicates; a marker beside the file says how far it has been copied. `GET
//! /admin/api/audit` lists the database's rows and the file's records not copied yet.
//!
//! Writes run on one task fed by a channel, in order ([`Auditor`]), so the supervisor's event
//! loop never waits on the database.

pub mod file;
mod writer;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{Action, HistoryEntry, Source};

pub use writer::{AuditWriter, Auditor};

/// What an audit record is about, stored as a dotted verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    /// A manual restart request (the admin API), whatever its decision.
    #[serde(rename = "worker.restart")]
    Restart,
    /// A reload the operator (SIGHUP) or the supervisor asked for.
    #[serde(rename = "worker.reload")]
    Reload,
    /// One worker replaced: crashed or hung.
    #[serde(rename = "worker.replace")]
    Replace,
    /// One worker replaced after `WORKER_MAX_REQUESTS`.
    #[serde(rename = "worker.recycle")]
    Recycle,
}

impl AuditAction {
    /// The action a history entry is audited under.
    pub fn of(entry: &HistoryEntry) -> Self {
        match (entry.source, entry.action) {
            (Source::Manual, _) => Self::Restart,
            (_, Action::Reload) => Self::Reload,
            (_, Action::Replace) => Self::Replace,
            (_, Action::Recycle) => Self::Recycle,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restart => "worker.restart",
            Self::Reload => "worker.reload",
            Self::Replace => "worker.replace",
            Self::Recycle => "worker.recycle",
        }
    }
}

/// Where a decision stands when it is audited (`detail.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Accepted; it runs now.
    Requested,
    /// Refused by the restart policy.
    Rejected,
    Completed,
    Failed,
}

/// One decision to record, as the supervisor's core hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub ip: Option<String>,
    pub action: AuditAction,
    pub phase: Phase,
    pub target: Option<String>,
    /// The history entry it is about.
    pub entry: HistoryEntry,
}

impl AuditRecord {
    /// The stored detail: the history entry and the phase.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = serde_json::to_value(&self.entry).unwrap_or_default();
        detail["phase"] = serde_json::to_value(self.phase).unwrap_or_default();
        detail
    }
}
