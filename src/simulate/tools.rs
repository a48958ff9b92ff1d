//! Tool state changes and maintenance jobs moving along.

use chrono::Utc;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::{Done, Factory};
use crate::db::maintenance::{JobStep, record_job_step};
use crate::db::tools::{ToolChange, change_tool_state};
use crate::db::{DbError, DbPool};
use crate::seed::catalog::{CAUSES, REPAIRS, TECHNICIANS, people_of, state_reasons, symptom_of};
use crate::with_conn;

/// The next state of a tool in `state`, with weights: mostly between production and standby,
/// sometimes down, rarely engineering or not scheduled.
fn next_state(state: &str, rng: &mut impl Rng) -> &'static str {
    let choices: &[(&'static str, u32)] = match state {
        "PRD" => &[
            ("SBY", 40),
            ("UDT", 30),
            ("SDT", 15),
            ("EGT", 10),
            ("NST", 5),
        ],
        "SBY" => &[
            ("PRD", 60),
            ("UDT", 15),
            ("SDT", 10),
            ("EGT", 10),
            ("NST", 5),
        ],
        "UDT" => &[("SBY", 50), ("PRD", 40), ("EGT", 10)],
        "SDT" => &[("SBY", 60), ("PRD", 40)],
        "EGT" => &[("SBY", 50), ("PRD", 50)],
        _ => &[("SBY", 70), ("PRD", 30)],
    };
    choices
        .choose_weighted(rng, |c| c.1)
        .map(|c| c.0)
        .unwrap_or("SBY")
}

/// Changes the state of one random tool.
pub(super) async fn flip(
    pool: &DbPool,
    factory: &Factory,
    rng: &mut ChaCha8Rng,
) -> Result<Done, DbError> {
    let Some(tool) = factory.tools.choose(rng) else {
        return Ok(Done::Nothing);
    };
    let current = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT e10_state FROM equipment WHERE equipment_id = $1"
    )
    .bind(tool)
    .fetch_optional(&mut *c))?;
    let Some(current) = current else {
        return Ok(Done::Nothing);
    };
    let state = next_state(&current, rng);
    let reason = state_reasons(state).choose(rng).copied();
    let operators = people_of("製造部");
    let change = ToolChange {
        equipment_id: tool,
        state,
        reason,
        at: Utc::now(),
        by: operators.choose(rng).copied().unwrap_or("MES"),
        symptom: (state == "UDT").then(|| symptom_of(reason)),
    };
    if !change_tool_state(pool, &change).await? {
        return Ok(Done::Nothing);
    }
    tracing::info!(tool = %tool, from = %current, to = state, reason = reason.unwrap_or(""), "tool state flipped");
    Ok(Done::Flip)
}

#[derive(sqlx::FromRow)]
struct OpenJob {
    job_id: String,
    status: String,
    stage: Option<String>,
    /// The tool is down (its job cannot be signed off yet).
    tool_down: bool,
}

/// Moves one random open job a step: reported → diagnosis → repair, sometimes a wait for
/// parts and back; a job left open after its tool came back is verified and closed. A job of
/// a tool still down stays open: it closes when the tool comes back.
pub(super) async fn advance_job(pool: &DbPool, rng: &mut ChaCha8Rng) -> Result<Done, DbError> {
    let open = with_conn!(pool, |c| sqlx::query_as::<_, OpenJob>(
        "SELECT j.job_id, j.status, j.stage, COALESCE(e.e10_state = 'UDT', FALSE) AS tool_down \
         FROM maintenance_jobs j LEFT JOIN equipment e ON e.equipment_id = j.equipment_id \
         WHERE j.completed_at IS NULL ORDER BY j.job_id"
    )
    .fetch_all(&mut *c))?;
    let Some(job) = open.choose(rng) else {
        return Ok(Done::Nothing);
    };
    let technician = *TECHNICIANS.choose(rng).expect("technicians");
    let cause = *CAUSES.choose(rng).expect("causes");
    let repair = *REPAIRS.choose(rng).expect("repairs");
    let (status, stage, note, cause, repair) =
        match (job.status.as_str(), job.stage.as_deref(), job.tool_down) {
            ("OPEN", _, _) => ("IN_PROGRESS", "診斷", "到場檢查", None, None),
            ("IN_PROGRESS", Some("診斷"), _) => ("IN_PROGRESS", "維修", cause, Some(cause), None),
            ("IN_PROGRESS", _, true) if rng.random_ratio(1, 3) => {
                ("WAIT_PARTS", "待料", "等待零件", None, None)
            }
            ("WAIT_PARTS", _, _) => ("IN_PROGRESS", "維修", "零件到料，繼續維修", None, None),
            (_, _, false) => ("DONE", "結案", "驗機 OK，結案", None, Some(repair)),
            _ => return Ok(Done::Nothing),
        };
    let step = JobStep {
        job_id: &job.job_id,
        status,
        stage,
        at: Utc::now(),
        by: technician,
        note: Some(note),
        technician: Some(technician),
        cause_code: cause,
        repair_code: repair,
    };
    Ok(if record_job_step(pool, &step).await? {
        Done::JobStep
    } else {
        Done::Nothing
    })
}
