//! The background sync: every `EQUIPMENT_STATUS_SYNC_INTERVAL` read the fleet, apply it to L1
//! (which pushes changes to this process's streams), store it in Redis and publish the change;
//! and the pub/sub listener that applies the changes other processes publish. Both tasks are
//! owned by the shutdown hook `equipment_sync` (phase `EquipmentSync`), which runs before
//! Redis and the pools close.
//!
//! Redis keys (under `REDIS_KEY_PREFIX`, expiring after ten sync intervals, at least an hour):
//! `equipment:status` (the status answer's JSON), `equipment:status:at` (when it was
//! computed), `equipment:status:index` (a hash: tool id → the tool's JSON), channel
//! `equipment:changes` (`{"origin": <process id>, "change": {"changed": […], "removed": […]}}`).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::query::{self, LoadError};
use super::snapshot::{Change, EquipmentSnapshot, StoredStatus};
use super::{Applied, EquipmentStatus};
use crate::app::{App, AppState};
use crate::http::envelope::iso8601;
use crate::lifecycle::Phase;

const STATUS_KEY: &str = "equipment:status";
/// When the stored status was computed (RFC 3339), for its age when it is served from Redis.
const STATUS_AT_KEY: &str = "equipment:status:at";
const INDEX_KEY: &str = "equipment:status:index";
const CHANNEL: &str = "equipment:changes";
/// Longest wait between attempts to (re)subscribe.
const MAX_BACK_OFF: Duration = Duration::from_secs(30);

#[derive(Serialize, Deserialize)]
struct Message {
    origin: String,
    change: Change,
}

/// Starts the sync and the listener and registers their stop hook.
pub fn start(state: &AppState) {
    let stop = state.stopping.child_token();
    let sync = tokio::spawn(run(state.clone(), stop.clone()));
    let listener = tokio::spawn(listen(state.clone(), stop.clone()));
    state
        .shutdown
        .register("equipment_sync", Phase::EquipmentSync, move || async move {
            stop.cancel();
            let sync = sync.await;
            let listener = listener.await;
            sync.map_err(|e| anyhow::anyhow!("the equipment sync failed: {e}"))?;
            listener.map_err(|e| anyhow::anyhow!("the equipment listener failed: {e}"))
        });
}

/// Bound on the first read while the app is built.
const WARM_UP_LIMIT: Duration = Duration::from_secs(3);

/// Reads the first snapshot before the app serves (bounded), so its first requests and event
/// streams find one and the periodic reads start one interval later at a predictable time.
/// A failure is logged; the sync task then reads at once.
pub async fn warm_up(app: &App) {
    match tokio::time::timeout(WARM_UP_LIMIT, query::load(&app.db.request)).await {
        Ok(Ok(snapshot)) => {
            app.equipment.apply(snapshot);
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot read the equipment status yet; the sync will retry")
        }
        Err(_) => tracing::warn!(
            limit_ms = WARM_UP_LIMIT.as_millis() as u64,
            "the equipment status did not load in time; the sync will retry"
        ),
    }
}

async fn run(app: AppState, stop: CancellationToken) {
    let every = app.config.equipment.sync_interval;
    let first = match app.equipment.current() {
        // Loaded while the app was built: share it, then sync one interval later.
        Some(current) => {
            store(&app, &current, None).await;
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
            _ = sync_once(&app) => {}
        }
    }
}

/// One sync: read, apply to L1, store in Redis and publish what changed.
pub async fn sync_once(app: &App) -> Result<Applied, LoadError> {
    let snapshot = match query::load(&app.db.request).await {
        Ok(snapshot) => snapshot,
        Err(error) => {
            app.equipment.sync_failed(true);
            tracing::warn!(%error, "equipment sync failed; serving the previous snapshot");
            return Err(error);
        }
    };
    app.equipment.sync_failed(false);
    let applied = app.equipment.apply(snapshot);
    if applied != Applied::Unchanged
        && let Some(current) = app.equipment.current()
    {
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
        store(app, &current, change).await;
    }
    Ok(applied)
}

