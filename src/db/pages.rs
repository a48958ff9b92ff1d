//! The page registry (`pages`): which report pages are released to everyone and which are
//! still in development (administrators only).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PageRow {
    pub route: String,
    pub title: String,
    /// `released` or `dev`.
    pub status: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
}

pub async fn list(pool: &DbPool) -> Result<Vec<PageRow>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, PageRow>(
        "SELECT route, title, status, updated_at, updated_by FROM pages ORDER BY route"
    )
    .fetch_all(&mut *c))
}

/// The stored status of `route`, if it is registered.
pub async fn status(pool: &DbPool, route: &str) -> Result<Option<String>, DbError> {
    with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT status FROM pages WHERE route = $1"
    )
    .bind(route)
    .fetch_optional(&mut *c))
}

/// Sets the status of `route` (registering it when needed) and returns the row.
pub async fn set_status(
    pool: &DbPool,
    route: &str,
    title: &str,
    status: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<PageRow, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, PageRow>(
        "INSERT INTO pages (route, title, status, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (route) DO UPDATE SET status = $3, updated_at = $4, updated_by = $5 \
         RETURNING route, title, status, updated_at, updated_by"
    )
    .bind(route)
    .bind(title)
    .bind(status)
    .bind(now)
    .bind(by)
    .fetch_one(&mut *c))
}
