//! `mes-dashboard simulate`: keeps a demo factory alive by flipping tool states and moving
//! lots in the database at a steady rate, so the live dashboard has something to show.
//!
//! Every write is what a real MES would do, in one transaction each:
//! - a tool flip updates `equipment` (`e10_state`, `state_reason`, `state_since`,
//!   `updated_at`), closes the tool's open `equipment_state_history` span and opens a new one;
//! - a lot move tracks a queued lot in on a tool of its workcenter (or holds it), tracks a
//!   running lot out to the next workcenter of the route (after the last one it starts the
//!   route again: a demo, not a model of shipping), or releases a held lot, always setting
//!   `lots.updated_at` so the WIP cache sees a new freshness stamp.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;

use crate::db::{DbError, DbPool};
use crate::with_conn;

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Changes per second, flips and moves together.
    pub rate: f64,
    pub seed: u64,
    /// Stop after this long; `None`: until `stop`.
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulateReport {
    pub flips: u64,
    pub moves: u64,
    /// Changes that found nothing to do (no free tool, a lot gone) or failed.
    pub skipped: u64,
}

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

fn reason_for(state: &str, rng: &mut impl Rng) -> Option<&'static str> {
    let reasons: &[&'static str] = match state {
        "SBY" => &[
            "Waiting for lot",
            "Waiting for material",
            "Waiting for operator",
        ],
        "UDT" => &[
            "Bond head alarm",
            "Vacuum fault",
            "Vision error",
            "Handler jam",
        ],
        "SDT" => &["Preventive maintenance", "Calibration", "Consumable change"],
        "EGT" => &["Process qualification", "Recipe tuning"],
        "NST" => &["Not scheduled", "No operator on shift"],
        _ => &[],
    };
    reasons.choose(rng).copied()
}

const HOLD_REASONS: &[&str] = &[
    "Quality hold: visual defect",
    "Engineering hold: process deviation",
    "Out of spec measurement",
];

/// Puts a tool in `state` at `at`: the row, and its history (the open span closed, a new one
/// opened). False when the tool does not exist.
pub async fn set_tool_state(
    pool: &DbPool,
    equipment_id: &str,
    state: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        let updated = sqlx::query(
            "UPDATE equipment SET e10_state = $2, state_reason = $3, state_since = $4, \
             updated_at = $4 WHERE equipment_id = $1",
        )
        .bind(equipment_id)
        .bind(state)
        .bind(reason)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
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
        tx.commit().await?;
        Ok(true)
    })
}

/// What the simulation picks from: loaded once at start.
struct Factory {
    tools: Vec<String>,
    lots: Vec<String>,
    /// Workcenter ids in route order.
    route: Vec<String>,
}

async fn load_factory(pool: &DbPool) -> Result<Factory, DbError> {
    let tools = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT equipment_id FROM equipment ORDER BY equipment_id"
    )
    .fetch_all(&mut *c))?;
    let lots = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT lot_id FROM lots ORDER BY lot_id"
    )
    .fetch_all(&mut *c))?;
    let route = crate::db::wip::workcenters(pool)
        .await?
        .into_iter()
        .map(|w| w.workcenter_id)
        .collect();
    Ok(Factory { tools, lots, route })
}

/// Flips one random tool. `None`: nothing done.
async fn flip(pool: &DbPool, factory: &Factory, rng: &mut ChaCha8Rng) -> Result<bool, DbError> {
    let Some(tool) = factory.tools.choose(rng) else {
        return Ok(false);
    };
    let current = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT e10_state FROM equipment WHERE equipment_id = $1"
    )
    .bind(tool)
    .fetch_optional(&mut *c))?;
    let Some(current) = current else {
        return Ok(false);
    };
    let state = next_state(&current, rng);
    let reason = reason_for(state, rng);
    let done = set_tool_state(pool, tool, state, reason, Utc::now()).await?;
    if done {
        tracing::info!(tool = %tool, from = %current, to = state, reason = reason.unwrap_or(""), "tool state flipped");
    }
    Ok(done)
}

#[derive(sqlx::FromRow)]
struct LotState {
    status: String,
    workcenter_id: String,
}

