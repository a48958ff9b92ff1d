//! Hold and release events: what the hold history reads (every event touching a window, or a
//! filtered, sorted page of them), a lot's own holds, and the two writes that hold and release
//! a lot, keeping its row and its events consistent.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lots::STATUS_RULE_SQL;
use super::maintenance::in_list;
use super::{Backend, DbError, DbPool};
use crate::with_conn;

/// One `hold_events` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct HoldEvent {
    pub id: i64,
    pub lot_id: String,
    pub product: Option<String>,
    pub package_id: Option<String>,
    pub workcenter_id: String,
    pub step: Option<String>,
    pub quantity: i64,
    /// `None`: held without a reason (a quality hold by the classification rule).
    pub hold_reason: Option<String>,
    pub hold_at: DateTime<Utc>,
    pub hold_by: Option<String>,
    pub hold_department: Option<String>,
    pub hold_comment: Option<String>,
    /// The hold was placed ahead of time, to take effect when the lot reached this step.
    pub future_hold: bool,
    pub future_hold_comment: Option<String>,
    /// `None` while the lot is on hold.
    pub release_at: Option<DateTime<Utc>>,
    pub release_by: Option<String>,
}

const SELECT: &str = "SELECT CAST(id AS BIGINT) AS id, lot_id, product, package_id, \
     workcenter_id, step, CAST(quantity AS BIGINT) AS quantity, hold_reason, hold_at, hold_by, \
     hold_department, hold_comment, future_hold, future_hold_comment, release_at, release_by \
     FROM hold_events";

/// Every event that touches `[from, to)`: held before its end and not released before its
/// start (held in it, released in it, or on hold across it), oldest hold first.
pub async fn overlapping(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HoldEvent>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE hold_at < $2 AND (release_at IS NULL OR release_at >= $1) \
         ORDER BY hold_at, id"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, HoldEvent>(sql)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c))
}

/// The holds not yet released, oldest first.
pub async fn open_events(pool: &DbPool) -> Result<Vec<HoldEvent>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE release_at IS NULL ORDER BY hold_at, id"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, HoldEvent>(sql)
        .fetch_all(&mut *c))
}

/// Every hold of one lot, oldest first.
pub async fn for_lot(pool: &DbPool, lot_id: &str) -> Result<Vec<HoldEvent>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE lot_id = $1 ORDER BY hold_at, id"));
    with_conn!(pool, |c| sqlx::query_as::<_, HoldEvent>(sql)
        .bind(lot_id)
        .fetch_all(&mut *c))
}

/// Which events of a window a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Held within the window.
    New,
    /// Released within the window.
    Released,
    /// Still on hold at the window's end (held before it, not released by then).
    OnHold,
    /// Any of the three.
    Any,
}

/// Which reasons a page lists.
#[derive(Debug, Clone, Copy)]
pub enum Reasons<'a> {
    All,
    /// These reasons only (the non-quality holds, or one reason).
    Only(&'a [String]),
    /// Every other reason and holds without one (the quality holds).
    Except(&'a [String]),
    /// Holds without a reason only.
    Missing,
}

/// Holds released in the window after being held for `[at_least_ms, under_ms)` (a duration
/// on a boundary goes up, as the hold history's buckets count it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldFor {
    pub at_least_ms: i64,
    /// `None`: no upper bound.
    pub under_ms: Option<i64>,
}

/// The orders a page can be listed in; every order ends with the event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    HoldAt,
    ReleaseAt,
    /// Released minus held; holds still open count until the window's end.
    Duration,
    LotId,
    Reason,
    Workcenter,
    Quantity,
}

/// One page of a window's events.
#[derive(Debug, Clone)]
pub struct EventQuery<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub record: Record,
    pub reasons: Reasons<'a>,
    /// Only holds released in the window after this long (with any record type).
    pub held_for: Option<HeldFor>,
    pub sort: SortBy,
    pub descending: bool,
    pub limit: u32,
    pub offset: u64,
}

/// A page and how many events match in all.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    pub total: i64,
    pub events: Vec<HoldEvent>,
}

