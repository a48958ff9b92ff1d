//! The workers as the core sees them: starting one (the shell answers with its pid or why it
//! could not), its first `ready` and its heartbeats, asking it to stop, killing it, and
//! stopping them all.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;

use super::{Core, Effect, Kill, Notify, WorkerId, backoff};
use crate::metrics::Sample;
use crate::supervisor::protocol::WorkerState;

/// One worker process the supervisor started.
#[derive(Debug)]
pub(super) struct Worker {
    /// `None` until [`super::Event::Spawned`].
    pub(super) pid: Option<u32>,
    pub(super) slot: usize,
    pub(super) generation: u64,
    pub(super) state: WorkerState,
    pub(super) started_at: DateTime<Utc>,
    pub(super) spawned: Instant,
    pub(super) ready_at: Option<(Instant, DateTime<Utc>)>,
    pub(super) last_beat: Instant,
    pub(super) last_beat_at: Option<DateTime<Utc>>,
    pub(super) requests: u64,
    /// Its latest `/metrics` samples.
    pub(super) metrics: Vec<Sample>,
    /// Shutdown hooks it reported: bounds its graceful stop.
    pub(super) hooks: usize,
    /// When a stopping worker is killed if it has not exited.
    pub(super) kill_at: Option<Instant>,
    pub(super) killed: bool,
    /// Recycle after this many requests (`WORKER_MAX_REQUESTS` + jitter).
    pub(super) recycle_after: Option<u64>,
}

impl Worker {
    pub(super) fn pid(&self) -> u32 {
        self.pid.unwrap_or(0)
    }
}

/// One place in the serving generation.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// The worker serving this place.
    pub(super) current: Option<WorkerId>,
    /// A worker starting to take it over (crash, watchdog, recycle).
    pub(super) replacement: Option<WorkerId>,
    /// When to start a replacement after a crash (back-off).
    pub(super) respawn_at: Option<Instant>,
    /// Consecutive failures (crashes soon after start, failed starts).
    pub(super) failures: u32,
    /// The history entry of the replacement in progress.
    pub(super) entry: Option<u64>,
}

impl Core {
    pub(super) fn on_heartbeat(&mut self, id: WorkerId, requests: u64, metrics: Vec<Sample>) {
        let now = self.now;
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        w.last_beat = now.mono;
        w.last_beat_at = Some(now.wall);
        w.requests = requests;
        w.metrics = metrics;
        self.maybe_recycle(id);
    }

    pub(super) fn on_ready(&mut self, id: WorkerId, hooks: usize) {
        let now = self.now;
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        if w.state != WorkerState::Starting {
            return;
        }
        w.state = WorkerState::Serving;
        w.ready_at = Some((now.mono, now.wall));
        w.last_beat = now.mono;
        w.last_beat_at = Some(now.wall);
        w.hooks = hooks;
        tracing::info!(
            worker.pid = w.pid(),
            worker.generation = w.generation,
            worker.slot = w.slot,
            startup_ms = now.mono.saturating_duration_since(w.spawned).as_millis() as u64,
            "worker ready"
        );
        if self.in_reload(id) {
            self.reload_worker_ready();
        } else {
            self.replacement_ready(id);
        }
    }

    /// Stops every worker gracefully; a second request kills them.
    pub(super) fn begin_stop(&mut self, why: &str) {
        if self.stopping {
            tracing::warn!(signal = why, "second stop request: killing every worker");
            let ids: Vec<WorkerId> = self.workers.keys().copied().collect();
            for id in ids {
                self.kill(id);
            }
            self.unclean_stop = true;
            return;
        }
        tracing::info!(
            signal = why,
            workers = self.workers.len(),
            "supervisor stopping: draining every worker"
        );
        self.stopping = true;
        self.effects.push(Effect::Notify(Notify::Stopping));
        // New connections are refused from now on rather than queued for nobody.
        self.effects.push(Effect::CloseListener);
        self.abort_reload("the supervisor is stopping");
        if let Some((_, entries)) = self.queued.take() {
            for seq in entries {
                self.finish_entry(seq, false, Some("the supervisor stopped first".into()));
            }
        }
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        let ids: Vec<WorkerId> = self.workers.keys().copied().collect();
        for id in ids {
            self.stop_worker(id, None);
        }
    }

