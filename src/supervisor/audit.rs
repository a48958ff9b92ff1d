//! The audit trail of supervisor decisions.
//!
//! Every decision goes to the database's `audit_log` ([`crate::db::audit`]), where every
//! worker and instance reads it. When the database cannot take it (down, slow, locked), the
//! entry is appended to `audit.jsonl` in `WATCHDOG_RUNTIME_DIR` instead, synced to disk, with
//! the database error: an operator must never lose the record of a restart. `GET
//! /admin/api/audit` shows both.
//!
//! Writes run on one task fed by a channel, in order, so the supervisor's event loop never
//! waits on the database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::files;
use crate::config::Settings;
use crate::db::audit::{self, NewEntry};
use crate::db::{self, DbPool, PoolSpec};

pub const FILE_NAME: &str = "audit.jsonl";

/// One decision to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    /// Why the database did not take it (file entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_error: Option<String>,
}

/// Sends records to the writer task.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::UnboundedSender<AuditRecord>,
}

/// The writer task; [`AuditWriter::finish`] waits for what is queued.
pub struct AuditWriter {
    task: tokio::task::JoinHandle<()>,
}

impl Auditor {
    /// Starts the writer: its own one-connection pool (lazy; the database being down only
    /// sends records to the file) and the file in `runtime_dir`.
    pub fn start(settings: &Settings, runtime_dir: &Path) -> (Self, AuditWriter) {
        let spec = PoolSpec {
            name: "supervisor",
            min_connections: 0,
            max_connections: 1,
            acquire_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(3),
            retry_after: 5,
            keep_idle: false,
        };
        let pool = match db::open_pool(&settings.database.target, &spec) {
            Ok(pool) => Some(pool),
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "audit: no database pool; using the file audit log only"
                );
                None
            }
        };
        let file = runtime_dir.join(FILE_NAME);
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_loop(rx, pool, file));
        (Self { tx }, AuditWriter { task })
    }

    pub fn record(&self, record: AuditRecord) {
        if let Err(mpsc::error::SendError(record)) = self.tx.send(record) {
            tracing::error!(action = %record.action, "audit writer stopped; record lost: {record:?}");
        }
    }
}

impl AuditWriter {
    /// Waits (bounded) for queued records once every [`Auditor`] is dropped.
    pub async fn finish(self, limit: Duration) {
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::error!("audit writer did not finish in time");
        }
    }
}

async fn write_loop(
    mut rx: mpsc::UnboundedReceiver<AuditRecord>,
    pool: Option<DbPool>,
    file: PathBuf,
) {
    while let Some(record) = rx.recv().await {
        let db_error = match &pool {
            Some(pool) => write_db(pool, &record).await.err(),
            None => Some("no database pool".to_string()),
        };
        if let Some(db_error) = db_error {
            tracing::warn!(action = %record.action, error = %db_error, "audit: the database did not take the record; writing the file audit log");
            let record = AuditRecord {
                db_error: Some(db_error),
                ..record
            };
            let line = serde_json::to_string(&record).unwrap_or_default();
            if let Err(error) = files::append_line(&file, &line) {
                tracing::error!(path = %file.display(), %error, record = %line, "audit: cannot write the file audit log either");
            }
        }
    }
    if let Some(pool) = pool {
        pool.close().await;
    }
}

async fn write_db(pool: &DbPool, record: &AuditRecord) -> Result<(), String> {
    let entry = NewEntry {
        actor: &record.actor,
        ip: record.ip.as_deref(),
        action: &record.action,
        target: record.target.as_deref(),
        detail: record.detail.clone(),
    };
    // Bounded twice over: the pool's own timeouts, and this one for the whole write.
    match tokio::time::timeout(Duration::from_secs(5), audit::record(pool, &entry)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the database write timed out".into()),
    }
}

/// The file audit log's records, newest first, at most `limit`.
pub fn read_file(runtime_dir: &Path, limit: usize) -> std::io::Result<Vec<AuditRecord>> {
    let text = match std::fs::read_to_string(runtime_dir.join(FILE_NAME)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(limit)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_the_database_down_records_go_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on port 1: every connection is refused.
        let settings = Settings::for_tests(
            "postgres://mes:pw@127.0.0.1:1/mes",
            &[("DB_POOL_TIMEOUT", "1")],
        );
        let (auditor, writer) = Auditor::start(&settings, dir.path());
        for n in 0..2 {
            auditor.record(AuditRecord {
                at: Utc::now(),
                actor: "admin".into(),
                ip: Some("127.0.0.1".into()),
                action: "worker.restart".into(),
                target: Some("generation 2".into()),
                detail: serde_json::json!({"n": n}),
                db_error: None,
            });
        }
        drop(auditor);
        writer.finish(Duration::from_secs(30)).await;
        let records = read_file(dir.path(), 10).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].detail["n"], 1, "newest first");
        assert!(records[0].db_error.is_some());
    }
}
