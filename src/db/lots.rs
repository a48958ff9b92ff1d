//! Lots in process with every attribute the WIP and hold pages filter and show (PRODUCT §5),
//! and the WIP status rule in its two forms: Rust for generated data, SQL for writes and for a
//! site's view.
//!
//! [`LotRecord`] is the owned lot read from the database (one lot, and tests checking the
//! APIs); the WIP snapshot streams [`LotRow`]s, the same columns borrowed from the driver's
//! row, into its compact table (`cache::lots`).

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

/// One `lots` row with its texts borrowed from the driver's row buffer: the WIP snapshot
/// interns each text straight from here, so a load allocates nothing per row for a text it
/// already holds (an owned [`LotRecord`] costs up to 20 strings a row, all dropped at once).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LotRow<'r> {
    pub lot_id: &'r str,
    pub product: &'r str,
    pub package_id: &'r str,
    pub workcenter_id: &'r str,
    pub step: &'r str,
    pub status: &'r str,
    pub quantity: i64,
    pub priority: i64,
    pub equipment_id: Option<&'r str>,
    pub track_in_at: Option<DateTime<Utc>>,
    pub hold_reason: Option<&'r str>,
    pub hold_at: Option<DateTime<Utc>>,
    pub hold_by: Option<&'r str>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub work_order: Option<&'r str>,
    pub lot_type: Option<&'r str>,
    pub bop: Option<&'r str>,
    pub workflow: Option<&'r str>,
    pub function: Option<&'r str>,
    pub wafer_lot: Option<&'r str>,
    pub move_in_at: Option<DateTime<Utc>>,
    pub hold_department: Option<&'r str>,
    pub hold_comment: Option<&'r str>,
    pub future_hold_comment: Option<&'r str>,
}

#[cfg(test)]
impl LotRecord {
    /// A lot for unit tests: `id` at `step` of workcenter `wc` with `status`, started and last
    /// updated at `at`; product `P`, package `PKG`, quantity 1, priority 3 and every optional
    /// column empty. Tests set what they look at with struct update syntax.
    pub(crate) fn for_tests(
        id: &str,
        wc: &str,
        step: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            lot_id: id.into(),
            product: "P".into(),
            package_id: "PKG".into(),
            workcenter_id: wc.into(),
            step: step.into(),
            status: status.into(),
            quantity: 1,
            priority: 3,
            equipment_id: None,
            track_in_at: None,
            hold_reason: None,
            hold_at: None,
            hold_by: None,
            started_at: at,
            updated_at: at,
            work_order: None,
            lot_type: None,
            bop: None,
            workflow: None,
            function: None,
            wafer_lot: None,
            move_in_at: None,
            hold_department: None,
            hold_comment: None,
            future_hold_comment: None,
        }
    }
}

impl LotRecord {
    /// This lot as a borrowed row (what the WIP snapshot's builder takes).
    pub fn as_row(&self) -> LotRow<'_> {
        LotRow {
            lot_id: &self.lot_id,
            product: &self.product,
            package_id: &self.package_id,
            workcenter_id: &self.workcenter_id,
            step: &self.step,
            status: &self.status,
            quantity: self.quantity,
            priority: self.priority,
            equipment_id: self.equipment_id.as_deref(),
            track_in_at: self.track_in_at,
            hold_reason: self.hold_reason.as_deref(),
            hold_at: self.hold_at,
            hold_by: self.hold_by.as_deref(),
            started_at: self.started_at,
            updated_at: self.updated_at,
            work_order: self.work_order.as_deref(),
            lot_type: self.lot_type.as_deref(),
            bop: self.bop.as_deref(),
            workflow: self.workflow.as_deref(),
            function: self.function.as_deref(),
            wafer_lot: self.wafer_lot.as_deref(),
            move_in_at: self.move_in_at,
            hold_department: self.hold_department.as_deref(),
            hold_comment: self.hold_comment.as_deref(),
            future_hold_comment: self.future_hold_comment.as_deref(),
        }
    }
}

/// Decodes a row of [`SELECT`] by column position (the order of `SELECT`'s list), borrowing
/// its texts. By position rather than through `FromRow` by name: 25 column-name lookups a row
/// were a measurable part of a 200 000-lot load.
///
/// `checked`: whether each column's type is checked against the Rust type before it is
/// decoded. Every row of one query has the same column types, so the load checks its first
/// row and decodes the rest unchecked: the check (type-info clones and compares, 25 a row)
/// was ~8 % of a 200 000-lot load's CPU in `perf`. A value that does not decode is still an
/// error either way.
fn lot_row<'r, R: sqlx::Row>(row: &'r R, checked: bool) -> Result<LotRow<'r>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn column<'r, R: sqlx::Row, T>(row: &'r R, i: usize, checked: bool) -> Result<T, sqlx::Error>
    where
        usize: sqlx::ColumnIndex<R>,
        T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        if checked {
            row.try_get(i)
        } else {
            row.try_get_unchecked(i)
        }
    }
    Ok(LotRow {
        lot_id: column(row, 0, checked)?,
        product: column(row, 1, checked)?,
        package_id: column(row, 2, checked)?,
        workcenter_id: column(row, 3, checked)?,
        step: column(row, 4, checked)?,
        status: column(row, 5, checked)?,
        quantity: column(row, 6, checked)?,
        priority: column(row, 7, checked)?,
        equipment_id: column(row, 8, checked)?,
        track_in_at: column(row, 9, checked)?,
        hold_reason: column(row, 10, checked)?,
        hold_at: column(row, 11, checked)?,
        hold_by: column(row, 12, checked)?,
        started_at: column(row, 13, checked)?,
        updated_at: column(row, 14, checked)?,
        work_order: column(row, 15, checked)?,
        lot_type: column(row, 16, checked)?,
        bop: column(row, 17, checked)?,
        workflow: column(row, 18, checked)?,
        function: column(row, 19, checked)?,
        wafer_lot: column(row, 20, checked)?,
        move_in_at: column(row, 21, checked)?,
        hold_department: column(row, 22, checked)?,
        hold_comment: column(row, 23, checked)?,
        future_hold_comment: column(row, 24, checked)?,
    })
}

/// Every lot in process, one row at a time, texts borrowed from the driver's buffer (no list
/// of rows is held, and no owned copy of a row is made: the WIP snapshot interns each row as
/// it arrives). Returns how many rows were read.
pub async fn for_each_lot_row(
    pool: &DbPool,
    mut each: impl FnMut(LotRow<'_>) + Send,
) -> Result<u64, DbError> {
    use futures_util::TryStreamExt;
    let each = &mut each;
    with_conn!(pool, |c| async move {
        let mut rows = sqlx::query(SELECT).fetch(&mut *c);
        let mut n = 0;
        while let Some(row) = rows.try_next().await? {
            each(lot_row(&row, n == 0)?);
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