    /// Asks for a worker process for `slot` of `generation`; returns its id.
    pub(super) fn spawn_worker(&mut self, generation: u64, slot: usize) -> WorkerId {
        let id = self.next_worker;
        self.next_worker += 1;
        let (max, jitter) = (
            self.config.supervisor.max_requests,
            self.config.supervisor.max_requests_jitter,
        );
        let recycle_after = (max > 0).then(|| max + self.rng.random_range(0..=jitter));
        let now = self.now;
        self.workers.insert(
            id,
            Worker {
                pid: None,
                slot,
                generation,
                state: WorkerState::Starting,
                started_at: now.wall,
                spawned: now.mono,
                ready_at: None,
                last_beat: now.mono,
                last_beat_at: None,
                requests: 0,
                metrics: Vec::new(),
                hooks: 0,
                kill_at: None,
                killed: false,
                recycle_after,
            },
        );
        self.effects.push(Effect::Spawn {
            worker: id,
            generation,
            slot,
        });
        id
    }

    pub(super) fn on_spawned(&mut self, id: WorkerId, pid: u32) {
        if let Some(w) = self.workers.get_mut(&id) {
            w.pid = Some(pid);
            tracing::info!(
                worker.pid = pid,
                worker.generation = w.generation,
                worker.slot = w.slot,
                "worker started"
            );
        }
    }

    pub(super) fn on_spawn_failed(&mut self, id: WorkerId, error: String) {
        let Some(w) = self.workers.remove(&id) else {
            return;
        };
        if self.in_reload(id) {
            self.fail_reload(error);
            return;
        }
        let slot = &mut self.slots[w.slot];
        if slot.replacement != Some(id) {
            return;
        }
        slot.replacement = None;
        slot.failures += 1;
        slot.respawn_at = Some(self.now.mono + backoff(slot.failures));
        let seq = slot.entry.take();
        tracing::error!(worker.slot = w.slot, %error, "cannot start a replacement worker");
        if let Some(seq) = seq {
            self.finish_entry(seq, false, Some(error));
        }
    }

    /// Asks a worker to stop: SIGTERM, then SIGKILL at the bound. `None` is the graceful bound
    /// (drain plus its shutdown hooks); a hung worker gets `WORKER_KILL_GRACE_SECONDS`.
    pub(super) fn stop_worker(&mut self, id: WorkerId, bound: Option<Duration>) {
        let graceful = self.graceful_bound(id);
        let now = self.now.mono;
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        if w.state == WorkerState::Stopping {
            return;
        }
        w.state = WorkerState::Stopping;
        w.kill_at = Some(now + bound.unwrap_or(graceful));
        self.effects.push(Effect::Signal {
            worker: id,
            signal: Kill::Term,
        });
    }

    /// SIGKILL, once.
    pub(super) fn kill(&mut self, id: WorkerId) {
        if let Some(w) = self.workers.get_mut(&id)
            && !w.killed
        {
            w.killed = true;
            self.effects.push(Effect::Signal {
                worker: id,
                signal: Kill::Kill,
            });
        }
    }

    /// `GRACEFUL_TIMEOUT` + one `SHUTDOWN_HOOK_TIMEOUT` per hook the worker registered, plus a
    /// margin for the process to exit.
    pub(super) fn graceful_bound(&self, id: WorkerId) -> Duration {
        let hooks = self.workers.get(&id).map_or(0, |w| w.hooks).max(1) as u32;
        self.config.graceful_timeout + self.config.hook_timeout * hooks + Duration::from_secs(2)
    }
}
