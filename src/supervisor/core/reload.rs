//! Reloads: start a whole new generation from the binary on disk, wait until every one of its
//! workers reports ready (bounded by `WORKER_READY_TIMEOUT`), then drain the old generation.
//! If the new generation fails to start or to become ready, it is stopped, the old one keeps
//! serving, and the failure is logged, recorded in the history and audited. One reload at a
//! time: requests arriving meanwhile coalesce into one more reload after it.
//!
//! The first generation at start-up is a reload from nothing; its failure stops the
//! supervisor with an error.

use std::time::{Duration, Instant};

use super::{Core, Effect, Notify, Slot, WorkerId};
use crate::supervisor::audit::Phase;
use crate::supervisor::history::{Action, Decision, HistoryEntry, Source};
use crate::supervisor::policy::{self, MAX_REASON_CHARS, ManualRequest, PolicyStatus};
use crate::supervisor::protocol::{RestartReply, WorkerState};

/// A reload in progress.
#[derive(Debug)]
pub(super) struct Reload {
    pub(super) generation: u64,
    pub(super) source: Source,
    /// History entries it completes (several when requests coalesced).
    pub(super) entries: Vec<u64>,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    /// The new generation's workers.
    pub(super) workers: Vec<WorkerId>,
}

impl Core {
    pub(super) fn on_sighup(&mut self) {
        if self.stopping {
            return;
        }
        if self.queued.is_some() {
            tracing::info!("SIGHUP: a reload is already queued; this signal coalesces with it");
            return;
        }
        let mut entry = HistoryEntry::new(
            Source::Signal,
            Action::Reload,
            Decision::Allowed,
            "signal",
            self.now.wall,
        );
        entry.reason = Some("SIGHUP".into());
        let seq = self.record(entry, Phase::Requested);
        self.start_reload(Source::Signal, vec![seq]);
    }