/// The WHERE clause of a query (`$1` from, `$2` to, reasons from `$3`) and its reasons.
fn filter(backend: Backend, q: &EventQuery<'_>) -> (String, Vec<String>) {
    let mut sql = String::from(match q.record {
        Record::New => " WHERE hold_at >= $1 AND hold_at < $2",
        Record::Released => " WHERE release_at >= $1 AND release_at < $2",
        // `$1 <= $2` keeps every bound parameter in the text (and an inverted window empty).
        Record::OnHold => {
            " WHERE hold_at < $2 AND (release_at IS NULL OR release_at >= $2) AND $1 <= $2"
        }
        Record::Any => " WHERE hold_at < $2 AND (release_at IS NULL OR release_at >= $1)",
    });
    let reasons = match q.reasons {
        Reasons::All => &[][..],
        Reasons::Only([]) => {
            sql.push_str(" AND 1 = 0");
            &[][..]
        }
        Reasons::Only(list) => {
            sql.push_str(" AND ");
            sql.push_str(&in_list("hold_reason", 3, list.len()));
            list
        }
        Reasons::Except([]) => &[][..],
        Reasons::Except(list) => {
            let listed = in_list("hold_reason", 3, list.len());
            sql.push_str(&format!(" AND (hold_reason IS NULL OR NOT {listed})"));
            list
        }
        Reasons::Missing => {
            sql.push_str(" AND hold_reason IS NULL");
            &[][..]
        }
    };
    if let Some(held) = q.held_for {
        // The bounds are integers of ours, written into the text.
        let d = super::hold_history::duration_ms(backend);
        sql.push_str(&format!(
            " AND release_at >= $1 AND release_at < $2 AND {d} >= {}",
            held.at_least_ms
        ));
        if let Some(under) = held.under_ms {
            sql.push_str(&format!(" AND {d} < {under}"));
        }
    }
    (sql, reasons.to_vec())
}

fn order_by(backend: Backend, q: &EventQuery<'_>) -> String {
    let column = match (q.sort, backend) {
        (SortBy::HoldAt, _) => "hold_at",
        (SortBy::ReleaseAt, _) => "release_at",
        (SortBy::Duration, Backend::Postgres) => "COALESCE(release_at, $2) - hold_at",
        (SortBy::Duration, Backend::Sqlite) => {
            "julianday(COALESCE(release_at, $2)) - julianday(hold_at)"
        }
        (SortBy::LotId, _) => "lot_id",
        (SortBy::Reason, _) => "hold_reason",
        (SortBy::Workcenter, _) => "workcenter_id",
        (SortBy::Quantity, _) => "quantity",
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    // Nulls (an open hold's release, a missing reason) last either way, the same on both.
    // A column that is never null goes without that term, so its index can serve the order.
    let nullable = matches!(
        q.sort,
        SortBy::ReleaseAt | SortBy::Duration | SortBy::Reason
    );
    if nullable {
        format!(" ORDER BY ({column}) IS NULL, {column} {dir}, id {dir}")
    } else {
        format!(" ORDER BY {column} {dir}, id {dir}")
    }
}

/// One page of the events `q` selects, and their total.
pub async fn page(pool: &DbPool, q: &EventQuery<'_>) -> Result<EventPage, DbError> {
    let (filter, reasons) = filter(pool.backend(), q);
    let next = 3 + reasons.len();
    let count = sqlx::AssertSqlSafe(format!(
        "SELECT CAST(count(*) AS BIGINT) FROM hold_events{filter}"
    ));
    let list = sqlx::AssertSqlSafe(format!(
        "{SELECT}{filter}{} LIMIT ${next} OFFSET ${}",
        order_by(pool.backend(), q),
        next + 1
    ));
    let limit = i64::from(q.limit);
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    with_conn!(pool, |c| async {
        let mut counting = sqlx::query_scalar::<_, i64>(count).bind(q.from).bind(q.to);
        let mut listing = sqlx::query_as::<_, HoldEvent>(list).bind(q.from).bind(q.to);
        for reason in &reasons {
            counting = counting.bind(reason.as_str());
            listing = listing.bind(reason.as_str());
        }
        let total = counting.fetch_one(&mut *c).await?;
        let events = listing.bind(limit).bind(offset).fetch_all(&mut *c).await?;
        Ok::<_, sqlx::Error>(EventPage { total, events })
    })
}

/// A hold to place on a lot.
#[derive(Debug, Clone)]
pub struct NewHold<'a> {
    pub lot_id: &'a str,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub department: Option<&'a str>,
    pub comment: Option<&'a str>,
    /// The hold is a future hold taking effect; its comment (or the lot's pending one) goes
    /// with it.
    pub future_hold: bool,
    pub future_hold_comment: Option<&'a str>,
}

