//! Lots moving along the route, held and released.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::{Done, Factory};
use crate::db::hold_events::{NewHold, hold_lot, release_lot};
use crate::db::lots::STATUS_RULE_SQL;
use crate::db::tools::{ToolChange, change_tool_state};
use crate::db::{DbError, DbPool};
use crate::seed::catalog::{people_of, reason_at};
use crate::with_conn;

#[derive(sqlx::FromRow)]
struct LotState {
    workcenter_id: String,
    step: String,
    on_tool: bool,
    held: bool,
    future_hold_comment: Option<String>,
}

/// The step after `step` of `workcenter`: the next one of the workcenter, else the first of
/// the next workcenter of the route (after the last, the first again).
fn next_step(factory: &Factory, workcenter: &str, step: &str) -> (String, String) {
    let steps = factory.steps.get(workcenter);
    if let Some(steps) = steps
        && let Some(i) = steps.iter().position(|s| s == step)
        && let Some(next) = steps.get(i + 1)
    {
        return (workcenter.to_string(), next.clone());
    }
    let next_wc = match factory.route.iter().position(|w| w == workcenter) {
        Some(i) => factory.route[(i + 1) % factory.route.len()].clone(),
        None => workcenter.to_string(),
    };
    let first = factory
        .steps
        .get(&next_wc)
        .and_then(|s| s.first().cloned())
        .unwrap_or_else(|| next_wc.clone());
    (next_wc, first)
}

/// Runs `sql` (parameters: the lot, the time, then `args`) and the status rule on one lot in
/// one transaction; the rows the first statement changed.
async fn change_lot(
    pool: &DbPool,
    lot: &str,
    at: DateTime<Utc>,
    sql: &'static str,
    args: &[&str],
) -> Result<u64, DbError> {
    let rule = sqlx::AssertSqlSafe(format!(
        "UPDATE lots SET status = {STATUS_RULE_SQL} WHERE lot_id = $1"
    ));
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let mut query = sqlx::query(sql).bind(lot).bind(at);
        for arg in args {
            query = query.bind(*arg);
        }
        let changed = query.execute(&mut *tx).await?.rows_affected();
        sqlx::query(rule).bind(lot).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed)
    })
}

/// Moves one random lot a step along its life.
pub(super) async fn move_lot(
    pool: &DbPool,
    factory: &Factory,
    rng: &mut ChaCha8Rng,
) -> Result<Done, DbError> {
    let Some(lot) = factory.lots.choose(rng) else {
        return Ok(Done::Nothing);
    };
    let Some(current) = with_conn!(pool, |c| sqlx::query_as::<_, LotState>(
        "SELECT workcenter_id, step, equipment_id IS NOT NULL AS on_tool, \
         hold_at IS NOT NULL AS held, future_hold_comment FROM lots WHERE lot_id = $1"
    )
    .bind(lot)
    .fetch_optional(&mut *c))?
    else {
        return Ok(Done::Nothing);
    };
    let now = Utc::now();
    if current.on_tool {
        return track_out(pool, factory, lot, &current, rng, now).await;
    }
    if current.held {
        let releasers = people_of("品保部");
        let by = releasers.choose(rng).copied().unwrap_or("MES");
        let done = release_lot(pool, lot, by, now).await?;
        if done {
            tracing::info!(lot = %lot, "lot released");
        }
        return Ok(if done { Done::Release } else { Done::Nothing });
    }
    // About one lot in fourteen stays on hold, as in the seeded plant: every held lot picked is
    // released, one waiting lot picked in twelve is held.
    if rng.random_ratio(1, 12) {
        return hold(pool, lot, &current.workcenter_id, false, rng, now).await;
    }
    if current.future_hold_comment.is_none() && rng.random_ratio(1, 30) {
        let later = next_step(factory, &current.workcenter_id, &current.step).1;
        let comment = format!("預約於 {later} 扣留：工程確認");
        let changed = change_lot(
            pool,
            lot,
            now,
            "UPDATE lots SET future_hold_comment = $3, updated_at = $2 WHERE lot_id = $1",
            &[&comment],
        )
        .await?;
        return Ok(if changed > 0 {
            Done::Move
        } else {
            Done::Nothing
        });
    }
    track_in(pool, lot, &current.workcenter_id, rng, now).await
}

