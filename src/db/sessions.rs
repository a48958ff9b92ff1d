//! The `sessions` table: the store of record of every session (DESIGN §4.3). Redis and the
//! in-process cache only speed reads up (`crate::session::store`).

use chrono::{DateTime, Utc};

use super::{DbError, DbPool};
use crate::with_conn;

/// A stored session: its data as JSON text and when it ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSession {
    pub data: String,
    pub expires_at: DateTime<Utc>,
}

/// The session `id` unless it is missing or expired at `now`.
pub async fn get(
    pool: &DbPool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredSession>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, StoredSession>(
        "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2"
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *c))
}

pub async fn insert(
    pool: &DbPool,
    id: &str,
    data: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    with_conn!(pool, |c| async {
        sqlx::query("INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(data)
            .bind(expires_at)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
}

/// Rewrites a live session; false when it no longer exists (logged out elsewhere, expired).
pub async fn update(
    pool: &DbPool,
    id: &str,
    data: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE sessions SET data = $2, expires_at = $3 WHERE id = $1 AND expires_at > $4",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

pub async fn delete(pool: &DbPool, id: &str) -> Result<(), DbError> {
    with_conn!(pool, |c| async {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
}

/// Removes every session expired at `now`; how many.
pub async fn delete_expired(pool: &DbPool, now: DateTime<Utc>) -> Result<u64, DbError> {
    with_conn!(pool, |c| async {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })
}

/// Most ids asked about in one statement (well under both backends' parameter limits).
const LIVE_IDS_CHUNK: usize = 500;

/// Which of `ids` are live sessions at `now` (the others were logged out or expired): one
/// statement per [`LIVE_IDS_CHUNK`] ids, whatever the backend.
pub async fn live_ids(
    pool: &DbPool,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<std::collections::HashSet<String>, DbError> {
    let mut live = std::collections::HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(LIVE_IDS_CHUNK) {
        // Only placeholders are formatted in; the ids themselves are bound.
        let placeholders = (2..chunk.len() + 2)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(",");
        let sql =
            format!("SELECT id FROM sessions WHERE expires_at > $1 AND id IN ({placeholders})");
        let found: Vec<String> = with_conn!(pool, |c| {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(now);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(&mut *c)
        })?;
        live.extend(found);
    }
    Ok(live)
}
