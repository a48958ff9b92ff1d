//! The hold history's aggregates, computed in SQL so a year of events comes back as a few
//! thousand rows: new holds and releases per day and reason, the holds open at an instant
//! per reason, and the repeated holds of a window.
//!
//! Days are counted from an origin the caller gives (the start of its first shift day): whole
//! days from it. The caller only passes windows whose days
//! are all 24 h long (or a single day), so the index is the shift day; how shift days fall in
//! the plant's time zone stays out of SQL.

use chrono::{DateTime, Utc};

use super::hold_events::Reasons;
use super::maintenance::in_list;
use super::{Backend, DbError, DbPool};
use crate::with_conn;

/// New holds of one day and reason.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NewRow {
    pub day: i64,
    pub hold_reason: Option<String>,
    pub count: i64,
    pub quantity: i64,
    /// Of them, future holds.
    pub future: i64,
}

/// Releases of one day and reason, with their hold durations (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReleasedRow {
    pub day: i64,
    pub hold_reason: Option<String>,
    pub count: i64,
    pub quantity: i64,
    pub duration_ms_sum: i64,
    pub duration_ms_max: i64,
    /// Durations < 4 h, 4–24 h, 1–3 d, ≥ 3 d (a duration on a boundary goes up).
    pub under_4h: i64,
    pub under_24h: i64,
    pub under_3d: i64,
    pub over_3d: i64,
}

/// Holds open at an instant, per reason.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenRow {
    pub hold_reason: Option<String>,
    pub count: i64,
    pub lots: i64,
    pub quantity: i64,
}

/// Whole days from `$3` (the origin, a timestamp) to a timestamp column.
fn day(backend: Backend, column: &str) -> String {
    match backend {
        // An interval between two timestamps has days and a time, never months.
        Backend::Postgres => format!("CAST(date_part('day', {column} - $3) AS BIGINT)"),
        Backend::Sqlite => format!(
            "(CAST(strftime('%s', {column}) AS INTEGER) - CAST(strftime('%s', $3) AS INTEGER)) \
             / 86400"
        ),
    }
}

/// Release minus hold, in whole milliseconds (double precision, not PostgreSQL's numeric
/// `EXTRACT`: it is computed for every release of the range). The detail's duration filter
/// compares the same expression, so a filtered detail lists what a bucket counts.
pub(super) fn duration_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "CAST(round(date_part('epoch', release_at - hold_at) * 1000) AS BIGINT)"
        }
        Backend::Sqlite => {
            "CAST(round((julianday(release_at) - julianday(hold_at)) * 86400000.0) AS INTEGER)"
        }
    }
}

/// New holds in `[from, to)` per day (whole days since `origin`) and reason.
pub async fn new_by_day(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    origin: DateTime<Utc>,
) -> Result<Vec<NewRow>, DbError> {
    let day = day(pool.backend(), "hold_at");
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {day} AS day, hold_reason, CAST(count(*) AS BIGINT) AS count, \
         CAST(sum(quantity) AS BIGINT) AS quantity, \
         CAST(sum(CASE WHEN future_hold THEN 1 ELSE 0 END) AS BIGINT) AS future \
         FROM hold_events WHERE hold_at >= $1 AND hold_at < $2 GROUP BY 1, 2"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, NewRow>(sql)
        .bind(from)
        .bind(to)
        .bind(origin)
        .fetch_all(&mut *c))
}

/// Releases in `[from, to)` per day (since `origin`) and reason, with their durations.
pub async fn released_by_day(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    origin: DateTime<Utc>,
) -> Result<Vec<ReleasedRow>, DbError> {
    let day = day(pool.backend(), "release_at");
    let d = duration_ms(pool.backend());
    // The duration once per row, in a subquery; the buckets compare it.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT day, hold_reason, CAST(count(*) AS BIGINT) AS count, \
         CAST(sum(quantity) AS BIGINT) AS quantity, \
         CAST(sum(d) AS BIGINT) AS duration_ms_sum, CAST(max(d) AS BIGINT) AS duration_ms_max, \
         CAST(sum(CASE WHEN d < 14400000 THEN 1 ELSE 0 END) AS BIGINT) AS under_4h, \
         CAST(sum(CASE WHEN d >= 14400000 AND d < 86400000 THEN 1 ELSE 0 END) AS BIGINT) \
         AS under_24h, \
         CAST(sum(CASE WHEN d >= 86400000 AND d < 259200000 THEN 1 ELSE 0 END) AS BIGINT) \
         AS under_3d, \
         CAST(sum(CASE WHEN d >= 259200000 THEN 1 ELSE 0 END) AS BIGINT) AS over_3d \
         FROM (SELECT {day} AS day, hold_reason, quantity, {d} AS d FROM hold_events \
         WHERE release_at >= $1 AND release_at < $2) released GROUP BY 1, 2"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, ReleasedRow>(sql)
        .bind(from)
        .bind(to)
        .bind(origin)
        .fetch_all(&mut *c))
}

/// Holds open at `at` (held before it, not released by then), per reason.
pub async fn open_at(pool: &DbPool, at: DateTime<Utc>) -> Result<Vec<OpenRow>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, OpenRow>(
        "SELECT hold_reason, CAST(count(*) AS BIGINT) AS count, \
         CAST(count(DISTINCT lot_id) AS BIGINT) AS lots, \
         CAST(sum(quantity) AS BIGINT) AS quantity FROM hold_events \
         WHERE hold_at < $1 AND (release_at IS NULL OR release_at >= $1) GROUP BY hold_reason"
    )
    .bind(at)
    .fetch_all(&mut *c))
}

/// Holds in `[from, to)` with `reasons` on a lot that already had one of them earlier in the
/// window: all of them minus one per lot.
pub async fn repeated(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reasons: Reasons<'_>,
) -> Result<i64, DbError> {
    let (filter, list): (String, &[String]) = match reasons {
        Reasons::All | Reasons::Except([]) => (String::new(), &[]),
        Reasons::Only([]) => return Ok(0),
        Reasons::Missing => (" AND hold_reason IS NULL".to_string(), &[]),
        Reasons::Only(list) => (
            format!(" AND {}", in_list("hold_reason", 3, list.len())),
            list,
        ),
        Reasons::Except(list) => (
            format!(
                " AND (hold_reason IS NULL OR NOT {})",
                in_list("hold_reason", 3, list.len())
            ),
            list,
        ),
    };
    // Grouped by lot (hashed) rather than `count(DISTINCT lot_id)` (sorted): several times
    // faster over a year of events.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COALESCE(sum(n - 1), 0) AS BIGINT) FROM (SELECT count(*) AS n \
         FROM hold_events WHERE hold_at >= $1 AND hold_at < $2{filter} \
         GROUP BY lot_id HAVING count(*) > 1) repeats"
    ));
    let postgres = pool.backend() == Backend::Postgres;
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        if postgres {
            // A year holds some 200 000 lots: room to hash them in memory instead of spilling
            // to disk (the default work_mem is 4 MB), for this statement only.
            sqlx::query("SET LOCAL work_mem = '64MB'")
                .execute(&mut *tx)
                .await?;
        }
        let mut query = sqlx::query_scalar::<_, i64>(sql).bind(from).bind(to);
        for reason in list {
            query = query.bind(reason.as_str());
        }
        let repeated = query.fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(repeated)
    })
}
