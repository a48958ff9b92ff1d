//! The supervisor's decisions as a pure state machine. [`Core::handle`] takes one [`Event`]
//! (a signal, a worker's message, a spawn's result, a child's exit, a tick, an admin request)
//! and the time, changes the core's state, and returns the [`Effect`]s that carry the decision
//! out (spawn, signal, notify systemd, write audit, save the history, send a snapshot or a
//! reply). It starts no process, sends no signal, touches no file and reads no clock:
//! [`super::master`] turns the world into events and carries the effects out, and the unit
//! tests drive the core through reloads, crashes, hangs, recycles and restart requests
//! without starting a process.
//!
//! The decisions are grouped by role: [`reload`] (generations and manual restarts),
//! [`watchdog`] (single workers: hangs, crashes, recycles, stop deadlines), [`report`] (history,
//! audit, snapshot), and [`super::policy`] (the restart policy).

mod reload;
mod report;
mod watchdog;
mod workers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::audit::AuditRecord;
use super::history::{History, HistoryEntry, Source};
use super::policy::ManualRequest;
use super::protocol::{RestartReply, Snapshot};
use crate::config::SupervisorSettings;
use crate::metrics::Sample;

use reload::Reload;
pub use reload::backoff;
use workers::{Slot, Worker};

/// The supervisor's name for a worker process, never reused (pids are).
pub type WorkerId = u64;

/// The time of an event: monotonic for deadlines, wall-clock for what people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub wall: DateTime<Utc>,
}

impl Now {
    /// This instant plus `by` (the tests' clock).
    pub fn after(self, by: Duration) -> Self {
        Self {
            mono: self.mono + by,
            wall: self.wall + chrono::Duration::from_std(by).unwrap_or_default(),
        }
    }
}

/// What the core is told.
#[derive(Debug, Clone)]
pub enum Event {
    /// The supervisor starts: the first generation.
    Start,
    /// SIGHUP: reload.
    Reload,
    /// SIGTERM or SIGINT (named): stop; a second one kills the workers.
    Stop(&'static str),
    /// A worker reports it serves.
    Ready { worker: WorkerId, hooks: usize },
    Heartbeat {
        worker: WorkerId,
        requests: u64,
        metrics: Vec<Sample>,
    },
    /// An administrator's restart request, relayed by `worker`.
    RestartRequest {
        worker: WorkerId,
        request_id: u64,
        request: ManualRequest,
        requested_by: String,
        ip: Option<String>,
    },
    /// The answer to [`Effect::Spawn`]: the process runs.
    Spawned { worker: WorkerId, pid: u32 },
    /// The answer to [`Effect::Spawn`]: no process.
    SpawnFailed { worker: WorkerId, error: String },
    /// A worker process ended; `how` in words, `clean` for exit status 0.
    Exited {
        worker: WorkerId,
        how: String,
        clean: bool,
    },
    /// The half-second tick: deadlines, heartbeats, back-offs, the systemd watchdog.
    Tick,
}

/// What the shell must do, in order.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Start a worker process; answer with [`Event::Spawned`] or [`Event::SpawnFailed`].
    Spawn {
        worker: WorkerId,
        generation: u64,
        slot: usize,
    },
    Signal {
        worker: WorkerId,
        signal: Kill,
    },
    Notify(Notify),
    Audit(Box<AuditRecord>),
    /// Write the restart history to disk (before anything announces it).
    SaveHistory(Vec<HistoryEntry>),
    /// Send every worker the supervisor's state.
    Snapshot(Box<Snapshot>),
    /// Answer a restart request.
    Reply {
        worker: WorkerId,
        request_id: u64,
        reply: Box<RestartReply>,
    },
    /// Close the listening socket: the supervisor stops, new connections are refused.
    CloseListener,
}

/// The signals the supervisor sends its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// Drain and stop.
    Term,
    Kill,
}

/// A systemd notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    Ready(String),
    Reloading(String),
    Stopping,
    Status(String),
    /// The `WatchdogSec` ping.
    Watchdog,
}

/// What the core decides with, from the settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Workers, watchdog, recycling and the restart policy (`WORKER_*`).
    pub supervisor: SupervisorSettings,
    /// `GRACEFUL_TIMEOUT` and `SHUTDOWN_HOOK_TIMEOUT`: a stopping worker's bound.
    pub graceful_timeout: Duration,
    pub hook_timeout: Duration,
    /// systemd's `WatchdogSec`, when the service has one.
    pub systemd_watchdog: Option<Duration>,
    /// Shown in the snapshot.
    pub supervisor_pid: u32,
    /// Seeds the recycle jitter.
    pub seed: u64,
}

