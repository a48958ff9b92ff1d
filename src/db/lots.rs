//! Lots in process with every attribute the WIP and hold pages filter and show (PRODUCT §5),
//! and the WIP status rule in its two forms: Rust for generated data, SQL for writes and for a
//! site's view.
//!
//! [`LotRecord`] is the one lot type read from the database: the WIP snapshot streams these
//! rows into its compact table (`cache::lots`), and tests read them to check the APIs.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

/// The WIP status rule (PRODUCT §2): RUN when the lot is on at least one tool; otherwise HOLD
/// when it has an active hold; otherwise QUEUE.
pub fn wip_status(on_tool: bool, held: bool) -> &'static str {
    if on_tool {
        "RUN"
    } else if held {
        "HOLD"
    } else {
        "QUEUE"
    }
}

/// The same rule over a `lots` row, for `UPDATE lots SET status = …` after any change of tool
/// or hold, and for a site's view (docs/SCHEMA.md): a lot is on a tool when `equipment_id` is
/// set and held when `hold_at` is (a hold may have no reason).
pub const STATUS_RULE_SQL: &str = "CASE WHEN equipment_id IS NOT NULL THEN 'RUN' \
     WHEN hold_at IS NOT NULL THEN 'HOLD' ELSE 'QUEUE' END";

/// One `lots` row, every column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct LotRecord {
    pub lot_id: String,
    pub product: String,
    pub package_id: String,
    pub workcenter_id: String,
    pub step: String,
    pub status: String,
    pub quantity: i64,
    pub priority: i64,
    pub equipment_id: Option<String>,
    pub track_in_at: Option<DateTime<Utc>>,
    pub hold_reason: Option<String>,
    pub hold_at: Option<DateTime<Utc>>,
    pub hold_by: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub work_order: Option<String>,
    pub lot_type: Option<String>,
    pub bop: Option<String>,
    pub workflow: Option<String>,
    pub function: Option<String>,
    pub wafer_lot: Option<String>,
    /// When the lot arrived at its current step: days at station = now − this.
    pub move_in_at: Option<DateTime<Utc>>,
    pub hold_department: Option<String>,
    pub hold_comment: Option<String>,
    pub future_hold_comment: Option<String>,
}

const SELECT: &str = "SELECT lot_id, product, package_id, workcenter_id, step, status, \
     CAST(quantity AS BIGINT) AS quantity, CAST(priority AS BIGINT) AS priority, equipment_id, \
     track_in_at, hold_reason, hold_at, hold_by, started_at, updated_at, work_order, lot_type, \
     bop, workflow, function, wafer_lot, move_in_at, hold_department, hold_comment, \
     future_hold_comment FROM lots";

/// Every lot in process, ordered by id.
pub async fn load_lot_records(pool: &DbPool) -> Result<Vec<LotRecord>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY lot_id"));
    with_conn!(pool, |c| sqlx::query_as::<_, LotRecord>(sql)
        .fetch_all(&mut *c))
}

/// Every lot in process, one row at a time (no list of every row is held: the WIP snapshot
/// interns each row as it arrives). Returns how many rows were read.
pub async fn for_each_lot_record(
    pool: &DbPool,
    mut each: impl FnMut(LotRecord) + Send,
) -> Result<u64, DbError> {
    use futures_util::TryStreamExt;
    let each = &mut each;
    with_conn!(pool, |c| async move {
        let mut rows = sqlx::query_as::<_, LotRecord>(SELECT).fetch(&mut *c);
        let mut n = 0;
        while let Some(row) = rows.try_next().await? {
            each(row);
            n += 1;
        }
        Ok(n)
    })
}

/// One lot, if it is in process.
pub async fn lot_record(pool: &DbPool, lot_id: &str) -> Result<Option<LotRecord>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE lot_id = $1"));
    with_conn!(pool, |c| sqlx::query_as::<_, LotRecord>(sql)
        .bind(lot_id)
        .fetch_optional(&mut *c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lot_on_a_tool_runs_even_when_held() {
        assert_eq!(wip_status(true, true), "RUN");
        assert_eq!(wip_status(true, false), "RUN");
        assert_eq!(wip_status(false, true), "HOLD");
        assert_eq!(wip_status(false, false), "QUEUE");
    }
}
