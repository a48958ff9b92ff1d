//! Maintenance jobs of the tools and their transactions: the open jobs the equipment page
//! alerts on (longest open first), the jobs of chosen tools over a period for the job query,
//! and the transactions a job expands to.
//!
//! A job opens when a tool goes down unscheduled and closes when it comes back
//! ([`super::tools::change_tool_state`]); [`record_job_step`] moves a job along in between.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

/// One `maintenance_jobs` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct MaintenanceJob {
    pub job_id: String,
    pub job_order: Option<String>,
    /// `OPEN`, `IN_PROGRESS`, `WAIT_PARTS`, `WAIT_VERIFY`, `DONE` or `CANCELLED`.
    pub status: String,
    pub stage: Option<String>,
    pub equipment_id: String,
    pub model: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `None` while the job is open.
    pub completed_at: Option<DateTime<Utc>>,
    pub symptom_code: Option<String>,
    pub cause_code: Option<String>,
    pub repair_code: Option<String>,
    pub technician: Option<String>,
}

/// One `maintenance_job_transactions` row: a change of a job's status or stage.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct JobTransaction {
    pub id: i64,
    pub job_id: String,
    pub changed_at: DateTime<Utc>,
    pub status: String,
    pub stage: Option<String>,
    pub changed_by: Option<String>,
    pub note: Option<String>,
}

const JOBS: &str = "SELECT job_id, job_order, status, stage, equipment_id, model, created_at, \
     completed_at, symptom_code, cause_code, repair_code, technician FROM maintenance_jobs";

const TRANSACTIONS: &str = "SELECT CAST(id AS BIGINT) AS id, job_id, changed_at, status, \
     stage, changed_by, note FROM maintenance_job_transactions";

/// The job whose id is the largest of a day (`$1`: `MJyymmdd%`).
pub(super) const LAST_JOB_ID: &str =
    "SELECT max(job_id) FROM maintenance_jobs WHERE job_id LIKE $1";
/// The largest order number of a month (`$1`: `CMyymm%`).
pub(super) const LAST_ORDER: &str =
    "SELECT max(job_order) FROM maintenance_jobs WHERE job_order LIKE $1";
/// A new open job (`$1` id, `$2` order) for tool `$3` at `$4` with symptom `$5`.
pub(super) const INSERT_JOB: &str = "INSERT INTO maintenance_jobs (job_id, job_order, status, \
     stage, equipment_id, model, created_at, completed_at, symptom_code, cause_code, \
     repair_code, technician) SELECT $1, $2, 'OPEN', '報修', equipment_id, model, $4, NULL, $5, \
     NULL, NULL, NULL FROM equipment WHERE equipment_id = $3";
pub(super) const INSERT_TRANSACTION: &str = "INSERT INTO maintenance_job_transactions \
     (job_id, changed_at, status, stage, changed_by, note) VALUES ($1, $2, $3, $4, $5, $6)";
/// The closing transaction of every open job of tool `$1`, at `$2` by `$3` with note `$4`.
pub(super) const CLOSE_TRANSACTIONS: &str = "INSERT INTO maintenance_job_transactions \
     (job_id, changed_at, status, stage, changed_by, note) SELECT job_id, $2, 'DONE', '結案', \
     $3, $4 FROM maintenance_jobs WHERE equipment_id = $1 AND completed_at IS NULL";
pub(super) const CLOSE_JOBS: &str = "UPDATE maintenance_jobs SET status = 'DONE', \
     stage = '結案', completed_at = $2 WHERE equipment_id = $1 AND completed_at IS NULL";
/// The note of the transaction that closes a job when its tool comes back.
pub const CLOSE_NOTE: &str = "機台恢復，結案";

/// The serial after the last one of a day or month: its trailing `digits` digits plus one
/// (1 when there is none yet).
pub(super) fn next_serial(last: Option<&str>, digits: usize) -> u32 {
    last.and_then(|id| id.get(id.len().saturating_sub(digits)..))
        .and_then(|tail| tail.parse::<u32>().ok())
        .map_or(1, |n| n + 1)
}

/// Every open job, the longest open first.
pub async fn open_jobs(pool: &DbPool) -> Result<Vec<MaintenanceJob>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{JOBS} WHERE completed_at IS NULL ORDER BY created_at, job_id"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, MaintenanceJob>(sql)
        .fetch_all(&mut *c))
}

