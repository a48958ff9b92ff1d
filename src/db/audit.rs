//! The audit log: every administrative decision (restart requests, page status changes, …),
//! stored in the database so every worker and instance writes to, and reads from, one place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

/// One decision to record.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// Who: a user name, or `system` / `watchdog` / `signal` for automatic actions.
    pub actor: &'a str,
    /// The client address of the request, when there was one.
    pub ip: Option<&'a str>,
    /// What, as a dotted verb: `worker.restart`, `page.status`, …
    pub action: &'a str,
    /// On what (a page route, a worker generation, …).
    pub target: Option<&'a str>,
    /// Structured detail (decision, reason, override, …).
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub ip: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// The stable id of a record written somewhere else first (the supervisor's); `None` for
    /// the application's own rows.
    pub record_id: Option<String>,
    /// JSON text as stored; parsed for the API.
    #[serde(skip)]
    pub detail: Option<String>,
}

impl Entry {
    /// The detail as JSON (`null` when absent or unreadable).
    pub fn detail_json(&self) -> serde_json::Value {
        self.detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

pub async fn record(pool: &DbPool, entry: &NewEntry<'_>) -> Result<(), DbError> {
    insert(pool, entry, Utc::now(), None).await.map(|_| ())
}

/// Records an entry under its own time and a stable id (the supervisor's records, which may
/// reach the database late, copied from its file audit log). A second insert of the same id
/// changes nothing, so retrying a copy never duplicates. Returns whether the row is new.
pub async fn record_once(
    pool: &DbPool,
    entry: &NewEntry<'_>,
    at: DateTime<Utc>,
    record_id: &str,
) -> Result<bool, DbError> {
    insert(pool, entry, at, Some(record_id)).await
}

async fn insert(
    pool: &DbPool,
    entry: &NewEntry<'_>,
    at: DateTime<Utc>,
    record_id: Option<&str>,
) -> Result<bool, DbError> {
    let detail = entry.detail.to_string();
    // The two backends' query results differ in type: map inside each expansion.
    with_conn!(pool, |c| async {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, ip, action, target, detail, record_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (record_id) DO NOTHING",
        )
        .bind(at)
        .bind(entry.actor)
        .bind(entry.ip)
        .bind(entry.action)
        .bind(entry.target)
        .bind(&detail)
        .bind(record_id)
        .execute(&mut *c)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// The newest entries first, optionally only one action.
pub async fn recent(
    pool: &DbPool,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, Entry>(
        "SELECT id, at, actor, ip, action, target, record_id, detail FROM audit_log \
         WHERE ($1 IS NULL OR action = $1) ORDER BY id DESC LIMIT $2"
    )
    .bind(action)
    .bind(limit)
    .fetch_all(&mut *c))
}