/// Moves one random lot a step along its life. False: nothing done.
async fn move_lot(pool: &DbPool, factory: &Factory, rng: &mut ChaCha8Rng) -> Result<bool, DbError> {
    let Some(lot) = factory.lots.choose(rng) else {
        return Ok(false);
    };
    let Some(current) = with_conn!(pool, |c| sqlx::query_as::<_, LotState>(
        "SELECT status, workcenter_id FROM lots WHERE lot_id = $1"
    )
    .bind(lot)
    .fetch_optional(&mut *c))?
    else {
        return Ok(false);
    };
    let now = Utc::now();
    type Move = (&'static str, &'static str, Option<String>, Option<String>);
    // (the status it moves to, the statement, its parameters after the lot and the time)
    let (to, sql, a, b): Move = match current.status.as_str() {
        "RUN" => {
            let at = factory
                .route
                .iter()
                .position(|w| *w == current.workcenter_id);
            let next = match at {
                Some(i) => factory.route[(i + 1) % factory.route.len()].clone(),
                None => current.workcenter_id.clone(),
            };
            let step = format!("{next}-010");
            (
                "QUEUE",
                "UPDATE lots SET status = 'QUEUE', workcenter_id = $3, step = $4, \
                 equipment_id = NULL, track_in_at = NULL, updated_at = $2 WHERE lot_id = $1",
                Some(next),
                Some(step),
            )
        }
        "QUEUE" if rng.random_ratio(1, 8) => (
            "HOLD",
            "UPDATE lots SET status = 'HOLD', hold_reason = $3, hold_by = $4, hold_at = $2, \
             updated_at = $2 WHERE lot_id = $1",
            Some(
                HOLD_REASONS
                    .choose(rng)
                    .unwrap_or(&HOLD_REASONS[0])
                    .to_string(),
            ),
            Some("simulate".into()),
        ),
        "QUEUE" => {
            let free = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
                "SELECT equipment_id FROM equipment WHERE workcenter_id = $1 \
                 AND e10_state IN ('PRD', 'SBY') ORDER BY equipment_id"
            )
            .bind(&current.workcenter_id)
            .fetch_all(&mut *c))?;
            let Some(tool) = free.choose(rng) else {
                return Ok(false);
            };
            (
                "RUN",
                "UPDATE lots SET status = 'RUN', equipment_id = $3, track_in_at = $2, \
                 updated_at = $2 WHERE lot_id = $1",
                Some(tool.clone()),
                None,
            )
        }
        _ => (
            "QUEUE",
            "UPDATE lots SET status = 'QUEUE', hold_reason = NULL, hold_by = NULL, \
             hold_at = NULL, updated_at = $2 WHERE lot_id = $1",
            None,
            None,
        ),
    };
    let changed = with_conn!(pool, |c| async {
        let mut query = sqlx::query(sql).bind(lot).bind(now);
        // Only the parameters the statement uses.
        for value in [&a, &b].into_iter().flatten() {
            query = query.bind(value.as_str());
        }
        Ok::<_, sqlx::Error>(query.execute(&mut *c).await?.rows_affected())
    })?;
    if changed > 0 {
        tracing::info!(lot = %lot, from = %current.status, to, "lot moved");
    }
    Ok(changed > 0)
}

/// Runs the simulation until `stop` or the duration ends.
pub async fn run(
    pool: &DbPool,
    opts: &SimulateOptions,
    stop: CancellationToken,
) -> anyhow::Result<SimulateReport> {
    anyhow::ensure!(
        opts.rate.is_finite() && opts.rate > 0.0,
        "--rate must be a positive number of changes per second"
    );
    let factory = load_factory(pool).await?;
    anyhow::ensure!(
        !factory.tools.is_empty() || !factory.lots.is_empty(),
        "the database holds no factory; run `mes-dashboard seed` first"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut report = SimulateReport::default();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
    loop {
        let until_deadline = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = until_deadline => break,
            _ = ticks.tick() => {}
        }
        let flip_tool =
            factory.lots.is_empty() || (!factory.tools.is_empty() && rng.random_bool(0.5));
        let result = if flip_tool {
            flip(pool, &factory, &mut rng).await
        } else {
            move_lot(pool, &factory, &mut rng).await
        };
        match result {
            Ok(true) if flip_tool => report.flips += 1,
            Ok(true) => report.moves += 1,
            Ok(false) => report.skipped += 1,
            Err(error) => {
                report.skipped += 1;
                tracing::warn!(%error, "a simulated change failed; going on");
            }
        }
    }
    tracing::info!(
        flips = report.flips,
        moves = report.moves,
        skipped = report.skipped,
        elapsed_s = started.elapsed().as_secs(),
        "simulation ended"
    );
    Ok(report)
}
