//! What the HTTP side of a process knows about supervision, held by the `App` as
//! [`Supervision`].
//!
//! In a worker it is attached to the control channel ([`WorkerLink`]): status comes from the
//! snapshot the supervisor pushes every tick (no round trip), restart requests go to the
//! supervisor, which alone decides. In-process (`WORKERS=0`) there is no supervisor: status
//! shows this one process and the policy computed from the history file in the runtime
//! directory, and restart requests are refused (there is nothing to restart from inside).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::health::{
    PolicyHealth, Recommendation, SupervisionMode, WorkersHealth, recovery_recommendation,
};
use super::history::{self, HistoryEntry};
use super::policy::{self, ManualRequest, PolicyStatus};
use super::protocol::{
    self, RestartReply, Snapshot, ToSupervisor, ToWorker, WorkerInfo, WorkerMetrics, WorkerState,
};
use crate::config::supervisor::{PolicySettings, SupervisorSettings};
use crate::http::server;

/// History entries the status API shows.
pub const STATUS_HISTORY: usize = 20;

/// Supervision as seen from inside one serving process.
pub struct Supervision {
    policy: PolicySettings,
    runtime_dir: PathBuf,
    started_at: DateTime<Utc>,
    link: OnceLock<Arc<WorkerLink>>,
    /// In-process mode: the history file, re-read when its modification time changes.
    history_cache: Mutex<Option<(SystemTime, Arc<Vec<HistoryEntry>>)>>,
}

/// The worker and policy status of `GET /admin/api/worker/status`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub mode: SupervisionMode,
    /// The process that answered.
    pub answered_by: ProcessIdentity,
    pub supervisor_pid: Option<u32>,
    pub supervisor_started_at: Option<DateTime<Utc>>,
    pub generation: u64,
    pub workers_expected: usize,
    pub reload_in_progress: bool,
    pub workers: Vec<WorkerInfo>,
    pub policy: PolicyStatus,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
    pub last_reload_error: Option<String>,
    pub recovery_recommendation: Option<Recommendation>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    pub generation: u64,
    pub slot: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error(
        "this process serves in-process (WORKERS=0): there is no supervisor to restart workers; \
         restart the process itself"
    )]
    NotSupervised,
    #[error("the supervisor did not answer the restart request")]
    SupervisorUnavailable,
}

impl Supervision {
    pub fn new(settings: &SupervisorSettings) -> Self {
        Self {
            policy: settings.policy,
            runtime_dir: settings.runtime_dir.clone(),
            started_at: Utc::now(),
            link: OnceLock::new(),
            history_cache: Mutex::new(None),
        }
    }

    /// Connects this process to its supervisor (the worker role does this once at start).
    pub fn attach(&self, link: Arc<WorkerLink>) {
        let _ = self.link.set(link);
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    pub fn is_supervised(&self) -> bool {
        self.link.get().is_some()
    }

    /// Policy state, churn and workers; no I/O in worker mode, one `stat` in-process.
    pub fn health(&self) -> PolicyHealth {
        let status = self.status();
        let serving = status
            .workers
            .iter()
            .filter(|w| w.generation == status.generation && w.state == WorkerState::Serving)
            .count();
        PolicyHealth::new(
            &status.policy,
            WorkersHealth {
                mode: status.mode,
                expected: status.workers_expected,
                serving,
                generation: status.generation,
                reload_in_progress: status.reload_in_progress,
            },
        )
    }

    /// Every worker's latest `/metrics` samples when supervised (`None` in one process, or
    /// before the first snapshot).
    pub fn instance_metrics(&self) -> Option<Vec<WorkerMetrics>> {
        self.link.get()?.metrics()
    }

    pub fn status(&self) -> WorkerStatus {
        let now = Utc::now();
        let status = match self.link.get() {
            Some(link) => link.status().unwrap_or_else(|| {
                // Before the first snapshot (a worker's first moments): the history on disk.
                let local = self.in_process_status(now);
                WorkerStatus {
                    mode: SupervisionMode::Supervised,
                    answered_by: link.identity,
                    generation: link.identity.generation,
                    workers_expected: 0,
                    workers: Vec::new(),
                    ..local
                }
            }),
            None => self.in_process_status(now),
        };
        WorkerStatus {
            recovery_recommendation: recovery_recommendation(&PolicyHealth::new(
                &status.policy,
                WorkersHealth {
                    mode: status.mode,
                    expected: 0,
                    serving: 0,
                    generation: 0,
                    reload_in_progress: false,
                },
            )),
            ..status
        }
    }

    /// Asks the supervisor to reload every worker; it decides by the policy.
    pub async fn request_restart(
        &self,
        request: ManualRequest,
        requested_by: &str,
        ip: Option<String>,
    ) -> Result<RestartReply, RestartError> {
        let link = self.link.get().ok_or(RestartError::NotSupervised)?;
        link.request_restart(request, requested_by, ip).await
    }

    fn in_process_status(&self, now: DateTime<Utc>) -> WorkerStatus {
        let history = self.history();
        let pid = std::process::id();
        WorkerStatus {
            mode: SupervisionMode::InProcess,
            answered_by: ProcessIdentity {
                pid,
                generation: 0,
                slot: 0,
            },
            supervisor_pid: None,
            supervisor_started_at: None,
            generation: 0,
            workers_expected: 1,
            reload_in_progress: false,
            workers: vec![WorkerInfo {
                pid,
                slot: 0,
                generation: 0,
                state: WorkerState::Serving,
                started_at: self.started_at,
                ready_at: Some(self.started_at),
                last_heartbeat_at: Some(now),
                requests_served: server::requests_served(),
            }],
            policy: policy::status(&self.policy, &history, now),
            history: history.iter().rev().take(STATUS_HISTORY).cloned().collect(),
            last_reload_error: None,
            recovery_recommendation: None,
        }
    }

    fn history(&self) -> Arc<Vec<HistoryEntry>> {
        let path = self.runtime_dir.join(history::FILE_NAME);
        let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
            return Arc::default();
        };
        let mut cache = self.history_cache.lock();
        if let Some((at, entries)) = cache.as_ref()
            && *at == modified
        {
            return entries.clone();
        }
        let entries = Arc::new(history::read(&path).unwrap_or_default());
        *cache = Some((modified, entries.clone()));
        entries
    }
}