/// Writes the snapshot to L2 and publishes `change`, in one atomic pipeline. Failures are
/// logged by the client once per outage; the local part already happened.
async fn store(app: &App, snapshot: &EquipmentSnapshot, change: Option<&Change>) {
    let redis = &app.redis;
    if !redis.enabled() {
        return;
    }
    let ttl = (app.config.equipment.sync_interval.as_secs() * 10).max(3_600);
    let index = redis.key(INDEX_KEY);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .set_ex(redis.key(STATUS_KEY), &snapshot.status.0[..], ttl)
        .ignore()
        .set_ex(redis.key(STATUS_AT_KEY), iso8601(snapshot.computed_at), ttl)
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
            origin: app.equipment.origin.clone(),
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

/// The snapshot stored in Redis by any process, for a process whose database read failed
/// before it had one of its own.
async fn load_from_redis(app: &App) -> Option<EquipmentSnapshot> {
    let (status, at): (Option<Vec<u8>>, Option<String>) = app
        .redis
        .run(
            redis::cmd("MGET")
                .arg(app.redis.key(STATUS_KEY))
                .arg(app.redis.key(STATUS_AT_KEY)),
        )
        .await
        .ok()?;
    let stored: StoredStatus = serde_json::from_slice(&status?).ok()?;
    // Without the reference table here, matrix rows come in workcenter id order.
    let mut snapshot = EquipmentSnapshot::build(stored.tools, Vec::new()).ok()?;
    // Served with the age it really has.
    if let Some(at) = at.and_then(|at| DateTime::parse_from_rfc3339(&at).ok()) {
        let at = at.with_timezone(&Utc);
        let age = (Utc::now() - at).to_std().unwrap_or_default();
        snapshot.computed_at = at;
        snapshot.computed_instant = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
    }
    Some(snapshot)
}

/// The snapshot to serve when a request finds none yet (the first sync has not finished):
/// one request reads the database (the others wait for it); if that fails, the copy in
/// Redis is served as stale; else the database error is the answer.
pub async fn first_snapshot(app: &App) -> Result<std::sync::Arc<EquipmentSnapshot>, LoadError> {
    let _one = app.equipment.first_load.lock().await;
    if let Some(current) = app.equipment.current() {
        return Ok(current);
    }
    if let Err(error) = sync_once(app).await {
        match load_from_redis(app).await {
            Some(stored) => {
                tracing::warn!(%error, "serving the equipment status stored in Redis");
                app.equipment.sync_failed(true);
                app.equipment.apply(stored);
            }
            None => return Err(error),
        }
    }
    app.equipment.current().ok_or(LoadError::Empty)
}

/// Applies the changes other processes publish, resubscribing with back-off after a lost
/// connection (a pub/sub connection does not reconnect by itself).
async fn listen(app: AppState, stop: CancellationToken) {
    let channel = app.redis.key(CHANNEL);
    let mut back_off = Duration::from_secs(1);
    loop {
        // Disabled, or closed at shutdown: nothing to listen to.
        let Some(client) = app.redis.client() else {
            return;
        };
        let subscribe = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            s = tokio::time::timeout(app.config.redis.connect_timeout * 2, subscribe) => s,
        };
        match subscribed {
            Ok(Ok(pubsub)) => {
                back_off = Duration::from_secs(1);
                let mut messages = pubsub.into_on_message();
                loop {
                    let message = tokio::select! {
                        () = stop.cancelled() => return,
                        m = messages.next() => m,
                    };
                    let Some(message) = message else { break };
                    receive(&app.equipment, message.get_payload_bytes());
                }
                tracing::info!("equipment change subscription lost; subscribing again");
            }
            Ok(Err(error)) => tracing::debug!(%error, "cannot subscribe to equipment changes"),
            Err(_) => tracing::debug!("subscribing to equipment changes timed out"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(back_off) => {}
        }
        back_off = (back_off * 2).min(MAX_BACK_OFF);
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
