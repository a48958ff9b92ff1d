//! The background sync: every `EQUIPMENT_STATUS_SYNC_INTERVAL` read the fleet, apply it to L1
//! (which pushes changes to this process's streams), store it in Redis and publish the change;
//! and the pub/sub listener that applies the changes other processes publish. Both run in the
//! one task of the shutdown hook `equipment_sync` (phase `EquipmentSync`), which stops before
//! Redis and the pools close.
//!
//! With Redis, one process reads the database per interval across every worker and instance:
//! at each tick a process takes the leader lock `equipment:sync:leader` for nine tenths of an
//! interval (`SET NX PX`, never released: it expires) and reads; a process that finds it
//! taken follows instead — it takes the full status the leader stored in Redis when that is
//! newer than its own (changes between come by pub/sub). Redis unreachable: every process
//! reads for itself, as without Redis.
//!
//! Redis keys (under `REDIS_KEY_PREFIX`, expiring after ten sync intervals, at least an hour):
//! `equipment:status` (the status answer's JSON), `equipment:status:at` (when it was
//! computed), `equipment:status:index` (a hash: tool id → the tool's JSON),
//! `equipment:jobs:open` (the open maintenance jobs, a JSON array), channel
//! `equipment:changes` (`{"origin": <process id>, "change": {"changed": […], "removed": […]}}`),
//! `equipment:sync:leader` (the lock).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::jobs::OpenJob;
use super::query::{self, LoadError};
use super::snapshot::{Change, EquipmentSnapshot, StoredStatus};
use super::{Applied, EquipmentStatus};
use crate::db::Database;
use crate::db::wip::Workcenter;
use crate::hold_history::PlantClock;
use crate::redis::{Redis, Subscriber};
use crate::timefmt::iso8601;

const STATUS_KEY: &str = "equipment:status";
/// When the stored status was computed (RFC 3339), for its age when it is served from Redis.
const STATUS_AT_KEY: &str = "equipment:status:at";
const INDEX_KEY: &str = "equipment:status:index";
/// The open maintenance jobs (a JSON array), for followers.
const JOBS_KEY: &str = "equipment:jobs:open";
const CHANNEL: &str = "equipment:changes";
const LEADER_KEY: &str = "equipment:sync:leader";
/// Bound on the first read, before serving.
const FIRST_READ_LIMIT: Duration = Duration::from_secs(3);

#[derive(Serialize, Deserialize)]
struct Message {
    origin: String,
    change: Change,
}

/// The sync: exactly what it uses. `App::equipment_sync` builds one for the background task
/// and for a request that finds no snapshot yet.
pub struct EquipmentSync {
    pub status: Arc<EquipmentStatus>,
    pub redis: Arc<Redis>,
    /// Its request pool reads the fleet.
    pub db: Arc<Database>,
    /// `EQUIPMENT_STATUS_SYNC_INTERVAL`.
    pub interval: Duration,
    /// The plant's clock, for the equipment history's per-day rollup.
    pub clock: PlantClock,
}

impl EquipmentSync {
    /// Reads the first snapshot before the app serves (bounded), so its first requests and
    /// event streams find one and the periodic reads start one interval later at a
    /// predictable time. A failure is logged; the sync task then reads at once.
    pub async fn read_first_snapshot(&self) {
        match tokio::time::timeout(FIRST_READ_LIMIT, query::load(&self.db.request)).await {
            Ok(Ok(snapshot)) => {
                self.status.apply(snapshot);
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read the equipment status yet; the sync will retry")
            }
            Err(_) => tracing::warn!(
                limit_ms = FIRST_READ_LIMIT.as_millis() as u64,
                "the equipment status did not load in time; the sync will retry"
            ),
        }
    }

    /// Syncs every interval until `stop`, with the listener for other processes' changes
    /// beside.
    pub async fn run(self, stop: CancellationToken) {
        let channel = self.redis.key(CHANNEL);
        let listener = Listener(&self.status);
        tokio::join!(
            self.sync_loop(&stop),
            self.redis.listen(&channel, &stop, &listener)
        );
    }

