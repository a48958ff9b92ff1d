//! The `report_jobs` table: background jobs and their results when Redis is not configured
//! (see `jobs/store.rs`). Writes are single statements, so two instances never interleave a
//! job's fields; only the job's worker writes its state, a cancel only raises a flag.

use chrono::{DateTime, Utc};

use super::{DbError, DbPool};
use crate::with_conn;

/// One row, as stored (`params` and `result` are JSON text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub owner: String,
    pub state: String,
    pub progress: i64,
    pub params: String,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub worker: String,
    pub heartbeat_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// How a job ended, as [`finish`] writes it.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub state: &'a str,
    pub progress: u8,
    pub error: Option<&'a str>,
    pub result: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, kind, owner, state, CAST(progress AS BIGINT) AS progress, params, \
     error, cancel_requested, worker, heartbeat_at, created_at, started_at, finished_at, \
     expires_at";

pub async fn insert(pool: &DbPool, row: &JobRow, result: Option<&str>) -> Result<(), DbError> {
    with_conn!(pool, |c| async {
        sqlx::query(
            "INSERT INTO report_jobs (id, kind, owner, state, progress, params, result, error, \
         cancel_requested, worker, heartbeat_at, created_at, started_at, finished_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&row.id)
        .bind(&row.kind)
        .bind(&row.owner)
        .bind(&row.state)
        .bind(row.progress as i32)
        .bind(&row.params)
        .bind(result)
        .bind(&row.error)
        .bind(row.cancel_requested)
        .bind(&row.worker)
        .bind(row.heartbeat_at)
        .bind(row.created_at)
        .bind(row.started_at)
        .bind(row.finished_at)
        .bind(row.expires_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn get(pool: &DbPool, id: &str) -> Result<Option<JobRow>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM report_jobs WHERE id = $1"));
    with_conn!(pool, |c| sqlx::query_as::<_, JobRow>(sql)
        .bind(id)
        .fetch_optional(&mut *c))
}

/// The result of a finished job while it is kept (`None` once expired or when there is none).
pub async fn result(
    pool: &DbPool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbError> {
    let found = with_conn!(pool, |c| sqlx::query_scalar::<_, Option<String>>(
        "SELECT result FROM report_jobs WHERE id = $1 AND expires_at > $2"
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *c))?;
    Ok(found.flatten())
}

pub async fn mark_running(pool: &DbPool, id: &str, at: DateTime<Utc>) -> Result<(), DbError> {
    with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE report_jobs SET state = 'running', started_at = $2, heartbeat_at = $2 \
         WHERE id = $1 AND state = 'queued'",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Writes the heartbeat and progress; the cancel reason when a cancel was asked for.
pub async fn heartbeat(
    pool: &DbPool,
    id: &str,
    at: DateTime<Utc>,
    progress: u8,
) -> Result<Option<String>, DbError> {
    let row = with_conn!(pool, |c| sqlx::query_as::<_, (bool, Option<String>)>(
        "UPDATE report_jobs SET heartbeat_at = $2, progress = $3 WHERE id = $1 \
         RETURNING cancel_requested, error"
    )
    .bind(id)
    .bind(at)
    .bind(i32::from(progress))
    .fetch_optional(&mut *c))?;
    Ok(match row {
        Some((true, reason)) => Some(reason.unwrap_or_else(|| "cancelled".into())),
        _ => None,
    })
}

pub async fn finish(pool: &DbPool, id: &str, f: &Finish<'_>) -> Result<(), DbError> {
    with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE report_jobs SET state = $2, progress = $3, error = $4, result = $5, \
         finished_at = $6, heartbeat_at = $6, expires_at = $7, cancel_requested = FALSE \
         WHERE id = $1",
        )
        .bind(id)
        .bind(f.state)
        .bind(i32::from(f.progress))
        .bind(f.error)
        .bind(f.result)
        .bind(f.at)
        .bind(f.expires_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Raises the cancel flag of a job still queued or running; false when there is none.
pub async fn request_cancel(pool: &DbPool, id: &str, reason: &str) -> Result<bool, DbError> {
    let changed = with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE report_jobs SET cancel_requested = TRUE, error = $2 \
         WHERE id = $1 AND state IN ('queued', 'running')",
        )
        .bind(id)
        .bind(reason)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(changed > 0)
}

/// Deletes jobs whose result expired before `before` and whose worker is silent since.
pub async fn sweep(pool: &DbPool, before: DateTime<Utc>) -> Result<u64, DbError> {
    let done = with_conn!(pool, |c| async {
        sqlx::query("DELETE FROM report_jobs WHERE expires_at < $1 AND heartbeat_at < $1")
            .bind(before)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(done)
}
