//! Background jobs of long reports (PRODUCT §4): one mechanism every report uses.
//!
//! A report that covers a long range is submitted here instead of being answered at once:
//! [`Jobs::submit`] writes a `queued` record to the shared [`store`] (Redis when configured,
//! else the `report_jobs` table), so every worker of every instance can answer for it, and
//! starts a task on this instance that
//!
//! - waits for one of the instance's `DB_SLOW_MAX_CONCURRENT` turns (a semaphore; at most
//!   `JOB_QUEUE_MAX` jobs wait, past that [`SubmitError::QueueFull`]);
//! - beats every [`BEAT`]: writes its heartbeat and progress and reads whether a cancel was
//!   asked for (from any instance), so a cancel takes effect within a second;
//! - runs the report's work, which checks its [`JobContext`] between chunks;
//! - writes the outcome: `done` with the result (kept `JOB_RESULT_TTL`), `failed` with the
//!   reason, or `cancelled` with who or what cancelled it.
//!
//! At shutdown the registry's hook cancels every job of the instance ("the server shut
//! down") and waits for their records to say so. A job whose worker died stops beating: a
//! read then reports it `failed` ([`STALE_AFTER`]), never `running` forever.
//!
//! How a result is paged is the report's business (see `routes/jobs.rs`); [`page_rows`] pages
//! a result that carries its rows.

pub mod store;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use store::{JobStore, Outcome, StoreError};

/// How often a running or queued job writes its heartbeat and looks for a cancel request.
pub const BEAT: Duration = Duration::from_millis(400);

/// A job whose heartbeat is older than this has lost its worker and is reported failed.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

/// How long a finished job's record outlives its result, so a late read is told the result
/// expired (410) rather than that the job never existed (404).
pub const RECORD_GRACE: Duration = Duration::from_secs(3_600);

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Done, failed or cancelled: nothing changes it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }
}

/// What the store keeps of a job (its result apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// 32 lowercase hex digits.
    pub id: String,
    /// The report, such as `hold-history`.
    pub kind: String,
    /// The user who submitted it (who may read and cancel it, with administrators).
    pub owner: String,
    pub state: JobState,
    /// 0–100.
    pub progress: u8,
    /// The report's query, as validated.
    pub params: Value,
    /// Why it failed or was cancelled; once a cancel is asked for, who asked.
    pub error: Option<String>,
    /// A cancel was asked for and the worker has not acted on it yet.
    pub cancel_requested: bool,
    /// The process that runs it (host, pid and a random part).
    pub worker: String,
    pub heartbeat_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the result stops being served (410 `JOB_EXPIRED` after it).
    pub expires_at: DateTime<Utc>,
}

impl JobRecord {
    /// The record as a reader should see it at `now`: a queued or running job whose heartbeat
    /// stopped lost its worker, and is failed.
    pub fn as_seen_at(mut self, now: DateTime<Utc>) -> Self {
        if !self.state.is_final() && self.is_stale(now) {
            self.state = JobState::Failed;
            self.error = Some(format!(
                "the worker running the job stopped (no heartbeat since {})",
                crate::timefmt::iso8601(self.heartbeat_at)
            ));
        }
        self
    }

    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        (now - self.heartbeat_at).to_std().unwrap_or_default() > STALE_AFTER
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// Why a job's work ended without a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    #[error("cancelled: {0}")]
    Cancelled(String),
    #[error("{0}")]
    Failed(String),
    /// The database failed (the job fails with the error's public message; a report run at
    /// once answers with the error's own code).
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// What a job's work holds: its cancellation and its progress.
#[derive(Clone)]
pub struct JobContext {
    token: CancellationToken,
    progress: Arc<AtomicU8>,
    reason: Arc<Mutex<Option<String>>>,
    /// Tests slow jobs down between chunks to catch them mid-way.
    pause: Duration,
}

impl JobContext {
    /// A context nothing cancels: work run at once, inside a request.
    pub fn detached() -> Self {
        Self {
            token: CancellationToken::new(),
            progress: Arc::new(AtomicU8::new(0)),
            reason: Arc::new(Mutex::new(None)),
            pause: Duration::ZERO,
        }
    }

