//! The watchdog and the replacement of single workers.
//!
//! - A serving worker whose heartbeat is silent for `WORKER_TIMEOUT` is logged
//!   `WORKER TIMEOUT (pid …)`, sent SIGTERM, then SIGKILL after `WORKER_KILL_GRACE_SECONDS`,
//!   and a replacement starts at once.
//! - A worker that exits without being asked (a crash) is replaced after an exponential
//!   back-off (1 s, 2 s, … 30 s; reset once a worker has served 30 s).
//! - A worker past `WORKER_MAX_REQUESTS` (+ jitter) is recycled: its replacement starts, and it
//!   drains once the replacement is ready.
//! - A stopping worker still alive at its deadline is killed.
//!
//! The listening socket stays open in the supervisor throughout, so connections arriving while
//! a place is empty wait in the backlog for the other workers instead of being refused.

use std::time::Duration;

use super::{Core, Effect, Notify, WorkerId, backoff};
use crate::supervisor::audit::Phase;
use crate::supervisor::history::{Action, Decision, HistoryEntry, Source};
use crate::supervisor::protocol::WorkerState;

/// A worker that served this long before crashing resets its place's back-off.
const STABLE_AFTER: Duration = Duration::from_secs(30);

impl Core {
    pub(super) fn on_tick(&mut self) {
        if let Some(period) = self.config.systemd_watchdog
            && self.now.mono.saturating_duration_since(self.last_ping) >= period / 2
        {
            // Pinged from the event loop: a wedged supervisor stops pinging, and systemd
            // restarts it.
            self.effects.push(Effect::Notify(Notify::Watchdog));
            self.last_ping = self.now.mono;
        }
        self.check_deadlines();
        if !self.stopping {
            self.check_heartbeats();
            self.respawn_due();
        }
    }

