//! The cache updater: keeps the WIP L1 current, with Redis (L2) sharing the work between
//! workers and instances.
//!
//! Every `CACHE_CHECK_INTERVAL` (and at start) it reads the data's freshness stamp (one cheap
//! query). When L1 already holds that stamp, nothing is loaded (the published keys' lifetime
//! is extended, or the snapshot republished if Redis lost them). Otherwise:
//! - when Redis already holds a snapshot of that stamp, L1 is loaded from Redis;
//! - else the one holder of the refresh lock (`SET NX PX`, a random token, released by a
//!   compare-and-delete script) loads from the database, serves it, publishes it (see
//!   [`super::l2`]) and notifies; the others wait for that publication (or their pub/sub
//!   listener installs it), and load from the database themselves only if it does not come
//!   within the lock's lifetime;
//! - without Redis (unset, down) each worker loads its own L1 from the database.
//!
//! A failed check keeps the current snapshot, labelled `stale`, until the next success; while
//! nothing is loaded yet, checks are retried sooner (1 s, doubling up to the interval).
//!
//! The pub/sub listener (a task this one owns) installs other processes' publications as they
//! come, re-subscribing after Redis comes back, and catches up from L2 after each subscribe.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::l2::{self, Keys};
use super::wip::{LoadError, WipSnapshot};
use crate::app::AppState;
use crate::db::wip::{self as q, Freshness};
use crate::lifecycle::Phase;

/// How long the refresh lock is held at most (a holder that dies frees it by then), and how
/// long the others wait for its publication before loading on their own.
pub const LOCK_TTL: Duration = Duration::from_secs(60);
/// How often a worker waiting on another's refresh looks for its publication.
const WAIT_POLL: Duration = Duration::from_millis(200);
/// Bounds of the pub/sub listener's reconnection back-off.
const LISTEN_RETRY_MIN: Duration = Duration::from_millis(250);
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(5);

/// Starts the updater (and its listener when Redis is configured); registered in the
/// shutdown registry as `cache_updater`.
pub fn start(state: &AppState) {
    let stop = state.stopping.child_token();
    let task = tokio::spawn(run(state.clone(), stop.clone()));
    state
        .shutdown
        .register("cache_updater", Phase::CacheUpdater, move || async move {
            stop.cancel();
            task.await
                .map_err(|e| anyhow::anyhow!("the cache updater failed: {e}"))
        });
}

/// Aborts the task when dropped, so an abandoned updater never leaves its listener behind.
struct Owned(JoinHandle<()>);

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(app: AppState, stop: CancellationToken) {
    let keys = Arc::new(Keys::new(&app.redis));
    let listener = app.redis.enabled().then(|| {
        Owned(tokio::spawn(listen(
            app.clone(),
            keys.clone(),
            stop.clone(),
        )))
    });
    let interval = app.config.cache.check_interval;
    let mut retry = Duration::from_secs(1);
    let mut delay = Duration::ZERO;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
        let outcome = tokio::select! {
            () = stop.cancelled() => break,
            outcome = check(&app, &keys, &stop) => outcome,
        };
        delay = match outcome {
            Ok(()) => {
                app.wip.check_succeeded();
                retry = Duration::from_secs(1);
                interval
            }
            Err(error) => {
                app.wip.check_failed(&error);
                if app.wip.current().is_some() {
                    interval
                } else {
                    let now = retry.min(interval);
                    retry = (retry * 2).min(interval);
                    now
                }
            }
        };
    }
    if let Some(mut owned) = listener {
        // The listener ends on the same token; wait for it (the hook's timeout bounds this).
        let _ = (&mut owned.0).await;
    }
}

