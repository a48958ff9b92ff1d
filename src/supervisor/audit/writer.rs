//! The audit writer: one task that writes the records in order — to the database when it
//! answers within `SUPERVISOR_AUDIT_DB_TIMEOUT`, to the file audit log otherwise — and copies
//! the file's records into the database once it is back (at start, before the next record,
//! and every `SUPERVISOR_AUDIT_RETRY_INTERVAL` while some are waiting).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::AuditRecord;
use super::file::{self, StoredRecord};
use crate::config::Settings;
use crate::config::supervisor::AuditSettings;
use crate::db::audit::{self, NewEntry};
use crate::db::{self, DbPool, PoolSpec};

/// Sends records to the writer task.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::UnboundedSender<(String, AuditRecord)>,
}

/// The writer task; [`AuditWriter::finish`] waits for what is queued.
pub struct AuditWriter {
    task: tokio::task::JoinHandle<()>,
    flush_timeout: Duration,
}

impl Auditor {
    /// Starts the writer: its own one-connection pool (lazy; the database being down only
    /// sends records to the file) and the file audit log in `runtime_dir`.
    pub fn start(settings: &Settings, runtime_dir: &Path) -> (Self, AuditWriter) {
        let bounds = settings.supervisor.audit;
        let spec = PoolSpec {
            name: "supervisor",
            min_connections: 0,
            max_connections: 1,
            acquire_timeout: bounds.db_timeout,
            call_timeout: bounds.db_timeout,
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
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Writer {
            pool,
            dir: runtime_dir.to_path_buf(),
            bounds,
        };
        let task = tokio::spawn(writer.run(rx));
        (
            Self { tx },
            AuditWriter {
                task,
                flush_timeout: bounds.flush_timeout,
            },
        )
    }

    /// Queues a record under a new stable id.
    pub fn record(&self, record: AuditRecord) {
        let id = format!("{:032x}", rand::random::<u128>());
        if let Err(mpsc::error::SendError((_, record))) = self.tx.send((id, record)) {
            tracing::error!(
                action = record.action.as_str(),
                "audit writer stopped; record lost: {record:?}"
            );
        }
    }
}

impl AuditWriter {
    /// Waits (bounded by `SUPERVISOR_AUDIT_FLUSH_TIMEOUT`) for queued records once every
    /// [`Auditor`] is dropped.
    pub async fn finish(self) {
        if tokio::time::timeout(self.flush_timeout, self.task)
            .await
            .is_err()
        {
            tracing::error!("audit writer did not finish in time");
        }
    }
}

struct Writer {
    pool: Option<DbPool>,
    dir: PathBuf,
    bounds: AuditSettings,
}

impl Writer {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<(String, AuditRecord)>) {
        // Records left in the file by an earlier outage (or an earlier supervisor).
        let mut waiting = file::has_uncopied(&self.dir);
        let mut retry = tokio::time::interval(self.bounds.retry_interval);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                queued = rx.recv() => {
                    let Some((id, record)) = queued else { break };
                    waiting = self.write(&id, &record, waiting).await;
                    if waiting {
                        // The next copy attempt one interval from this failure, not at once.
                        retry.reset();
                    }
                }
                _ = retry.tick(), if waiting && self.pool.is_some() => {
                    waiting = self.copy_in().await.is_err();
                }
            }
        }
        if let Some(pool) = self.pool {
            pool.close().await;
        }
    }

    /// Writes one record; returns whether the file holds records the database has not taken.
    /// While some wait, they are copied first (the database keeps the order) and, if that
    /// fails, this one joins them without a second wait on a database that is down.
    async fn write(&self, id: &str, record: &AuditRecord, waiting: bool) -> bool {
        let result = match &self.pool {
            None => Err("no database pool".to_string()),
            Some(pool) => match if waiting {
                self.copy_in().await
            } else {
                Ok(())
            } {
                Ok(()) => self.insert(pool, id, record).await,
                Err(error) => Err(error),
            },
        };
        let Err(db_error) = result else {
            return false;
        };
        tracing::warn!(action = record.action.as_str(), error = %db_error, "audit: the database did not take the record; writing the file audit log");
        let stored = StoredRecord::new(id, record, Some(db_error));
        if let Err(error) = file::append(&self.dir, &stored) {
            tracing::error!(dir = %self.dir.display(), %error, record = ?stored, "audit: cannot write the file audit log either");
        }
        true
    }

    async fn insert(&self, pool: &DbPool, id: &str, record: &AuditRecord) -> Result<(), String> {
        let entry = NewEntry {
            actor: &record.actor,
            ip: record.ip.as_deref(),
            action: record.action.as_str(),
            target: record.target.as_deref(),
            detail: record.detail(),
        };
        self.bounded(audit::record_once(pool, &entry, record.at, id))
            .await
            .map(|_| ())
    }

    /// Copies the file's records the database has not taken, then moves the marker.
    async fn copy_in(&self) -> Result<(), String> {
        let Some(pool) = &self.pool else {
            return Err("no database pool".into());
        };
        let uncopied = file::uncopied(&self.dir).map_err(|e| e.to_string())?;
        let mut copied = 0;
        for record in &uncopied.records {
            let mut detail = record.detail.clone();
            detail["copied_from_file"] = serde_json::json!({ "db_error": record.db_error });
            let entry = NewEntry {
                actor: &record.actor,
                ip: record.ip.as_deref(),
                action: &record.action,
                target: record.target.as_deref(),
                detail,
            };
            if self
                .bounded(audit::record_once(pool, &entry, record.at, &record.id))
                .await?
            {
                copied += 1;
            }
        }
        file::mark_copied(&self.dir, uncopied.end).map_err(|e| e.to_string())?;
        tracing::info!(
            records = uncopied.records.len(),
            copied,
            "audit: the file audit log's records are in the database"
        );
        Ok(())
    }

    /// Bounded twice over: the pool's own timeouts, and this one for the whole write.
    async fn bounded<T>(
        &self,
        write: impl Future<Output = Result<T, db::DbError>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.bounds.db_timeout, write).await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the database write timed out".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::supervisor::audit::{AuditAction, Phase};
    use crate::supervisor::history::{Action, Decision, HistoryEntry, Source};

    #[tokio::test]
    async fn with_the_database_down_records_go_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on port 1: every connection is refused.
        let settings = Settings::for_tests(
            "postgres://mes:pw@127.0.0.1:1/mes",
            &[("SUPERVISOR_AUDIT_DB_TIMEOUT", "1")],
        );
        let (auditor, writer) = Auditor::start(&settings, dir.path());
        for n in 0..2 {
            let mut entry = HistoryEntry::new(
                Source::Manual,
                Action::Reload,
                Decision::Allowed,
                "admin",
                Utc::now(),
            );
            entry.seq = n;
            auditor.record(AuditRecord {
                at: Utc::now(),
                actor: "admin".into(),
                ip: Some("127.0.0.1".into()),
                action: AuditAction::Restart,
                phase: Phase::Requested,
                target: Some("generation 2".into()),
                entry,
            });
        }
        drop(auditor);
        writer.finish().await;
        let records = file::recent(dir.path(), 10, file::Include::Uncopied).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].detail["seq"], 1, "newest first");
        assert_eq!(records[0].detail["phase"], "requested");
        assert_eq!(records[0].action, "worker.restart");
        assert!(records[0].db_error.is_some());
        assert_ne!(records[0].id, records[1].id);
    }
}