    pub(super) fn on_exit(&mut self, id: WorkerId, how: &str, clean: bool) {
        let now = self.now.mono;
        let Some(w) = self.workers.remove(&id) else {
            return;
        };
        if self.in_reload(id) {
            let reason = format!(
                "worker pid {} of generation {} {how} before the generation was ready",
                w.pid(),
                w.generation
            );
            self.fail_reload(reason);
            return;
        }
        if w.state == WorkerState::Stopping {
            tracing::info!(
                worker.pid = w.pid(),
                worker.generation = w.generation,
                how,
                "worker exited"
            );
            if self.stopping && (!clean || w.killed) {
                self.unclean_stop = true;
            }
            return;
        }
        if self.stopping || w.generation != self.generation {
            tracing::warn!(
                worker.pid = w.pid(),
                worker.generation = w.generation,
                how,
                "worker exited"
            );
            return;
        }
        let slot = &mut self.slots[w.slot];
        if slot.replacement == Some(id) {
            slot.replacement = None;
            slot.failures += 1;
            let delay = backoff(slot.failures);
            slot.respawn_at = Some(now + delay);
            let failure = format!(
                "replacement worker pid {} {how} before it was ready",
                w.pid()
            );
            tracing::error!(
                worker.pid = w.pid(),
                worker.slot = w.slot,
                retry_in_ms = delay.as_millis() as u64,
                "{failure}"
            );
            if let Some(seq) = slot.entry.take() {
                self.finish_entry(seq, false, Some(failure));
            }
            return;
        }
        if slot.current == Some(id) {
            slot.current = None;
            let served = w
                .ready_at
                .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(at));
            slot.failures = if served >= STABLE_AFTER {
                1
            } else {
                slot.failures + 1
            };
            let delay = backoff(slot.failures);
            slot.respawn_at = Some(now + delay);
            tracing::error!(
                worker.pid = w.pid(),
                worker.slot = w.slot,
                worker.generation = w.generation,
                how,
                retry_in_ms = delay.as_millis() as u64,
                "worker crashed; replacing it"
            );
            let seq = self.record_automatic(
                Source::Auto,
                Action::Replace,
                "supervisor",
                format!("worker pid {} {how}", w.pid()),
            );
            self.slots[w.slot].entry = Some(seq);
        }
    }

    /// Starts the replacements whose back-off has passed.
    pub(super) fn respawn_due(&mut self) {
        let now = self.now.mono;
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.replacement.is_some() || slot.respawn_at.is_none_or(|at| at > now) {
                continue;
            }
            self.slots[index].respawn_at = None;
            let seq = match self.slots[index].entry {
                Some(seq) => seq,
                None => {
                    // A retry after a failed replacement: a new attempt, a new entry.
                    self.record_automatic(
                        Source::Auto,
                        Action::Replace,
                        "supervisor",
                        format!("slot {index} is empty; retrying"),
                    )
                }
            };
            self.start_replacement(index, seq);
        }
    }

    /// Starts a worker to take over `slot` (a failed start schedules a retry: see
    /// [`Core::on_spawn_failed`]).
    fn start_replacement(&mut self, slot: usize, seq: u64) {
        let id = self.spawn_worker(self.generation, slot);
        let s = &mut self.slots[slot];
        s.replacement = Some(id);
        s.entry = Some(seq);
    }

    /// A replacement reported ready: it takes its place, and the worker it replaces drains.
    pub(super) fn replacement_ready(&mut self, id: WorkerId) {
        let Some(w) = self.workers.get(&id) else {
            return;
        };
        let (pid, index) = (w.pid(), w.slot);
        if w.generation != self.generation || self.slots[index].replacement != Some(id) {
            // Started for a generation a reload has since replaced.
            self.stop_worker(id, None);
            return;
        }
        let slot = &mut self.slots[index];
        slot.replacement = None;
        let old = slot.current.replace(id);
        let seq = slot.entry.take();
        if let Some(old) = old {
            self.stop_worker(old, None);
        }
        if let Some(seq) = seq {
            self.finish_entry(
                seq,
                true,
                Some(format!("worker pid {pid} serves slot {index}")),
            );
        }
        self.effects
            .push(Effect::Notify(Notify::Status(self.status_line())));
    }

    /// The watchdog: hung serving workers, and replacements that never became ready.
    pub(super) fn check_heartbeats(&mut self) {
        let now = self.now.mono;
        let (timeout, ready_timeout, grace) = (
            self.config.supervisor.worker_timeout,
            self.config.supervisor.ready_timeout,
            self.config.supervisor.kill_grace,
        );
        let hung: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| {
                w.state == WorkerState::Serving
                    && now.saturating_duration_since(w.last_beat) > timeout
            })
            .map(|(id, _)| *id)
            .collect();
        for id in hung {
            let Some(w) = self.workers.get(&id) else {
                continue;
            };
            let (pid, index, generation) = (w.pid(), w.slot, w.generation);
            let silent = now.saturating_duration_since(w.last_beat).as_secs();
            tracing::error!(
                worker.pid = pid,
                worker.slot = index,
                silent_s = silent,
                "WORKER TIMEOUT (pid {pid})"
            );
            self.stop_worker(id, Some(grace));
            if self.in_reload(id) {
                self.fail_reload(format!(
                    "worker pid {pid} of the new generation stopped beating"
                ));
                continue;
            }
            if generation != self.generation || self.slots[index].current != Some(id) {
                continue;
            }
            self.slots[index].current = None;
            let seq = self.record_automatic(
                Source::Watchdog,
                Action::Replace,
                "watchdog",
                format!("WORKER TIMEOUT (pid {pid}): no heartbeat for {silent} s"),
            );
            if self.slots[index].replacement.is_none() {
                self.start_replacement(index, seq);
            } else {
                self.finish_entry(seq, true, Some("a replacement was already starting".into()));
            }
        }

        let slow: Vec<(WorkerId, u32)> = self
            .workers
            .iter()
            .filter(|(id, w)| {
                w.state == WorkerState::Starting
                    && !w.killed
                    && !self.in_reload(**id)
                    && now.saturating_duration_since(w.spawned) > ready_timeout
            })
            .map(|(id, w)| (*id, w.pid()))
            .collect();
        for (id, pid) in slow {
            tracing::error!(
                worker.pid = pid,
                "worker was not ready within WORKER_READY_TIMEOUT; killing it"
            );
            // Still `Starting`, so its exit counts as a failed start (back-off, retry).
            self.kill(id);
        }
    }

    /// Kills stopping workers past their deadline, and ends a reload past its deadline.
    pub(super) fn check_deadlines(&mut self) {
        self.check_reload_deadline();
        let now = self.now.mono;
        let late: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| {
                w.state == WorkerState::Stopping
                    && !w.killed
                    && w.kill_at.is_some_and(|at| now >= at)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            let w = &self.workers[&id];
            tracing::warn!(
                worker.pid = w.pid(),
                worker.generation = w.generation,
                "worker did not stop in time; SIGKILL"
            );
            self.kill(id);
            self.unclean_stop |= self.stopping;
        }
    }

    /// Recycles a worker past `WORKER_MAX_REQUESTS` (+ its jitter).
    pub(super) fn maybe_recycle(&mut self, id: WorkerId) {
        if self.stopping || self.reload.is_some() {
            return;
        }
        let Some(w) = self.workers.get(&id) else {
            return;
        };
        let due = w.state == WorkerState::Serving
            && w.generation == self.generation
            && w.recycle_after.is_some_and(|limit| w.requests >= limit);
        let slot = &self.slots[w.slot];
        if !due
            || slot.current != Some(id)
            || slot.replacement.is_some()
            || slot.respawn_at.is_some()
        {
            return;
        }
        let (pid, index, requests) = (w.pid(), w.slot, w.requests);
        tracing::info!(
            worker.pid = pid,
            requests,
            "worker reached WORKER_MAX_REQUESTS; recycling it"
        );
        let seq = self.record_automatic(
            Source::Auto,
            Action::Recycle,
            "supervisor",
            format!("worker pid {pid} served {requests} requests (WORKER_MAX_REQUESTS)"),
        );
        self.start_replacement(index, seq);
    }

    /// Records a replacement the supervisor decided itself (never gated by the policy) for the
    /// serving generation, and returns its history sequence number.
    fn record_automatic(
        &mut self,
        source: Source,
        action: Action,
        requested_by: &str,
        reason: String,
    ) -> u64 {
        let mut entry = HistoryEntry::new(
            source,
            action,
            Decision::Allowed,
            requested_by,
            self.now.wall,
        );
        entry.reason = Some(reason);
        entry.generation = Some(self.generation);
        self.record(entry, Phase::Requested)
    }
}