/// The jobs open at some time within `[from, to)` — created before `to` and not completed
/// before `from` — of the given tools (every tool when `tools` is empty), oldest first.
pub async fn jobs_between(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tools: &[String],
) -> Result<Vec<MaintenanceJob>, DbError> {
    let mut sql =
        format!("{JOBS} WHERE created_at < $2 AND (completed_at IS NULL OR completed_at >= $1)");
    if !tools.is_empty() {
        sql.push_str(" AND ");
        sql.push_str(&in_list("equipment_id", 3, tools.len()));
    }
    sql.push_str(" ORDER BY created_at, job_id");
    let sql = sqlx::AssertSqlSafe(sql);
    with_conn!(pool, |c| {
        let mut query = sqlx::query_as::<_, MaintenanceJob>(sql).bind(from).bind(to);
        for tool in tools {
            query = query.bind(tool.as_str());
        }
        query.fetch_all(&mut *c)
    })
}

/// One job.
pub async fn job(pool: &DbPool, job_id: &str) -> Result<Option<MaintenanceJob>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{JOBS} WHERE job_id = $1"));
    with_conn!(pool, |c| sqlx::query_as::<_, MaintenanceJob>(sql)
        .bind(job_id)
        .fetch_optional(&mut *c))
}

/// The transactions of one job, in order.
pub async fn transactions(pool: &DbPool, job_id: &str) -> Result<Vec<JobTransaction>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{TRANSACTIONS} WHERE job_id = $1 ORDER BY changed_at, id"
    ));
    with_conn!(pool, |c| sqlx::query_as::<_, JobTransaction>(sql)
        .bind(job_id)
        .fetch_all(&mut *c))
}

/// The transactions of several jobs (an export of a job query), by job then in order.
pub async fn transactions_of(
    pool: &DbPool,
    job_ids: &[String],
) -> Result<Vec<JobTransaction>, DbError> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!(
        "{TRANSACTIONS} WHERE {}",
        in_list("job_id", 1, job_ids.len())
    );
    sql.push_str(" ORDER BY job_id, changed_at, id");
    let sql = sqlx::AssertSqlSafe(sql);
    with_conn!(pool, |c| {
        let mut query = sqlx::query_as::<_, JobTransaction>(sql);
        for id in job_ids {
            query = query.bind(id.as_str());
        }
        query.fetch_all(&mut *c)
    })
}

/// `column IN ($first, …)` for `count` (at least one) values. The same text runs on both
/// backends (a PostgreSQL array would not).
pub(super) fn in_list(column: &str, first: usize, count: usize) -> String {
    let placeholders: Vec<String> = (first..first + count).map(|i| format!("${i}")).collect();
    format!("{column} IN ({})", placeholders.join(", "))
}

/// One step of a job's life: its new status and stage, who and why, and what became known.
#[derive(Debug, Clone)]
pub struct JobStep<'a> {
    pub job_id: &'a str,
    pub status: &'a str,
    pub stage: &'a str,
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub note: Option<&'a str>,
    /// Set when given; kept otherwise.
    pub technician: Option<&'a str>,
    pub cause_code: Option<&'a str>,
    pub repair_code: Option<&'a str>,
}

/// Moves an open job to a new status and stage with its transaction; `DONE` or `CANCELLED`
/// completes it. False when the job is unknown or already completed.
pub async fn record_job_step(pool: &DbPool, step: &JobStep<'_>) -> Result<bool, DbError> {
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let changed = sqlx::query(
            "UPDATE maintenance_jobs SET status = $2, stage = $3, \
             technician = COALESCE($4, technician), cause_code = COALESCE($5, cause_code), \
             repair_code = COALESCE($6, repair_code), \
             completed_at = CASE WHEN $2 IN ('DONE', 'CANCELLED') THEN $7 END \
             WHERE job_id = $1 AND completed_at IS NULL",
        )
        .bind(step.job_id)
        .bind(step.status)
        .bind(step.stage)
        .bind(step.technician)
        .bind(step.cause_code)
        .bind(step.repair_code)
        .bind(step.at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        sqlx::query(INSERT_TRANSACTION)
            .bind(step.job_id)
            .bind(step.at)
            .bind(step.status)
            .bind(step.stage)
            .bind(step.by)
            .bind(step.note)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_continue_from_the_last_id() {
        assert_eq!(next_serial(None, 4), 1);
        assert_eq!(next_serial(Some("MJ2611010007"), 4), 8);
        assert_eq!(next_serial(Some("CM261100123"), 5), 124);
    }

    #[test]
    fn in_lists_number_their_placeholders() {
        assert_eq!(in_list("b", 2, 3), "b IN ($2, $3, $4)");
        assert_eq!(in_list("c", 1, 1), "c IN ($1)");
    }
}