async fn hold(
    pool: &DbPool,
    lot: &str,
    workcenter: &str,
    future_hold: bool,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> Result<Done, DbError> {
    let reason = reason_at(rng, workcenter);
    let by = people_of(reason.department)
        .choose(rng)
        .copied()
        .unwrap_or("MES");
    let hold = NewHold {
        lot_id: lot,
        reason: Some(reason.name),
        at: now,
        by,
        department: Some(reason.department),
        comment: reason.comments.choose(rng).copied(),
        future_hold,
        future_hold_comment: None,
    };
    let done = hold_lot(pool, &hold).await?;
    if done {
        tracing::info!(lot = %lot, reason = reason.name, future_hold, "lot held");
    }
    Ok(if done { Done::Hold } else { Done::Nothing })
}

/// Lots a tool runs at once at most (as in the seed).
const LOTS_PER_TOOL: i64 = 3;

/// Tracks a waiting lot in on a tool of its workcenter that can run it (in production or
/// standby, with room for it; a standby tool goes into production).
async fn track_in(
    pool: &DbPool,
    lot: &str,
    workcenter: &str,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> Result<Done, DbError> {
    let free = with_conn!(pool, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT e.equipment_id, e.e10_state FROM equipment e WHERE e.workcenter_id = $1 \
         AND e.e10_state IN ('PRD', 'SBY') AND (SELECT count(*) FROM lots l \
         WHERE l.equipment_id = e.equipment_id) < $2 ORDER BY e.equipment_id"
    )
    .bind(workcenter)
    .bind(LOTS_PER_TOOL)
    .fetch_all(&mut *c))?;
    let Some((tool, state)) = free.choose(rng) else {
        return Ok(Done::Nothing);
    };
    if state == "SBY" {
        let change = ToolChange {
            equipment_id: tool,
            state: "PRD",
            reason: None,
            at: now,
            by: "MES",
            symptom: None,
        };
        change_tool_state(pool, &change).await?;
    }
    // Only onto a tool still in production (a concurrent change may have taken it down).
    let changed = change_lot(
        pool,
        lot,
        now,
        "UPDATE lots SET equipment_id = $3, track_in_at = $2, updated_at = $2 \
         WHERE lot_id = $1 AND equipment_id IS NULL AND hold_at IS NULL \
         AND EXISTS (SELECT 1 FROM equipment WHERE equipment_id = $3 AND e10_state = 'PRD')",
        &[tool],
    )
    .await?;
    if changed > 0 {
        tracing::info!(lot = %lot, tool = %tool, "lot tracked in");
    }
    Ok(if changed > 0 {
        Done::Move
    } else {
        Done::Nothing
    })
}

/// Tracks a running lot out to the next step; a pending future hold may take effect there,
/// and now and then a lot is held while it runs (it stays RUN until it leaves the tool).
async fn track_out(
    pool: &DbPool,
    factory: &Factory,
    lot: &str,
    current: &LotState,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
) -> Result<Done, DbError> {
    if !current.held && rng.random_ratio(1, 40) {
        return hold(pool, lot, &current.workcenter_id, false, rng, now).await;
    }
    let (workcenter, step) = next_step(factory, &current.workcenter_id, &current.step);
    let changed = change_lot(
        pool,
        lot,
        now,
        "UPDATE lots SET workcenter_id = $3, step = $4, move_in_at = $2, equipment_id = NULL, \
         track_in_at = NULL, updated_at = $2 WHERE lot_id = $1 AND equipment_id IS NOT NULL",
        &[&workcenter, &step],
    )
    .await?;
    if changed == 0 {
        return Ok(Done::Nothing);
    }
    tracing::info!(lot = %lot, workcenter = %workcenter, step = %step, "lot tracked out");
    if !current.held && current.future_hold_comment.is_some() && rng.random_bool(0.5) {
        return hold(pool, lot, &workcenter, true, rng, now).await;
    }
    Ok(Done::Move)
}
