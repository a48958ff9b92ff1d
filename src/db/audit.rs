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
    let detail = entry.detail.to_string();
    let now = Utc::now();
    // The two backends' query results differ in type: map to () inside each expansion.
    with_conn!(pool, |c| async {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, ip, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now)
        .bind(entry.actor)
        .bind(entry.ip)
        .bind(entry.action)
        .bind(entry.target)
        .bind(&detail)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })
}

/// The newest entries first, optionally only one action.
pub async fn recent(
    pool: &DbPool,
    action: Option<&str>,
    limit: i64,
) -> Result<Vec<Entry>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, Entry>(
        "SELECT id, at, actor, ip, action, target, detail FROM audit_log \
         WHERE ($1 IS NULL OR action = $1) ORDER BY id DESC LIMIT $2"
    )
    .bind(action)
    .bind(limit)
    .fetch_all(&mut *c))
}