/// One check: compare the stamp, and bring L1 (and L2) up to it.
async fn check(app: &AppState, keys: &Keys, stop: &CancellationToken) -> Result<(), LoadError> {
    let stamp = q::freshness_stamp(&app.db.request).await?;
    let ttl = app.config.cache.check_interval * 3;
    let current = app.wip.current();
    let l1_current = current.as_ref().is_some_and(|s| s.stamp == stamp);
    if !app.redis.enabled() {
        if !l1_current {
            load_local(app).await?;
        }
        return Ok(());
    }
    let published = match l2::published(&app.redis, keys).await {
        Ok(published) => published,
        Err(error) => {
            tracing::debug!(%error, "WIP check: Redis unavailable");
            app.wip.set_l2_ok(false);
            if !l1_current {
                load_local(app).await?;
            }
            return Ok(());
        }
    };
    app.wip.set_l2_ok(true);
    if let Some(snapshot) = current.filter(|_| l1_current) {
        match published {
            Some(p) if p.stamp == stamp => {
                if let Err(error) = l2::extend(&app.redis, keys, ttl).await {
                    tracing::debug!(%error, "cannot extend the WIP keys' lifetime");
                }
            }
            // Redis lost it (restart, expiry): publish ours again.
            None => republish(app, keys, &snapshot, ttl).await,
            // Another stamp: never overwrite it from here (it may be newer than the stamp this
            // check read); a process that needs the current data loads it under the lock.
            Some(_) => {}
        }
        return Ok(());
    }
    if published.is_some_and(|p| p.stamp == stamp) && install_from_l2(app, keys).await {
        return Ok(());
    }
    refresh_shared(app, keys, stamp, ttl, stop).await
}

/// Loads from the database into this process's L1 only.
async fn load_local(app: &AppState) -> Result<Arc<WipSnapshot>, LoadError> {
    let snapshot = Arc::new(Box::pin(WipSnapshot::load(&app.db.request)).await?);
    app.wip.install(snapshot.clone());
    tracing::info!(
        version = %snapshot.version,
        lots = snapshot.lot_count(),
        "WIP data loaded from the database"
    );
    Ok(snapshot)
}

/// Installs the published snapshot; false when Redis failed or holds nothing readable.
async fn install_from_l2(app: &AppState, keys: &Keys) -> bool {
    match l2::load(&app.redis, keys).await {
        Ok(Some(snapshot)) => {
            let (version, lots) = (snapshot.version.clone(), snapshot.lot_count());
            if app.wip.install(Arc::new(snapshot)) {
                tracing::info!(%version, lots, "WIP data loaded from Redis");
            }
            true
        }
        Ok(None) => false,
        Err(error) => {
            tracing::debug!(%error, "cannot read the WIP data from Redis");
            app.wip.set_l2_ok(false);
            false
        }
    }
}

fn new_token() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// The changed-stamp path with Redis: one loader, everyone else reads its publication.
async fn refresh_shared(
    app: &AppState,
    keys: &Keys,
    stamp: Freshness,
    ttl: Duration,
    stop: &CancellationToken,
) -> Result<(), LoadError> {
    let token = new_token();
    let deadline = tokio::time::Instant::now() + LOCK_TTL;
    loop {
        match l2::try_lock(&app.redis, keys, &token, LOCK_TTL).await {
            Ok(true) => {
                let result = load_and_publish(app, keys, stamp, ttl).await;
                if let Err(error) = l2::unlock(&app.redis, keys, &token).await {
                    tracing::debug!(%error, "cannot release the WIP refresh lock; it expires");
                }
                return result;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::debug!(%error, "WIP refresh lock: Redis unavailable");
                app.wip.set_l2_ok(false);
                return load_local(app).await.map(|_| ());
            }
        }
        // Another process is loading: wait for its publication.
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(WAIT_POLL) => {}
        }
        if app.wip.current().is_some_and(|s| s.stamp == stamp) {
            return Ok(()); // the listener installed it
        }
        if let Ok(Some(p)) = l2::published(&app.redis, keys).await
            && p.stamp == stamp
            && install_from_l2(app, keys).await
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!("no WIP publication within the lock's lifetime; loading locally");
            return load_local(app).await.map(|_| ());
        }
    }
}

