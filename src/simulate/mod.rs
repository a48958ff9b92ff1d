//! `mes-dashboard simulate`: keeps a demo factory alive by changing it in the database at a
//! steady rate, as a real MES would, so the live pages have something to show.
//!
//! Each change is one transaction and keeps the data consistent (every lot's status follows
//! the WIP rule, every held lot has its one open hold event, lots are only on tools in
//! production, every tool's history has one open span):
//! - a tool changes state ([`crate::db::tools::change_tool_state`]): its lots go back to wait
//!   when it leaves production, a breakdown (UDT) opens a maintenance job, its return closes it;
//! - a lot moves: a waiting lot is tracked in on a tool of its workcenter (a standby tool goes
//!   into production), held, or given a future hold; a running lot is tracked out to the next
//!   step of the route, where a pending future hold may take effect (after the last workcenter
//!   it starts the route again: a demo, not a model of shipping); a held lot is released;
//! - an open maintenance job moves on (diagnosis, repair, waiting for parts).

mod lots;
mod tools;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;

use crate::db::{DbError, DbPool};
use crate::with_conn;

/// Kept here for the callers that flip a tool directly (tests, scripts).
pub use crate::db::tools::set_tool_state;

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Changes per second, all kinds together.
    pub rate: f64,
    pub seed: u64,
    /// Stop after this long; `None`: until `stop`.
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulateReport {
    /// Tool state changes.
    pub flips: u64,
    /// Lot moves: track-ins, track-outs, holds and releases.
    pub moves: u64,
    /// Of the moves, holds placed and released.
    pub holds: u64,
    pub releases: u64,
    /// Maintenance jobs moved along.
    pub job_steps: u64,
    /// Changes that found nothing to do (no free tool, a lot gone) or failed.
    pub skipped: u64,
}

/// What the simulation picks from: loaded once at start.
struct Factory {
    tools: Vec<String>,
    lots: Vec<String>,
    /// Workcenter ids in route order.
    route: Vec<String>,
    /// Steps of each workcenter in order (none for a workcenter without listed steps).
    steps: HashMap<String, Vec<String>>,
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
    let mut steps: HashMap<String, Vec<String>> = HashMap::new();
    for s in crate::db::reference::workcenter_steps(pool).await? {
        steps.entry(s.workcenter_id).or_default().push(s.step);
    }
    Ok(Factory {
        tools,
        lots,
        route,
        steps,
    })
}

/// What one tick did.
enum Done {
    Flip,
    Move,
    Hold,
    Release,
    JobStep,
    Nothing,
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
        // Tools change about as often as lots move; jobs move now and then.
        let roll = rng.random_range(0..100);
        let result = if factory.lots.is_empty() || (!factory.tools.is_empty() && roll < 45) {
            tools::flip(pool, &factory, &mut rng).await
        } else if roll < 90 || factory.tools.is_empty() {
            lots::move_lot(pool, &factory, &mut rng).await
        } else {
            tools::advance_job(pool, &mut rng).await
        };
        match result {
            Ok(Done::Flip) => report.flips += 1,
            Ok(Done::Move) => report.moves += 1,
            Ok(Done::Hold) => {
                report.moves += 1;
                report.holds += 1;
            }
            Ok(Done::Release) => {
                report.moves += 1;
                report.releases += 1;
            }
            Ok(Done::JobStep) => report.job_steps += 1,
            Ok(Done::Nothing) => report.skipped += 1,
            Err(error) => {
                report.skipped += 1;
                tracing::warn!(%error, "a simulated change failed; going on");
            }
        }
    }
    tracing::info!(
        flips = report.flips,
        moves = report.moves,
        holds = report.holds,
        releases = report.releases,
        job_steps = report.job_steps,
        skipped = report.skipped,
        elapsed_s = started.elapsed().as_secs(),
        "simulation ended"
    );
    Ok(report)
}
