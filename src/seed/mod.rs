//! A deterministic synthetic factory: an assembly-and-test plant with its workcenters (in
//! groups, each with its steps), packages, tools with attributes and SEMI E10 state history,
//! maintenance jobs, lots in process and the hold / release events of the history window.
//!
//! The same seed and sizes always give the same factory; only timestamps move with the anchor
//! time (`--now`, default the current time), so a fresh demo always looks current. Each part
//! draws from its own random stream, so changing how one part is made leaves the others as
//! they were.

pub mod catalog;
mod columns;
mod holds;
mod insert;
mod jobs;
mod lots;
mod rows;
mod tools;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use insert::{factory_size, insert};
pub use rows::{
    HoldEventRow, JobRow, JobTransactionRow, LotRow, PackageRow, StateSpan, StepRow, ToolRow,
    WorkcenterRow,
};

use catalog::{GROUPS, PACKAGES, WORKCENTERS};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub seed: u64,
    pub lots: u32,
    pub tools: u32,
    /// Days of history: equipment states, maintenance jobs and hold events.
    pub days: u32,
    /// New holds per day over the history window; `None`: one lot in 25 a day (800 for the
    /// default 20 000 lots), which with the hold durations keeps about 7 % of lots on hold.
    pub holds_per_day: Option<u32>,
    /// The anchor every timestamp is relative to.
    pub now: DateTime<Utc>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            lots: 20_000,
            tools: 500,
            days: 90,
            holds_per_day: None,
            now: Utc::now(),
        }
    }
}

impl SeedOptions {
    /// New holds per day this factory gets.
    pub fn hold_rate(&self) -> u32 {
        self.holds_per_day.unwrap_or((self.lots / 25).max(1))
    }
}

/// A whole generated factory, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Factory {
    pub workcenters: Vec<WorkcenterRow>,
    pub steps: Vec<StepRow>,
    pub packages: Vec<PackageRow>,
    pub tools: Vec<ToolRow>,
    pub history: Vec<StateSpan>,
    pub lots: Vec<LotRow>,
    /// Oldest first.
    pub hold_events: Vec<HoldEventRow>,
    /// In order of creation.
    pub jobs: Vec<JobRow>,
    pub job_transactions: Vec<JobTransactionRow>,
}

/// The random stream of one part of the factory.
fn stream(seed: u64, part: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(part);
    rng
}

/// Generates the factory described by `opts` (pure; no I/O).
pub fn generate(opts: &SeedOptions) -> Factory {
    let now = opts.now.trunc_subsecs(0);
    let start = now - Duration::days(i64::from(opts.days));

    let workcenters = WORKCENTERS
        .iter()
        .enumerate()
        .map(|(i, w)| WorkcenterRow {
            id: w.id,
            name: w.name,
            sequence: (i as i64 + 1) * 10,
            group: w.group,
            group_sequence: GROUPS
                .iter()
                .position(|g| *g == w.group)
                .map_or(0, |g| (g as i64 + 1) * 10),
        })
        .collect();
    let steps = WORKCENTERS
        .iter()
        .flat_map(|w| {
            w.steps.iter().enumerate().map(|(i, (step, name))| StepRow {
                workcenter_id: w.id,
                step,
                name,
                sequence: (i as i64 + 1) * 10,
            })
        })
        .collect();
    let packages = PACKAGES
        .iter()
        .map(|p| PackageRow {
            id: p.id,
            family: p.family,
        })
        .collect();

    let (tools, history) = tools::generate(&mut stream(opts.seed, 1), opts.tools, start, now);
    let lots = lots::generate(&mut stream(opts.seed, 2), opts.lots, &tools, now);
    let hold_events = holds::generate(
        &mut stream(opts.seed, 3),
        &lots,
        start,
        now,
        opts.hold_rate(),
    );
    let (jobs, job_transactions) = jobs::generate(&mut stream(opts.seed, 4), &tools, &history, now);

    Factory {
        workcenters,
        steps,
        packages,
        tools,
        history,
        lots,
        hold_events,
        jobs,
        job_transactions,
    }
}

#[cfg(test)]
mod tests;
