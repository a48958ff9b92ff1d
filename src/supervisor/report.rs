//! What the supervisor tells others: decisions into the restart history and the audit log,
//! its state as the snapshot workers show, and the one-line status for systemd.

use super::audit::AuditRecord;
use super::history::{Action, HistoryEntry, Source};
use super::link::STATUS_HISTORY;
use super::master::Master;
use super::policy;
use super::protocol::{Snapshot, ToWorker, WorkerInfo, WorkerState};

impl Master {
    /// Records a decision in the history (atomically on disk) and the audit log; returns
    /// its number.
    pub(super) fn record(&mut self, entry: HistoryEntry, phase: &str) -> u64 {
        let seq = self.history.push(entry);
        if let Some(entry) = self.history.get(seq).cloned() {
            self.audit(&entry, phase);
        }
        seq
    }

    /// Completes a history entry and audits the outcome.
    pub(super) fn finish_entry(&mut self, seq: u64, success: bool, outcome: Option<String>) {
        let now = self.clock.now();
        if let Some(entry) = self
            .history
            .update(seq, |e| e.finish(now, success, outcome))
        {
            self.audit(&entry, if success { "completed" } else { "failed" });
        }
    }

    fn audit(&self, entry: &HistoryEntry, phase: &str) {
        let action = match (entry.source, entry.action) {
            (Source::Manual, _) => "worker.restart",
            (_, Action::Reload) => "worker.reload",
            (_, Action::Replace) => "worker.replace",
            (_, Action::Recycle) => "worker.recycle",
        };
        let mut detail = serde_json::to_value(entry).unwrap_or_default();
        detail["phase"] = serde_json::Value::from(phase);
        self.auditor.record(AuditRecord {
            at: self.clock.now(),
            actor: entry.requested_by.clone(),
            ip: entry.ip.clone(),
            action: action.into(),
            target: entry.generation.map(|g| format!("generation {g}")),
            detail,
            db_error: None,
        });
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let now = self.clock.now();
        Snapshot {
            supervisor_pid: std::process::id(),
            supervisor_started_at: self.started_at,
            generation: self.generation,
            workers_expected: self.slots.len(),
            reload_in_progress: self.reload.is_some(),
            workers: self
                .workers
                .values()
                .map(|w| WorkerInfo {
                    pid: w.pid,
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
                &self.settings.supervisor.policy,
                self.history.entries(),
                now,
            ),
            history: self.history.newest(STATUS_HISTORY),
            last_reload_error: self.last_reload_error.clone(),
        }
    }

    pub(super) fn send_to(&self, id: u64, msg: ToWorker) {
        if let Some(w) = self.workers.get(&id) {
            let _ = w.tx.send(msg);
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
