//! The control channel between the supervisor and each worker: a Unix socket pair created at
//! spawn (the worker's end is its fd 4), carrying one JSON object per line.
//!
//! Worker → supervisor: `ready` once serving, a `heartbeat` every second from the worker's
//! async runtime (a wedged runtime stops beating), and `restart` requests from the admin API.
//! Supervisor → worker: a `snapshot` of the supervisor's state every tick (the status APIs and
//! `/health` read it without a round trip) and the `restart_reply` to a request.
//! Either side seeing the channel close knows the other is gone: a worker then drains and exits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::history::{Decision, HistoryEntry};
use super::policy::{ManualRequest, PolicyStatus};
use crate::metrics::Sample;

/// The fd a worker finds its listening socket on (`LISTEN_FDS` protocol: the first is 3).
pub const LISTEN_FD: i32 = 3;
/// The fd a worker finds its control channel on.
pub const CONTROL_FD: i32 = 4;

/// Longest line accepted on the channel; a longer one closes it (a confused peer).
const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToSupervisor {
    Ready {
        /// Shutdown hooks registered: the supervisor's bound on this worker's stop.
        hooks: usize,
    },
    Heartbeat {
        requests: u64,
        /// The worker's `/metrics` samples (absent from a worker of an older version).
        #[serde(default)]
        metrics: Vec<Sample>,
    },
    Restart {
        id: u64,
        request: ManualRequest,
        requested_by: String,
        ip: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    Snapshot(Box<Snapshot>),
    RestartReply { id: u64, reply: Box<RestartReply> },
}

/// The supervisor's answer to a manual restart request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestartReply {
    pub decision: Decision,
    /// Seconds to wait, for a request rejected by the cooldown.
    pub retry_after: Option<u64>,
    pub message: String,
    /// The policy after the decision (a carried-out restart starts a cooldown).
    pub policy: PolicyStatus,
    pub entry: HistoryEntry,
}

/// The supervisor's state, pushed to every worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub supervisor_pid: u32,
    pub supervisor_started_at: DateTime<Utc>,
    /// The generation serving now.
    pub generation: u64,
    /// Workers wanted per generation (`WORKERS`).
    pub workers_expected: usize,
    pub reload_in_progress: bool,
    pub workers: Vec<WorkerInfo>,
    pub policy: PolicyStatus,
    /// The newest history entries, newest first.
    pub history: Vec<HistoryEntry>,
    /// The last failed reload, if the newest reload failed.
    pub last_reload_error: Option<String>,
    /// Each worker's latest `/metrics` samples, for the instance view.
    #[serde(default)]
    pub metrics: Vec<WorkerMetrics>,
}

/// One worker's latest samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerMetrics {
    pub pid: u32,
    pub slot: usize,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Spawned, not yet ready.
    Starting,
    Serving,
    /// Asked to stop (drain), or being killed.
    Stopping,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub pid: u32,
    pub slot: usize,
    pub generation: u64,
    pub state: WorkerState,
    pub started_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub requests_served: u64,
}

/// Writes every message of `rx` as a line until `rx` closes or the peer goes away.
pub async fn write_loop<T: Serialize>(
    mut half: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<T>,
) {
    while let Some(msg) = rx.recv().await {
        let Ok(mut line) = serde_json::to_vec(&msg) else {
            continue;
        };
        line.push(b'\n');
        if half.write_all(&line).await.is_err() {
            break;
        }
    }
}

/// Reads lines into `on_message` until the peer closes the channel or sends garbage.
pub async fn read_loop<T: for<'de> Deserialize<'de>>(
    half: OwnedReadHalf,
    mut on_message: impl FnMut(T),
) {
    let mut reader = BufReader::new(half);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(n) if n == MAX_LINE && !line.ends_with('\n') => {
                tracing::warn!("control channel: a message over {MAX_LINE} bytes; closing it");
                return;
            }
            Ok(_) => match serde_json::from_str::<T>(&line) {
                Ok(msg) => on_message(msg),
                Err(error) => {
                    tracing::warn!(%error, "control channel: unreadable message; closing it");
                    return;
                }
            },
        }
    }
}

/// Splits a control socket into its read and write halves.
pub fn split(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    stream.into_split()
}