    /// Records progress (0–100).
    pub fn progress(&self, percent: u8) {
        self.progress.store(percent.min(100), Ordering::Relaxed);
    }

    /// Between two chunks of work: `Err` once the job is cancelled.
    pub async fn checkpoint(&self) -> Result<(), JobError> {
        if !self.pause.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(self.pause) => {}
                () = self.token.cancelled() => {}
            }
        }
        if self.token.is_cancelled() {
            return Err(self.cancelled());
        }
        Ok(())
    }

    fn cancelled(&self) -> JobError {
        JobError::Cancelled(
            self.reason
                .lock()
                .clone()
                .unwrap_or_else(|| "cancelled".into()),
        )
    }

    fn cancel(&self, reason: String) {
        self.reason.lock().get_or_insert(reason);
        self.token.cancel();
    }
}

/// The work of one job: given its context, the result to keep.
pub type Work = Box<
    dyn FnOnce(JobContext) -> Pin<Box<dyn Future<Output = Result<Value, JobError>> + Send>> + Send,
>;

/// Why a job could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("{waiting} jobs already wait for a turn on this server (JOB_QUEUE_MAX)")]
    QueueFull { waiting: u32, retry_after: u64 },
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The job runner of one process and its view of the shared store.
pub struct Jobs {
    store: JobStore,
    /// One turn per job that may run at once (`DB_SLOW_MAX_CONCURRENT`).
    turns: Arc<Semaphore>,
    /// Jobs of this instance waiting for a turn.
    waiting: AtomicU32,
    queue_max: u32,
    result_ttl: Duration,
    /// This process, as records name it.
    worker: String,
    /// The jobs this instance runs, to cancel them at shutdown.
    local: Mutex<HashMap<String, JobContext>>,
    tasks: TaskTracker,
    pause: Mutex<Duration>,
}

impl Jobs {
    pub fn new(store: JobStore, max_running: u32, queue_max: u32, result_ttl: Duration) -> Self {
        Self {
            store,
            turns: Arc::new(Semaphore::new(max_running.max(1) as usize)),
            waiting: AtomicU32::new(0),
            queue_max,
            result_ttl,
            worker: worker_name(),
            local: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            pause: Mutex::new(Duration::ZERO),
        }
    }

    pub fn store(&self) -> &JobStore {
        &self.store
    }

    /// This process's name in the records it writes.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How long results are kept (`JOB_RESULT_TTL`).
    pub fn result_ttl(&self) -> Duration {
        self.result_ttl
    }

    /// Jobs of this instance waiting for a turn, and running.
    pub fn load(&self) -> (u32, usize) {
        (
            self.waiting.load(Ordering::Relaxed),
            self.local.lock().len(),
        )
    }

    /// Makes every later job wait `pause` at each checkpoint, so a test can catch one
    /// running (cancel it, stop the server under it).
    #[cfg(any(test, feature = "test-support"))]
    pub fn pause_at_checkpoints(&self, pause: Duration) {
        *self.pause.lock() = pause;
    }

    fn new_record(&self, kind: &str, owner: &str, params: Value, now: DateTime<Utc>) -> JobRecord {
        JobRecord {
            id: new_id(),
            kind: kind.to_string(),
            owner: owner.to_string(),
            state: JobState::Queued,
            progress: 0,
            params,
            error: None,
            cancel_requested: false,
            worker: self.worker.clone(),
            heartbeat_at: now,
            created_at: now,
            started_at: None,
            finished_at: None,
            expires_at: now + self.ttl(),
        }
    }

