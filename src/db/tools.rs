//! Tools with every attribute the equipment pages filter by (PRODUCT §2), and the one write
//! that changes a tool's state with everything that follows from it.
//!
//! [`ToolRecord`] stands beside the equipment snapshot's own query (`equipment/query.rs`)
//! until the snapshot moves to it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::maintenance::{self, CLOSE_NOTE};
use super::{DbError, DbPool};
use crate::with_conn;

/// One `equipment` row with its workcenter's group.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct ToolRecord {
    pub equipment_id: String,
    pub workcenter_id: String,
    /// The group of the tool's workcenter (`workcenters.workcenter_group`); `None` when the
    /// workcenter is unknown or in no group.
    pub workcenter_group: Option<String>,
    pub model: String,
    pub family: Option<String>,
    pub location: Option<String>,
    pub package_group: Option<String>,
    pub vendor: Option<String>,
    pub is_production: bool,
    pub is_key: bool,
    pub is_monitored: bool,
    pub e10_state: String,
    pub state_reason: Option<String>,
    pub state_since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every tool, ordered by id.
pub async fn load_tool_records(pool: &DbPool) -> Result<Vec<ToolRecord>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, ToolRecord>(
        "SELECT e.equipment_id, e.workcenter_id, w.workcenter_group, e.model, e.family, \
         e.location, e.package_group, e.vendor, e.is_production, e.is_key, e.is_monitored, \
         e.e10_state, e.state_reason, e.state_since, e.updated_at \
         FROM equipment e LEFT JOIN workcenters w ON w.workcenter_id = e.workcenter_id \
         ORDER BY e.equipment_id"
    )
    .fetch_all(&mut *c))
}

/// A change of one tool's state and who or what makes it.
#[derive(Debug, Clone)]
pub struct ToolChange<'a> {
    pub equipment_id: &'a str,
    pub state: &'a str,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// Who reports a breakdown or signs the repair off (the job's transactions).
    pub by: &'a str,
    /// The symptom code of the job a breakdown opens; `None`: the reason as given.
    pub symptom: Option<&'a str>,
}

/// Puts a tool in `state` at `at`, as [`change_tool_state`] with the reason as the symptom of
/// any job it opens. False when the tool does not exist.
pub async fn set_tool_state(
    pool: &DbPool,
    equipment_id: &str,
    state: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    change_tool_state(
        pool,
        &ToolChange {
            equipment_id,
            state,
            reason,
            at,
            by: "MES",
            symptom: None,
        },
    )
    .await
}

/// Changes a tool's state in one transaction, with what follows in a plant:
/// - the row (`e10_state`, `state_reason`, `state_since`, `updated_at`) and its history (the
///   open span closed, a new one opened);
/// - a tool that leaves production has no lot on it any more: the lots on it go back to wait
///   at their step (QUEUE, or HOLD when held, by the status rule);
/// - going down unscheduled (UDT) opens a maintenance job; coming back up from UDT closes the
///   tool's open jobs.
///
/// False when the tool does not exist.
pub async fn change_tool_state(pool: &DbPool, change: &ToolChange<'_>) -> Result<bool, DbError> {
    let ToolChange {
        equipment_id,
        state,
        reason,
        at,
        by,
        symptom,
    } = *change;
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let Some(before) = sqlx::query_scalar::<_, String>(
            "SELECT e10_state FROM equipment WHERE equipment_id = $1",
        )
        .bind(equipment_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE equipment SET e10_state = $2, state_reason = $3, state_since = $4, \
             updated_at = $4 WHERE equipment_id = $1",
        )
        .bind(equipment_id)
        .bind(state)
        .bind(reason)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE equipment_state_history SET ended_at = $2 \
             WHERE equipment_id = $1 AND ended_at IS NULL",
        )
        .bind(equipment_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO equipment_state_history (equipment_id, e10_state, state_reason, \
             started_at, ended_at) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(equipment_id)
        .bind(state)
        .bind(reason)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if state != "PRD" {
            // The status rule with the tool gone (in one statement, `hold_at` is the row's).
            sqlx::query(
                "UPDATE lots SET equipment_id = NULL, track_in_at = NULL, updated_at = $2, \
                 status = CASE WHEN hold_at IS NOT NULL THEN 'HOLD' ELSE 'QUEUE' END \
                 WHERE equipment_id = $1",
            )
            .bind(equipment_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        if state == "UDT" && before != "UDT" {
            let day = at.format("%y%m%d").to_string();
            let month = at.format("%y%m").to_string();
            let last_job = sqlx::query_scalar::<_, Option<String>>(maintenance::LAST_JOB_ID)
                .bind(format!("MJ{day}%"))
                .fetch_one(&mut *tx)
                .await?;
            let last_order = sqlx::query_scalar::<_, Option<String>>(maintenance::LAST_ORDER)
                .bind(format!("CM{month}%"))
                .fetch_one(&mut *tx)
                .await?;
            let job_id = format!(
                "MJ{day}{:04}",
                maintenance::next_serial(last_job.as_deref(), 4)
            );
            let order = format!(
                "CM{month}{:05}",
                maintenance::next_serial(last_order.as_deref(), 5)
            );
            let symptom = symptom.or(reason);
            sqlx::query(maintenance::INSERT_JOB)
                .bind(&job_id)
                .bind(&order)
                .bind(equipment_id)
                .bind(at)
                .bind(symptom)
                .execute(&mut *tx)
                .await?;
            sqlx::query(maintenance::INSERT_TRANSACTION)
                .bind(&job_id)
                .bind(at)
                .bind("OPEN")
                .bind("報修")
                .bind(by)
                .bind(symptom.map(|s| format!("{equipment_id} 報修：{s}")))
                .execute(&mut *tx)
                .await?;
        } else if before == "UDT" && state != "UDT" {
            sqlx::query(maintenance::CLOSE_TRANSACTIONS)
                .bind(equipment_id)
                .bind(at)
                .bind(by)
                .bind(CLOSE_NOTE)
                .execute(&mut *tx)
                .await?;
            sqlx::query(maintenance::CLOSE_JOBS)
                .bind(equipment_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}