/// The supervisor's state.
pub struct Core {
    config: Config,
    /// The time of the event being handled.
    now: Now,
    started_at: DateTime<Utc>,
    workers: BTreeMap<WorkerId, Worker>,
    next_worker: WorkerId,
    /// The generation serving now (0 before the first is ready).
    generation: u64,
    /// The number the next generation gets (failed generations are not reused).
    next_generation: u64,
    slots: Vec<Slot>,
    reload: Option<Reload>,
    /// A reload asked for while one ran: its source and history entries (coalesced).
    queued: Option<(Source, Vec<u64>)>,
    history: History,
    history_changed: bool,
    last_reload_error: Option<String>,
    /// Set once stopping: SIGTERM/SIGINT, or the first generation failed.
    stopping: bool,
    /// Why the supervisor must exit with an error once its workers are gone.
    fatal: Option<String>,
    /// A worker exited uncleanly (killed, or hooks unfinished) during the stop.
    unclean_stop: bool,
    last_ping: Instant,
    rng: ChaCha8Rng,
    effects: Vec<Effect>,
}

impl Core {
    /// A supervisor with no worker yet, continuing `history` (oldest first).
    pub fn new(config: Config, history: Vec<HistoryEntry>, now: Now) -> Self {
        Self {
            slots: (0..config.supervisor.workers)
                .map(|_| Slot::default())
                .collect(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            now,
            started_at: now.wall,
            workers: BTreeMap::new(),
            next_worker: 1,
            generation: 0,
            next_generation: 1,
            reload: None,
            queued: None,
            history: History::new(history),
            history_changed: false,
            last_reload_error: None,
            stopping: false,
            fatal: None,
            unclean_stop: false,
            last_ping: now.mono,
            effects: Vec::new(),
        }
    }

    /// Handles one event at `now`; returns what to do about it, in order.
    pub fn handle(&mut self, event: Event, now: Now) -> Vec<Effect> {
        self.now = now;
        let heartbeat = matches!(event, Event::Heartbeat { .. });
        match event {
            Event::Start => self.start_reload(Source::Auto, Vec::new()),
            Event::Reload => self.on_sighup(),
            Event::Stop(why) => self.begin_stop(why),
            Event::Ready { worker, hooks } => self.on_ready(worker, hooks),
            Event::Heartbeat {
                worker,
                requests,
                metrics,
            } => self.on_heartbeat(worker, requests, metrics),
            Event::RestartRequest {
                worker,
                request_id,
                request,
                requested_by,
                ip,
            } => self.on_restart_request(worker, request_id, &request, &requested_by, ip),
            Event::Spawned { worker, pid } => self.on_spawned(worker, pid),
            Event::SpawnFailed { worker, error } => self.on_spawn_failed(worker, error),
            Event::Exited { worker, how, clean } => self.on_exit(worker, &how, clean),
            Event::Tick => self.on_tick(),
        }
        let mut effects = std::mem::take(&mut self.effects);
        if std::mem::take(&mut self.history_changed) {
            effects.insert(0, Effect::SaveHistory(self.history.entries().to_vec()));
        }
        // Workers show the new state at once rather than at the next tick; a heartbeat that
        // changed nothing is not news. While a spawn's answer is pending the snapshot waits
        // for it (it names every worker's pid).
        let news = !heartbeat || !effects.is_empty();
        if news && !self.workers.is_empty() && self.workers.values().all(|w| w.pid.is_some()) {
            effects.push(Effect::Snapshot(Box::new(self.snapshot())));
        }
        effects
    }

    /// `Some` once the supervisor is done (stopping, every worker gone): `Ok(clean)`, or the
    /// reason it must exit with an error.
    pub fn outcome(&self) -> Option<Result<bool, String>> {
        (self.stopping && self.workers.is_empty()).then(|| match &self.fatal {
            Some(reason) => Err(reason.clone()),
            None => Ok(!self.unclean_stop),
        })
    }

    pub(super) fn in_reload(&self, id: WorkerId) -> bool {
        self.reload
            .as_ref()
            .is_some_and(|r| r.workers.contains(&id))
    }
}
