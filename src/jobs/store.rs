//! Where jobs live: Redis when it is configured (keys expire by themselves), else the
//! database's `report_jobs` table. Either way every worker of every instance reads the same
//! records, so any of them answers for a job and sees a cancel asked for on another.
//!
//! Redis layout (under the app's key prefix): `job:{id}` is a hash — `record` (the record as
//! written at submission, JSON) and the fields the worker changes (`state`, `progress`,
//! `heartbeat_ms`, `started_ms`, `finished_ms`, `expires_ms`, `error`) plus `cancel` (the
//! reason, written by a cancel) — kept `JOB_RESULT_TTL` + [`RECORD_GRACE`]; `job:{id}:result`
//! holds the result, kept `JOB_RESULT_TTL`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{JobRecord, JobState, RECORD_GRACE};
use crate::db::report_jobs::{self, Finish, JobRow};
use crate::db::{Database, DbError};
use crate::redis::{Redis, RedisError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error("a stored job is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn other(e: impl std::fmt::Display) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// How a job ended, for [`JobStore::finish`].
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub state: JobState,
    pub progress: u8,
    pub error: Option<&'a str>,
    pub result: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub enum JobStore {
    Redis(Arc<Redis>),
    /// The request pool (job records are small, single-row statements).
    Database(Arc<Database>),
}

impl JobStore {
    /// Redis when configured, else the database.
    pub fn choose(redis: &Arc<Redis>, db: &Arc<Database>) -> Self {
        if redis.enabled() {
            Self::Redis(redis.clone())
        } else {
            Self::Database(db.clone())
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Redis(_) => "redis",
            Self::Database(_) => "database",
        }
    }

    pub async fn insert(
        &self,
        record: &JobRecord,
        result: Option<&str>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Self::Database(db) => {
                report_jobs::insert(&db.request, &to_row(record)?, result).await?;
            }
            Self::Redis(redis) => {
                let key = job_key(redis, &record.id);
                let text = serde_json::to_string(record).map_err(StoreError::other)?;
                let mut pipe = ::redis::pipe();
                pipe.atomic()
                    .cmd("HSET")
                    .arg(&key)
                    .arg("record")
                    .arg(text)
                    .arg("state")
                    .arg(record.state.as_str())
                    .arg("progress")
                    .arg(record.progress)
                    .arg("heartbeat_ms")
                    .arg(record.heartbeat_at.timestamp_millis())
                    .arg("expires_ms")
                    .arg(record.expires_at.timestamp_millis())
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(millis(ttl + RECORD_GRACE))
                    .ignore();
                if let Some(ms) = record.started_at.map(|t| t.timestamp_millis()) {
                    pipe.cmd("HSET")
                        .arg(&key)
                        .arg("started_ms")
                        .arg(ms)
                        .ignore();
                }
                if let Some(ms) = record.finished_at.map(|t| t.timestamp_millis()) {
                    pipe.cmd("HSET")
                        .arg(&key)
                        .arg("finished_ms")
                        .arg(ms)
                        .ignore();
                }
                if let Some(result) = result {
                    pipe.cmd("SET")
                        .arg(result_key(redis, &record.id))
                        .arg(result)
                        .arg("PX")
                        .arg(millis(ttl))
                        .ignore();
                }
                redis.pipe::<()>(&pipe).await?;
            }
        }
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        match self {
            Self::Database(db) => match report_jobs::get(&db.request, id).await? {
                Some(row) => Ok(Some(from_row(row)?)),
                None => Ok(None),
            },
            Self::Redis(redis) => {
                let fields: HashMap<String, String> = redis
                    .run(::redis::cmd("HGETALL").arg(job_key(redis, id)))
                    .await?;
                from_hash(&fields)
            }
        }
    }

    /// The result while it is kept.
    pub async fn result(&self, id: &str) -> Result<Option<String>, StoreError> {
        match self {
            Self::Database(db) => Ok(report_jobs::result(&db.request, id, Utc::now()).await?),
            Self::Redis(redis) => Ok(redis
                .run(::redis::cmd("GET").arg(result_key(redis, id)))
                .await?),
        }
    }

    pub async fn mark_running(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        match self {
            Self::Database(db) => report_jobs::mark_running(&db.request, id, at).await?,
            Self::Redis(redis) => {
                let ms = at.timestamp_millis();
                redis
                    .run::<()>(
                        ::redis::cmd("HSET")
                            .arg(job_key(redis, id))
                            .arg("state")
                            .arg(JobState::Running.as_str())
                            .arg("started_ms")
                            .arg(ms)
                            .arg("heartbeat_ms")
                            .arg(ms),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes the heartbeat and progress; the cancel reason when a cancel was asked for.
    pub async fn heartbeat(
        &self,
        id: &str,
        at: DateTime<Utc>,
        progress: u8,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Self::Database(db) => Ok(report_jobs::heartbeat(&db.request, id, at, progress).await?),
            Self::Redis(redis) => {
                let key = job_key(redis, id);
                let mut pipe = ::redis::pipe();
                pipe.cmd("HSET")
                    .arg(&key)
                    .arg("heartbeat_ms")
                    .arg(at.timestamp_millis())
                    .arg("progress")
                    .arg(progress)
                    .ignore()
                    .cmd("HGET")
                    .arg(&key)
                    .arg("cancel");
                let (cancel,): (Option<String>,) = redis.pipe(&pipe).await?;
                Ok(cancel)
            }
        }
    }

    pub async fn finish(
        &self,
        id: &str,
        outcome: &Outcome<'_>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Self::Database(db) => {
                report_jobs::finish(
                    &db.request,
                    id,
                    &Finish {
                        state: outcome.state.as_str(),
                        progress: outcome.progress,
                        error: outcome.error,
                        result: outcome.result,
                        at: outcome.at,
                        expires_at: outcome.expires_at,
                    },
                )
                .await?;
            }
            Self::Redis(redis) => {
                let key = job_key(redis, id);
                let at = outcome.at.timestamp_millis();
                let mut pipe = ::redis::pipe();
                pipe.atomic()
                    .cmd("HSET")
                    .arg(&key)
                    .arg("state")
                    .arg(outcome.state.as_str())
                    .arg("progress")
                    .arg(outcome.progress)
                    .arg("finished_ms")
                    .arg(at)
                    .arg("heartbeat_ms")
                    .arg(at)
                    .arg("expires_ms")
                    .arg(outcome.expires_at.timestamp_millis())
                    .ignore()
                    .cmd("HDEL")
                    .arg(&key)
                    .arg("cancel")
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(millis(ttl + RECORD_GRACE))
                    .ignore();
                if let Some(error) = outcome.error {
                    pipe.cmd("HSET").arg(&key).arg("error").arg(error).ignore();
                }
                if let Some(result) = outcome.result {
                    pipe.cmd("SET")
                        .arg(result_key(redis, id))
                        .arg(result)
                        .arg("PX")
                        .arg(millis(ttl))
                        .ignore();
                }
                redis.pipe::<()>(&pipe).await?;
            }
        }
        Ok(())
    }

    /// Asks the job's worker to cancel it (it acts within a beat).
    pub async fn request_cancel(&self, id: &str, reason: &str) -> Result<(), StoreError> {
        match self {
            Self::Database(db) => {
                report_jobs::request_cancel(&db.request, id, reason).await?;
            }
            Self::Redis(redis) => {
                let key = job_key(redis, id);
                // Only on a job that still exists (HSET would create a stray hash).
                let exists: bool = redis
                    .run(::redis::cmd("HEXISTS").arg(&key).arg("record"))
                    .await?;
                if exists {
                    redis
                        .run::<()>(::redis::cmd("HSET").arg(&key).arg("cancel").arg(reason))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the database's records past their result's expiry and [`RECORD_GRACE`].
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        match self {
            Self::Database(db) => {
                let grace = chrono::Duration::from_std(RECORD_GRACE).unwrap_or_default();
                Ok(report_jobs::sweep(&db.request, now - grace).await?)
            }
            Self::Redis(_) => Ok(0),
        }
    }
}

fn job_key(redis: &Redis, id: &str) -> String {
    redis.key(&format!("job:{id}"))
}

fn result_key(redis: &Redis, id: &str) -> String {
    redis.key(&format!("job:{id}:result"))
}

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

fn to_row(r: &JobRecord) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: r.id.clone(),
        kind: r.kind.clone(),
        owner: r.owner.clone(),
        state: r.state.as_str().to_string(),
        progress: i64::from(r.progress),
        params: serde_json::to_string(&r.params).map_err(StoreError::other)?,
        error: r.error.clone(),
        cancel_requested: r.cancel_requested,
        worker: r.worker.clone(),
        heartbeat_at: r.heartbeat_at,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        expires_at: r.expires_at,
    })
}

fn from_row(row: JobRow) -> Result<JobRecord, StoreError> {
    let state = JobState::parse(&row.state)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown state {:?}", row.state)))?;
    Ok(JobRecord {
        params: serde_json::from_str(&row.params).map_err(StoreError::other)?,
        progress: row.progress.clamp(0, 100) as u8,
        cancel_requested: row.cancel_requested && !state.is_final(),
        state,
        id: row.id,
        kind: row.kind,
        owner: row.owner,
        error: row.error,
        worker: row.worker,
        heartbeat_at: row.heartbeat_at,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        expires_at: row.expires_at,
    })
}

fn from_hash(fields: &HashMap<String, String>) -> Result<Option<JobRecord>, StoreError> {
    let Some(text) = fields.get("record") else {
        return Ok(None);
    };
    let mut record: JobRecord = serde_json::from_str(text).map_err(StoreError::other)?;
    let time = |name: &str| {
        fields
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis)
    };
    if let Some(state) = fields.get("state").and_then(|s| JobState::parse(s)) {
        record.state = state;
    }
    if let Some(p) = fields.get("progress").and_then(|p| p.parse::<u8>().ok()) {
        record.progress = p.min(100);
    }
    if let Some(t) = time("heartbeat_ms") {
        record.heartbeat_at = t;
    }
    if let Some(t) = time("expires_ms") {
        record.expires_at = t;
    }
    record.started_at = time("started_ms").or(record.started_at);
    record.finished_at = time("finished_ms").or(record.finished_at);
    let cancel = fields.get("cancel");
    record.cancel_requested = cancel.is_some() && !record.state.is_final();
    record.error = fields
        .get("error")
        .cloned()
        .or_else(|| cancel.filter(|_| record.cancel_requested).cloned());
    Ok(Some(record))
}
