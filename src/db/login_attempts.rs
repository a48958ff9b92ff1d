//! The `login_attempts` table: login counts shared by every worker and instance when Redis is
//! not configured or not answering (`crate::auth::rate_limit`).

use chrono::{DateTime, Utc};

use super::{DbError, DbPool};
use crate::with_conn;

/// Adds `by` to the count of `key` (a window that ended starts again at `window_ends_at`); the
/// count and the end of its window. One statement, so concurrent workers never lose a count.
pub async fn add(
    pool: &DbPool,
    key: &str,
    by: i64,
    now: DateTime<Utc>,
    window_ends_at: DateTime<Utc>,
) -> Result<(i64, DateTime<Utc>), DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, (i64, DateTime<Utc>)>(
        "INSERT INTO login_attempts (key, count, window_ends_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN login_attempts.window_ends_at <= $4 THEN excluded.count \
                        ELSE login_attempts.count + excluded.count END, \
           window_ends_at = CASE WHEN login_attempts.window_ends_at <= $4 \
                                 THEN excluded.window_ends_at \
                                 ELSE login_attempts.window_ends_at END \
         RETURNING count, window_ends_at"
    )
    .bind(key)
    .bind(by)
    .bind(window_ends_at)
    .bind(now)
    .fetch_one(&mut *c))
}

/// Removes every window that ended at `now`; how many.
pub async fn delete_expired(pool: &DbPool, now: DateTime<Utc>) -> Result<u64, DbError> {
    with_conn!(pool, |c| async {
        sqlx::query("DELETE FROM login_attempts WHERE window_ends_at <= $1")
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })
}
