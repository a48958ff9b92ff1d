//! What the supervisor tells others: decisions into the restart history and the audit log,
//! its state as the snapshot workers show, and the one-line status for systemd.

use super::{Core, Effect};
use crate::supervisor::audit::{AuditAction, AuditRecord, Phase};
use crate::supervisor::history::HistoryEntry;
use crate::supervisor::link::STATUS_HISTORY;
use crate::supervisor::policy;
use crate::supervisor::protocol::{Snapshot, WorkerInfo, WorkerMetrics, WorkerState};

impl Core {
    /// Records a decision in the history and the audit log; returns its number.
    pub(super) fn record(&mut self, entry: HistoryEntry, phase: Phase) -> u64 {
        let seq = self.history.push(entry);
        self.history_changed = true;
        if let Some(entry) = self.history.get(seq).cloned() {
            self.audit(entry, phase);
        }
        seq
    }

    /// Changes a history entry without auditing it (the generation a reload starts).
    pub(super) fn update_entry(&mut self, seq: u64, f: impl FnOnce(&mut HistoryEntry)) {
        if self.history.update(seq, f).is_some() {
            self.history_changed = true;
        }
    }

    /// Completes a history entry and audits the outcome.
    pub(super) fn finish_entry(&mut self, seq: u64, success: bool, outcome: Option<String>) {
        let now = self.now.wall;
        if let Some(entry) = self
            .history
            .update(seq, |e| e.finish(now, success, outcome))
        {
            self.history_changed = true;
            self.audit(
                entry,
                if success {
                    Phase::Completed
                } else {
                    Phase::Failed
                },
            );
        }
    }

    fn audit(&mut self, entry: HistoryEntry, phase: Phase) {
        self.effects.push(Effect::Audit(Box::new(AuditRecord {
            at: self.now.wall,
            actor: entry.requested_by.clone(),
            ip: entry.ip.clone(),
            action: AuditAction::of(&entry),
            phase,
            target: entry.generation.map(|g| format!("generation {g}")),
            entry,
        })));
    }

    /// The supervisor's state as every worker shows it.
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            supervisor_pid: self.config.supervisor_pid,
            supervisor_started_at: self.started_at,
            generation: self.generation,
            workers_expected: self.slots.len(),
            reload_in_progress: self.reload.is_some(),
            workers: self
                .workers
                .values()
                .map(|w| WorkerInfo {
                    pid: w.pid(),
                    slot: w.slot,
                    generation: w.generation,
                    state: w.state,
                    started_at: w.started_at,
                    ready_at: w.ready_at.map(|(_, at)| at),
                    last_heartbeat_at: w.last_beat_at,
                    requests_served: w.requests,
                })
                .collect(),
            policy: policy::status(
                &self.config.supervisor.policy,
                self.history.entries(),
                self.now.wall,
            ),
            history: self.history.newest(STATUS_HISTORY),
            last_reload_error: self.last_reload_error.clone(),
            metrics: self
                .workers
                .values()
                .filter(|w| !w.metrics.is_empty())
                .map(|w| WorkerMetrics {
                    pid: w.pid(),
                    slot: w.slot,
                    samples: w.metrics.clone(),
                })
                .collect(),
        }
    }

    pub(super) fn status_line(&self) -> String {
        let serving = self
            .workers
            .values()
            .filter(|w| w.generation == self.generation && w.state == WorkerState::Serving)
            .count();
        format!(
            "generation {}: {serving}/{} workers serving",
            self.generation,
            self.slots.len()
        )
    }
}