/// A worker's end of the control channel.
pub struct WorkerLink {
    pub identity: ProcessIdentity,
    tx: mpsc::UnboundedSender<ToSupervisor>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<RestartReply>>>,
    next_id: AtomicU64,
    /// Cancelled when the supervisor closes the channel (it is gone).
    pub closed: CancellationToken,
}

/// How long a restart request waits for the supervisor's decision.
const RESTART_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

impl WorkerLink {
    /// Starts the reader and writer tasks on `stream`; they end with the channel.
    pub fn start(stream: UnixStream, generation: u64, slot: usize) -> Arc<Self> {
        let (read, write) = protocol::split(stream);
        let (tx, rx) = mpsc::unbounded_channel();
        let link = Arc::new(Self {
            identity: ProcessIdentity {
                pid: std::process::id(),
                generation,
                slot,
            },
            tx,
            snapshot: RwLock::new(None),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed: CancellationToken::new(),
        });
        tokio::spawn(protocol::write_loop(write, rx));
        let reader = link.clone();
        tokio::spawn(async move {
            protocol::read_loop::<ToWorker>(read, |msg| reader.on_message(msg)).await;
            reader.closed.cancel();
            // Unblock waiting restart requests: their senders drop.
            reader.pending.lock().clear();
        });
        link
    }

    pub fn send(&self, msg: ToSupervisor) {
        let _ = self.tx.send(msg);
    }

    fn on_message(&self, msg: ToWorker) {
        match msg {
            ToWorker::Snapshot(snapshot) => {
                *self.snapshot.write() = Some(Arc::from(snapshot));
            }
            ToWorker::RestartReply { id, reply } => {
                let waiter = self.pending.lock().remove(&id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(*reply);
                }
            }
        }
    }

    async fn request_restart(
        &self,
        request: ManualRequest,
        requested_by: &str,
        ip: Option<String>,
    ) -> Result<RestartReply, RestartError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        self.send(ToSupervisor::Restart {
            id,
            request,
            requested_by: requested_by.to_string(),
            ip,
        });
        let answer = tokio::time::timeout(RESTART_REPLY_TIMEOUT, rx).await;
        self.pending.lock().remove(&id);
        match answer {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(RestartError::SupervisorUnavailable),
        }
    }

    /// The status from the last snapshot; `None` before the first one.
    /// Every worker's latest `/metrics` samples, from the supervisor's last snapshot.
    fn metrics(&self) -> Option<Vec<WorkerMetrics>> {
        Some(self.snapshot.read().as_ref()?.metrics.clone())
    }

    fn status(&self) -> Option<WorkerStatus> {
        let s = self.snapshot.read().clone()?;
        Some(WorkerStatus {
            mode: SupervisionMode::Supervised,
            answered_by: self.identity,
            supervisor_pid: Some(s.supervisor_pid),
            supervisor_started_at: Some(s.supervisor_started_at),
            generation: s.generation,
            workers_expected: s.workers_expected,
            reload_in_progress: s.reload_in_progress,
            workers: s.workers.clone(),
            policy: s.policy.clone(),
            history: s.history.clone(),
            last_reload_error: s.last_reload_error.clone(),
            recovery_recommendation: None,
        })
    }
}