/// Holds a lot: its row (hold columns, status by the rule — a lot on a tool stays RUN) and a
/// new open event with the lot's place and quantity, in one transaction. False when the lot
/// is unknown or already held.
pub async fn hold_lot(pool: &DbPool, hold: &NewHold<'_>) -> Result<bool, DbError> {
    let update = sqlx::AssertSqlSafe(format!(
        "UPDATE lots SET status = {STATUS_RULE_SQL} WHERE lot_id = $1"
    ));
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let held = sqlx::query(
            "UPDATE lots SET hold_reason = $2, hold_at = $3, hold_by = $4, \
             hold_department = $5, hold_comment = $6, updated_at = $3, \
             future_hold_comment = CASE WHEN $7 THEN COALESCE($8, future_hold_comment) \
             ELSE future_hold_comment END \
             WHERE lot_id = $1 AND hold_at IS NULL",
        )
        .bind(hold.lot_id)
        .bind(hold.reason)
        .bind(hold.at)
        .bind(hold.by)
        .bind(hold.department)
        .bind(hold.comment)
        .bind(hold.future_hold)
        .bind(hold.future_hold_comment)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if held == 0 {
            return Ok(false);
        }
        sqlx::query(update)
            .bind(hold.lot_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO hold_events (lot_id, product, package_id, workcenter_id, step, \
             quantity, hold_reason, hold_at, hold_by, hold_department, hold_comment, \
             future_hold, future_hold_comment, release_at, release_by) \
             SELECT lot_id, product, package_id, workcenter_id, step, quantity, hold_reason, \
             hold_at, hold_by, hold_department, hold_comment, $2, \
             CASE WHEN $2 THEN future_hold_comment END, NULL, NULL FROM lots WHERE lot_id = $1",
        )
        .bind(hold.lot_id)
        .bind(hold.future_hold)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Releases a lot's hold: closes its open event and clears the row's hold columns (and the
/// future-hold comment the hold consumed), status by the rule, in one transaction. False when
/// the lot is unknown or not held.
pub async fn release_lot(
    pool: &DbPool,
    lot_id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let update = sqlx::AssertSqlSafe(format!(
        "UPDATE lots SET status = {STATUS_RULE_SQL} WHERE lot_id = $1"
    ));
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let future = sqlx::query_scalar::<_, bool>(
            "SELECT future_hold FROM hold_events WHERE lot_id = $1 AND release_at IS NULL",
        )
        .bind(lot_id)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false);
        let released = sqlx::query(
            "UPDATE lots SET hold_reason = NULL, hold_at = NULL, hold_by = NULL, \
             hold_department = NULL, hold_comment = NULL, updated_at = $2, \
             future_hold_comment = CASE WHEN $3 THEN NULL ELSE future_hold_comment END \
             WHERE lot_id = $1 AND hold_at IS NOT NULL",
        )
        .bind(lot_id)
        .bind(at)
        .bind(future)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let closed = sqlx::query(
            "UPDATE hold_events SET release_at = $2, release_by = $3 \
             WHERE lot_id = $1 AND release_at IS NULL",
        )
        .bind(lot_id)
        .bind(at)
        .bind(by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if released == 0 && closed == 0 {
            return Ok(false);
        }
        sqlx::query(update).bind(lot_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}