/// Holding the lock: re-check (the previous holder may just have published this stamp),
/// else load, serve and publish.
async fn load_and_publish(
    app: &AppState,
    keys: &Keys,
    stamp: Freshness,
    ttl: Duration,
) -> Result<(), LoadError> {
    if let Ok(Some(p)) = l2::published(&app.redis, keys).await
        && p.stamp == stamp
        && install_from_l2(app, keys).await
    {
        return Ok(());
    }
    let snapshot = load_local(app).await?;
    match l2::publish(&app.redis, keys, &snapshot, ttl).await {
        Ok(()) => {
            app.wip.published();
            app.wip.set_l2_ok(true);
            tracing::info!(version = %snapshot.version, "WIP data published to Redis");
        }
        Err(error) => {
            app.wip.set_l2_ok(false);
            tracing::warn!(%error, "cannot publish the WIP data to Redis; serving it locally");
        }
    }
    Ok(())
}

/// L1 is current but Redis holds nothing: publish it again under the lock.
async fn republish(app: &AppState, keys: &Keys, snapshot: &WipSnapshot, ttl: Duration) {
    let token = new_token();
    if !matches!(
        l2::try_lock(&app.redis, keys, &token, LOCK_TTL).await,
        Ok(true)
    ) {
        return; // someone else is on it, or Redis failed: the next check tries again
    }
    let still_missing = matches!(l2::published(&app.redis, keys).await, Ok(None));
    if still_missing {
        match l2::publish(&app.redis, keys, snapshot, ttl).await {
            Ok(()) => {
                app.wip.published();
                tracing::info!(version = %snapshot.version, "WIP data republished to Redis");
            }
            Err(error) => tracing::debug!(%error, "cannot republish the WIP data"),
        }
    }
    let _ = l2::unlock(&app.redis, keys, &token).await;
}

/// The pub/sub listener: subscribes, catches up from L2, installs each publication; after a
/// lost connection it re-subscribes with a bounded back-off. Ends on `stop`.
async fn listen(app: AppState, keys: Arc<Keys>, stop: CancellationToken) {
    let timeout = app.config.redis.connect_timeout;
    let mut retry = LISTEN_RETRY_MIN;
    loop {
        let Some(client) = app.redis.client() else {
            return; // Redis closed: shutting down
        };
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            c = tokio::time::timeout(timeout, async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&keys.channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            }) => c,
        };
        match connected {
            Ok(Ok(mut pubsub)) => {
                retry = LISTEN_RETRY_MIN;
                app.wip.set_listening(true);
                tracing::info!(channel = %keys.channel, "WIP listener subscribed");
                // Anything published while not listening.
                catch_up(&app, &keys).await;
                let mut messages = pubsub.on_message();
                loop {
                    let message = tokio::select! {
                        () = stop.cancelled() => {
                            app.wip.set_listening(false);
                            return;
                        }
                        m = messages.next() => m,
                    };
                    let Some(message) = message else { break };
                    // A new publication is the latest by definition: install it.
                    let version: String = message.get_payload().unwrap_or_default();
                    if app.wip.current().is_none_or(|s| s.version != version) {
                        install_from_l2(&app, &keys).await;
                    }
                }
                app.wip.set_listening(false);
                tracing::warn!("WIP listener lost its Redis connection; re-subscribing");
            }
            Ok(Err(error)) => tracing::debug!(%error, "WIP listener cannot subscribe yet"),
            Err(_) => tracing::debug!("WIP listener: subscribing timed out"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(LISTEN_RETRY_MAX);
    }
}

/// After (re)subscribing: installs what was published meanwhile, unless this process holds
/// the same data or data computed later (it loaded on its own while Redis was away; the next
/// check reconciles the two).
async fn catch_up(app: &AppState, keys: &Keys) {
    let Ok(Some(p)) = l2::published(&app.redis, keys).await else {
        return;
    };
    let newer = match app.wip.current() {
        None => true,
        Some(s) => {
            s.version != p.version
                && s.stamp != p.stamp
                && p.computed_at.is_some_and(|at| at > s.computed_at)
        }
    };
    if newer {
        install_from_l2(app, keys).await;
    }
}