    fn ttl(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.result_ttl).unwrap_or(chrono::Duration::MAX)
    }

    /// Keeps the result of a report answered at once as a finished job, so its pages are read
    /// like any job's.
    pub async fn record_done(
        &self,
        kind: &str,
        owner: &str,
        params: Value,
        result: &Value,
    ) -> Result<JobRecord, StoreError> {
        let now = Utc::now();
        let mut record = self.new_record(kind, owner, params, now);
        record.state = JobState::Done;
        record.progress = 100;
        record.started_at = Some(now);
        record.finished_at = Some(now);
        let result = serde_json::to_string(result).map_err(StoreError::other)?;
        self.store
            .insert(&record, Some(&result), self.result_ttl)
            .await?;
        Ok(record)
    }

    /// Queues `work` as a job of `kind` for `owner`; the record as written.
    pub async fn submit(
        self: &Arc<Self>,
        kind: &str,
        owner: &str,
        params: Value,
        work: Work,
    ) -> Result<JobRecord, SubmitError> {
        if self.tasks.is_closed() {
            return Err(SubmitError::ShuttingDown);
        }
        let waiting = self.waiting.load(Ordering::Relaxed);
        if self.turns.available_permits() == 0 && waiting >= self.queue_max {
            return Err(SubmitError::QueueFull {
                waiting,
                retry_after: 5,
            });
        }
        let record = self.new_record(kind, owner, params, Utc::now());
        self.store.insert(&record, None, self.result_ttl).await?;
        let ctx = JobContext {
            pause: *self.pause.lock(),
            ..JobContext::detached()
        };
        self.local.lock().insert(record.id.clone(), ctx.clone());
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let jobs = self.clone();
        let id = record.id.clone();
        self.tasks
            .spawn(async move { jobs.drive(id, ctx, work).await });
        Ok(record)
    }

    /// One job's life on this instance: wait for a turn, run, write the outcome; beats all
    /// along.
    async fn drive(self: Arc<Self>, id: String, ctx: JobContext, work: Work) {
        let done = CancellationToken::new();
        let beating = self.clone().beat(id.clone(), ctx.clone(), done.clone());
        let running = async {
            let turn = tokio::select! {
                turn = self.turns.clone().acquire_owned() => turn.ok(),
                () = ctx.token.cancelled() => None,
            };
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            let Some(_turn) = turn else {
                return Err(ctx.cancelled());
            };
            if let Err(e) = self.store.mark_running(&id, Utc::now()).await {
                tracing::warn!(job = %id, error = %e, "could not mark the job running");
            }
            let work = work(ctx.clone());
            tokio::select! {
                outcome = work => outcome,
                () = ctx.token.cancelled() => Err(ctx.cancelled()),
            }
        };
        let outcome = tokio::join!(
            async {
                let outcome = running.await;
                done.cancel();
                outcome
            },
            beating
        )
        .0;
        let progress = ctx.progress.load(Ordering::Relaxed);
        let (state, progress, error, result) = match outcome {
            Ok(result) => match serde_json::to_string(&result) {
                Ok(text) => (JobState::Done, 100, None, Some(text)),
                Err(e) => (JobState::Failed, progress, Some(e.to_string()), None),
            },
            Err(JobError::Cancelled(reason)) => (JobState::Cancelled, progress, Some(reason), None),
            Err(JobError::Failed(reason)) => {
                tracing::warn!(job = %id, reason = %reason, "job failed");
                (JobState::Failed, progress, Some(reason), None)
            }
            Err(JobError::Db(e)) => {
                tracing::warn!(job = %id, error = %e, "job failed");
                (JobState::Failed, progress, Some(e.public_message()), None)
            }
        };
        let now = Utc::now();
        let outcome = Outcome {
            state,
            progress,
            error: error.as_deref(),
            result: result.as_deref(),
            at: now,
            expires_at: now + self.ttl(),
        };
        let written = self.store.finish(&id, &outcome, self.result_ttl).await;
        if let Err(e) = written {
            tracing::warn!(job = %id, error = %e, "could not write the job's outcome");
        }
        self.local.lock().remove(&id);
    }

    /// Writes the heartbeat and progress every [`BEAT`] until `done`; a cancel asked for in
    /// the store cancels the job here.
    async fn beat(self: Arc<Self>, id: String, ctx: JobContext, done: CancellationToken) {
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                () = tokio::time::sleep(BEAT) => {}
            }
            let progress = ctx.progress.load(Ordering::Relaxed);
            match self.store.heartbeat(&id, Utc::now(), progress).await {
                Ok(Some(reason)) => ctx.cancel(reason),
                Ok(None) => {}
                Err(e) => tracing::debug!(job = %id, error = %e, "job heartbeat not written"),
            }
        }
    }

    /// A job's record as readers should see it (a job that lost its worker is failed), or
    /// `None` when unknown.
    pub async fn status(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let Some(record) = self.store.get(id).await? else {
            return Ok(None);
        };
        let seen = record.as_seen_at(Utc::now());
        Ok(Some(seen))
    }

    /// The stored result of a finished job (`None` once expired).
    pub async fn result(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.store.result(id).await
    }

    /// Asks the job's worker, wherever it runs, to cancel it, and waits (at most
    /// `wait`) for the record to say it stopped. The record as last seen.
    pub async fn cancel(
        &self,
        record: &JobRecord,
        by: &str,
        wait: Duration,
    ) -> Result<JobRecord, StoreError> {
        let reason = format!("cancelled by {by}");
        if let Some(ctx) = self.local.lock().get(&record.id) {
            ctx.cancel(reason.clone());
        }
        self.store.request_cancel(&record.id, &reason).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let seen = self.status(&record.id).await?;
            match seen {
                Some(r) if r.state.is_final() => return Ok(r),
                Some(r) if tokio::time::Instant::now() >= deadline => return Ok(r),
                None => return Ok(record.clone()),
                Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Cancels every job of this instance ("the server shut down") and waits for each to
    /// write its state; new submissions are refused from now on. The shutdown hook.
    pub async fn shutdown(&self) {
        self.tasks.close();
        let running: Vec<JobContext> = self.local.lock().values().cloned().collect();
        for ctx in running {
            ctx.cancel("the server shut down before the job finished".into());
        }
        self.tasks.wait().await;
    }

    /// Deletes records whose result expired more than [`RECORD_GRACE`] ago (the database
    /// store; Redis expires its keys itself).
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.store.sweep(Utc::now()).await
    }

    /// Sweeps every `every` until `stop`.
    pub async fn run_sweeper(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.sweep().await {
                tracing::debug!(error = %e, "job sweep failed");
            }
        }
    }
}