    /// Starts a reload now, or queues it behind the one running.
    pub(super) fn start_reload(&mut self, source: Source, entries: Vec<u64>) {
        if self.stopping {
            for seq in entries {
                self.finish_entry(seq, false, Some("the supervisor is stopping".into()));
            }
            return;
        }
        if self.reload.is_some() {
            tracing::info!(source = ?source, "a reload is running; this one runs after it");
            match &mut self.queued {
                Some((_, queued)) => queued.extend(entries),
                None => self.queued = Some((source, entries)),
            }
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        let initial = self.generation == 0;
        for &seq in &entries {
            self.update_entry(seq, |e| e.generation = Some(generation));
        }
        if !initial {
            self.effects.push(Effect::Notify(Notify::Reloading(format!(
                "reloading: starting generation {generation}"
            ))));
        }
        tracing::info!(
            generation,
            source = ?source,
            workers = self.slots.len(),
            "starting a new generation of workers"
        );
        let started = self.now.mono;
        let workers = (0..self.slots.len())
            .map(|slot| self.spawn_worker(generation, slot))
            .collect();
        self.reload = Some(Reload {
            generation,
            source,
            entries,
            started,
            deadline: started + self.config.supervisor.ready_timeout,
            workers,
        });
    }

    /// A worker of the reload reported ready; completes the reload once all have.
    pub(super) fn reload_worker_ready(&mut self) {
        let Some(reload) = &self.reload else {
            return;
        };
        let all_ready = reload.workers.iter().all(|id| {
            self.workers
                .get(id)
                .is_some_and(|w| w.state == WorkerState::Serving)
        });
        if all_ready {
            self.complete_reload();
        }
    }

    fn complete_reload(&mut self) {
        let Some(reload) = self.reload.take() else {
            return;
        };
        let previous = self.generation;
        let old: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| w.generation != reload.generation)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.stop_worker(id, None);
        }
        let superseded: Vec<u64> = self
            .slots
            .iter_mut()
            .filter_map(|s| s.entry.take())
            .collect();
        for seq in superseded {
            self.finish_entry(
                seq,
                false,
                Some(format!("superseded by generation {}", reload.generation)),
            );
        }
        for (slot, id) in self.slots.iter_mut().zip(&reload.workers) {
            *slot = Slot {
                current: Some(*id),
                ..Default::default()
            };
        }
        self.generation = reload.generation;
        self.last_reload_error = None;
        let took = self.now.mono.saturating_duration_since(reload.started);
        let outcome = if previous == 0 {
            format!("generation {} serving", reload.generation)
        } else {
            format!(
                "generation {} serving; generation {previous} draining",
                reload.generation
            )
        };
        for seq in reload.entries {
            self.finish_entry(seq, true, Some(outcome.clone()));
        }
        tracing::info!(
            generation = reload.generation,
            previous,
            source = ?reload.source,
            duration_ms = took.as_millis() as u64,
            "{}",
            if previous == 0 {
                "workers ready; serving"
            } else {
                "reload complete: the new generation serves, the old one drains"
            }
        );
        self.effects
            .push(Effect::Notify(Notify::Ready(self.status_line())));
        if let Some((source, entries)) = self.queued.take() {
            self.start_reload(source, entries);
        }
    }

    /// The reload failed: its workers are stopped, the old generation keeps serving.
    pub(super) fn fail_reload(&mut self, reason: String) {
        let Some(reload) = self.reload.take() else {
            return;
        };
        for &id in &reload.workers {
            let bound = match self.workers.get(&id).map(|w| w.state) {
                Some(WorkerState::Serving) => None,
                _ => Some(self.config.supervisor.kill_grace),
            };
            self.stop_worker(id, bound);
        }
        for &seq in &reload.entries {
            self.finish_entry(seq, false, Some(reason.clone()));
        }
        if self.generation == 0 && !self.stopping {
            tracing::error!(generation = reload.generation, reason = %reason, "the first workers did not start; stopping");
            self.fatal = Some(format!("the first workers did not start: {reason}"));
            self.begin_stop("start-up failure");
            return;
        }
        tracing::error!(
            generation = reload.generation,
            serving_generation = self.generation,
            reason = %reason,
            "reload failed; the old generation keeps serving"
        );
        self.last_reload_error = Some(reason);
        if !self.stopping {
            self.effects.push(Effect::Notify(Notify::Ready(format!(
                "{} (the last reload failed)",
                self.status_line()
            ))));
            if let Some((source, entries)) = self.queued.take() {
                self.start_reload(source, entries);
            }
        }
    }

    /// Ends a running reload without starting another (the supervisor is stopping).
    pub(super) fn abort_reload(&mut self, reason: &str) {
        if self.reload.is_some() {
            self.fail_reload(reason.to_string());
        }
    }

    pub(super) fn check_reload_deadline(&mut self) {
        let Some(reload) = &self.reload else {
            return;
        };
        if self.now.mono >= reload.deadline {
            let reason = format!(
                "generation {} was not ready within WORKER_READY_TIMEOUT ({} s)",
                reload.generation,
                self.config.supervisor.ready_timeout.as_secs()
            );
            self.fail_reload(reason);
        }
    }

    /// A manual restart request from the admin API, relayed by worker `from`: the policy
    /// decides, the decision is recorded, and the answer goes back on the same channel.
    pub(super) fn on_restart_request(
        &mut self,
        from: WorkerId,
        request_id: u64,
        request: &ManualRequest,
        requested_by: &str,
        ip: Option<String>,
    ) {
        let cfg = self.config.supervisor.policy;
        let now = self.now.wall;
        let before = policy::status(&cfg, self.history.entries(), now);
        let decision = policy::decide(&before, request);
        let message = decision_message(decision, &before, self.next_generation);
        let mut entry =
            HistoryEntry::new(Source::Manual, Action::Reload, decision, requested_by, now);
        entry.ip = ip;
        entry.manual_override = request.manual_override;
        entry.reason = request
            .reason()
            .map(|r| r.chars().take(MAX_REASON_CHARS).collect());
        if !decision.carried_out() {
            entry.finish(now, false, Some(message.clone()));
        }
        let phase = if decision.carried_out() {
            Phase::Requested
        } else {
            Phase::Rejected
        };
        let seq = self.record(entry, phase);
        tracing::info!(
            decision = decision.as_str(),
            requested_by,
            policy_state = before.state.as_str(),
            "manual restart request"
        );
        if decision.carried_out() {
            self.start_reload(Source::Manual, vec![seq]);
        }
        let reply = RestartReply {
            decision,
            retry_after: (decision == Decision::RejectedCooldown)
                .then_some(before.cooldown_remaining_seconds.max(1)),
            message,
            policy: policy::status(&cfg, self.history.entries(), now),
            entry: self.history.get(seq).cloned().unwrap_or_else(|| {
                HistoryEntry::new(Source::Manual, Action::Reload, decision, requested_by, now)
            }),
        };
        self.effects.push(Effect::Reply {
            worker: from,
            request_id,
            reply: Box::new(reply),
        });
    }
}

fn decision_message(decision: Decision, before: &PolicyStatus, next_generation: u64) -> String {
    match decision {
        Decision::Allowed => format!(
            "restart accepted: generation {next_generation} starts, and the current workers \
             drain once it is ready"
        ),
        Decision::AllowedOverride => format!(
            "restart accepted by override (the reason is recorded): generation \
             {next_generation} starts, and the current workers drain once it is ready"
        ),
        Decision::RejectedCooldown => format!(
            "a restart happened less than {} s ago; the next one is allowed in {} s (or send \
             manual_override: true, override_acknowledged: true and an override_reason)",
            before.cooldown_seconds,
            before.cooldown_remaining_seconds.max(1)
        ),
        Decision::RejectedBlocked => format!(
            "restart churn: {} restarts in the last {} s reached the budget of {}; restarts \
             are blocked until an administrator overrides with manual_override: true, \
             override_acknowledged: true and an override_reason",
            before.attempts_in_window, before.window_seconds, before.retry_budget
        ),
        Decision::RejectedReasonRequired => format!(
            "an acknowledged override (override_acknowledged: true) needs a non-empty \
             override_reason of at most {MAX_REASON_CHARS} characters"
        ),
    }
}

/// Exponential back-off of crash replacements: 1 s, 2 s, 4 s, … up to 30 s.
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(5);
    Duration::from_secs(1u64 << exp).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| super::backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