    async fn sync_loop(&self, stop: &CancellationToken) {
        let every = self.interval;
        let first = match self.status.current() {
            // Read before serving: share it, then sync one interval later.
            Some(current) => {
                self.store(&current, None).await;
                tokio::time::Instant::now() + every
            }
            None => tokio::time::Instant::now(),
        };
        let mut ticks = tokio::time::interval_at(first, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            // A sync in flight at stop is dropped: it only reads.
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.lead_or_follow() => {}
            }
        }
    }

    /// One tick: the sync when this process holds (or takes) the leader lock or Redis is
    /// off or unreachable; else the leader's stored status, when newer than ours.
    async fn lead_or_follow(&self) {
        if self.redis.enabled() {
            let key = self.redis.key(LEADER_KEY);
            let lead_for = self.interval.mul_f64(0.9);
            if let Ok(false) = self
                .redis
                .try_lock(&key, &self.status.origin, lead_for)
                .await
            {
                self.follow().await;
                return;
            }
        }
        let _ = self.sync_once().await;
        self.roll_up().await;
    }

    /// The leader's other duty: the equipment history's per-day rollup (`db::rollup`,
    /// PostgreSQL; usually nothing, or the day that just settled), chunk by chunk for at most
    /// half an interval (10 s at most) when it is behind. On the slow pool, after the status
    /// is out.
    async fn roll_up(&self) {
        use crate::db::rollup::{Rolled, roll_up};
        let budget = (self.interval / 2).min(Duration::from_secs(10));
        let started = Instant::now();
        loop {
            match roll_up(&self.db.slow, &self.clock, Utc::now()).await {
                Ok(Rolled::Days { from, before, more }) => {
                    tracing::info!(%from, %before, more, "equipment history days rolled up");
                    if !more || started.elapsed() >= budget {
                        return;
                    }
                }
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "equipment history roll-up failed; next tick");
                    return;
                }
            }
        }
    }

    /// Takes the status the leader stored when it is newer than the one served here.
    async fn follow(&self) {
        let current = self.status.current();
        let Some(stored) = self
            .load_from_redis(current.as_ref().map(|c| c.workcenters().to_vec()))
            .await
        else {
            return;
        };
        if current.is_none_or(|c| stored.computed_at > c.computed_at) {
            self.status.followed.fetch_add(1, Ordering::Relaxed);
            self.status.sync_failed(false);
            self.status.apply(stored);
        }
    }

    /// One sync: read, apply to L1, store in Redis and publish what changed.
    pub async fn sync_once(&self) -> Result<Applied, LoadError> {
        self.status.db_reads.fetch_add(1, Ordering::Relaxed);
        let snapshot = match query::load(&self.db.request).await {
            Ok(snapshot) => snapshot,
            Err(error) => {
                self.status.sync_failed(true);
                tracing::warn!(%error, "equipment sync failed; serving the previous snapshot");
                return Err(error);
            }
        };
        self.status.sync_failed(false);
        let applied = self.status.apply(snapshot);
        // Stored even when unchanged: followers take its time as their freshness.
        if let Some(current) = self.status.current() {
            let change = match &applied {
                Applied::Changed(change) => Some(change),
                _ => None,
            };
            if let Some(change) = change {
                tracing::debug!(
                    changed = change.changed.len(),
                    removed = change.removed.len(),
                    "equipment status changed"
                );
            }
            self.store(&current, change).await;
        }
        Ok(applied)
    }

    /// Writes the snapshot to L2 and publishes `change`, in one atomic pipeline. Failures are
    /// logged by the client once per outage; the local part already happened.
    async fn store(&self, snapshot: &EquipmentSnapshot, change: Option<&Change>) {
        let redis = &self.redis;
        if !redis.enabled() {
            return;
        }
        let ttl = (self.interval.as_secs() * 10).max(3_600);
        let index = redis.key(INDEX_KEY);
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .set_ex(redis.key(STATUS_KEY), &snapshot.status.0[..], ttl)
            .ignore()
            .set_ex(redis.key(STATUS_AT_KEY), iso8601(snapshot.computed_at), ttl)
            .ignore()
            .set_ex(redis.key(JOBS_KEY), snapshot.jobs_json(), ttl)
            .ignore()
            .del(&index)
            .ignore();
        let fields: Vec<(&str, &[u8])> = snapshot
            .tool_json()
            .map(|(id, json)| (id, &json[..]))
            .collect();
        if !fields.is_empty() {
            pipe.hset_multiple(&index, &fields)
                .ignore()
                .expire(&index, ttl as i64)
                .ignore();
        }
        if let Some(change) = change {
            match serde_json::to_vec(&Message {
                origin: self.status.origin.clone(),
                change: change.clone(),
            }) {
                Ok(message) => {
                    pipe.publish(redis.key(CHANNEL), message).ignore();
                }
                Err(error) => tracing::error!(%error, "cannot serialize an equipment change"),
            }
        }
        if let Err(error) = redis.pipe::<()>(&pipe).await {
            tracing::debug!(%error, "cannot store the equipment status in Redis");
        }
    }

    /// The snapshot stored in Redis by any process: for a follower, and for a process whose
    /// database read failed before it had one of its own. `workcenters`: the reference table
    /// for the matrix order, when this process has it.
    async fn load_from_redis(
        &self,
        workcenters: Option<Vec<Workcenter>>,
    ) -> Option<EquipmentSnapshot> {
        let redis = &self.redis;
        let (status, at, jobs): (Option<Vec<u8>>, Option<String>, Option<Vec<u8>>) = redis
            .run(
                ::redis::cmd("MGET")
                    .arg(redis.key(STATUS_KEY))
                    .arg(redis.key(STATUS_AT_KEY))
                    .arg(redis.key(JOBS_KEY)),
            )
            .await
            .ok()?;
        let stored: StoredStatus = serde_json::from_slice(&status?).ok()?;
        // Stored by an older version: no jobs rather than no status.
        let jobs: Vec<OpenJob> = jobs
            .and_then(|j| serde_json::from_slice(&j).ok())
            .unwrap_or_default();
        // Without the reference table, matrix rows come in workcenter id order.
        let mut snapshot =
            EquipmentSnapshot::build(stored.tools, workcenters.unwrap_or_default(), jobs).ok()?;
        // Served with the age it really has.
        if let Some(at) = at.and_then(|at| DateTime::parse_from_rfc3339(&at).ok()) {
            let at = at.with_timezone(&Utc);
            let age = (Utc::now() - at).to_std().unwrap_or_default();
            snapshot.computed_at = at;
            snapshot.computed_instant =
                Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        }
        Some(snapshot)
    }

    /// The snapshot to serve when a request finds none yet (the first sync has not
    /// finished): one request reads the database (the others wait for it); if that fails,
    /// the copy in Redis is served as stale; else the database error is the answer.
    pub async fn first_snapshot(&self) -> Result<Arc<EquipmentSnapshot>, LoadError> {
        let _one = self.status.first_load.lock().await;
        if let Some(current) = self.status.current() {
            return Ok(current);
        }
        if let Err(error) = self.sync_once().await {
            match self.load_from_redis(None).await {
                Some(stored) => {
                    tracing::warn!(%error, "serving the equipment status stored in Redis");
                    self.status.sync_failed(true);
                    self.status.apply(stored);
                }
                None => return Err(error),
            }
        }
        self.status.current().ok_or(LoadError::Empty)
    }
}

/// Applies the changes other processes publish.
struct Listener<'a>(&'a EquipmentStatus);

impl Subscriber for Listener<'_> {
    async fn subscribed(&self) {}

    async fn message(&self, payload: &[u8]) {
        receive(self.0, payload);
    }
}

fn receive(status: &EquipmentStatus, payload: &[u8]) {
    let message: Message = match serde_json::from_slice(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed equipment change message");
            return;
        }
    };
    if message.origin == status.origin {
        return;
    }
    if let Err(error) = status.apply_remote(&message.change) {
        tracing::error!(%error, "cannot apply an equipment change from another process");
    }
}