/// A fresh job id: 128 random bits as 32 hex digits.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether `id` looks like a job id (anything else is simply not found).
pub fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// One page of the rows a result carries (`result.rows`, an array of objects), sorted by the
/// field `sort` (numbers, then text; missing last) — for reports whose result is small
/// enough to keep whole.
pub fn page_rows(
    result: &Value,
    page: u64,
    page_size: u64,
    sort: Option<&str>,
    descending: bool,
) -> Value {
    let mut rows: Vec<&Value> = result["rows"]
        .as_array()
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    if let Some(field) = sort {
        rows.sort_by(|a, b| match (&a[field], &b[field]) {
            // Missing values last either way.
            (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
            (Value::Null, _) => std::cmp::Ordering::Greater,
            (_, Value::Null) => std::cmp::Ordering::Less,
            (x, y) if descending => compare(y, x),
            (x, y) => compare(x, y),
        });
    }
    let total = rows.len() as u64;
    let start = page.saturating_sub(1).saturating_mul(page_size).min(total) as usize;
    let end = (start as u64 + page_size).min(total) as usize;
    serde_json::json!({
        "page": page,
        "page_size": page_size,
        "total": total,
        "rows": rows[start..end],
    })
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or_default()
            .total_cmp(&y.as_f64().unwrap_or_default()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests;
