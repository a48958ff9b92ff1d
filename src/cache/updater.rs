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
//! The pub/sub listener (run beside the checks, through [`Redis::listen`]) installs other
//! processes' publications as they come, re-subscribing after Redis comes back, and catches up
//! from L2 after each subscribe.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::l2::{self, Keys};
use super::wip::{LoadError, WipCache, WipSnapshot};
use crate::config::NonQualityReasons;
use crate::db::wip::{self as q, Freshness};
use crate::db::{Database, DbPool};
use crate::redis::{Redis, Subscriber};

/// How long the refresh lock is held at most (a holder that dies frees it by then), and how
/// long the others wait for its publication before loading on their own.
pub const LOCK_TTL: Duration = Duration::from_secs(60);
/// How often a worker waiting on another's refresh looks for its publication.
const WAIT_POLL: Duration = Duration::from_millis(200);

/// The updater task: exactly what it uses. Started by `serve::start` through the shutdown
/// registry (hook `cache_updater`).
pub struct WipUpdater {
    pub wip: Arc<WipCache>,
    pub redis: Arc<Redis>,
    /// Its request pool reads the stamp and the lots.
    pub db: Arc<Database>,
    /// `CACHE_CHECK_INTERVAL`.
    pub check_interval: Duration,
    /// `NON_QUALITY_HOLD_REASONS`: each snapshot classifies its holds with them.
    pub reasons: NonQualityReasons,
}

impl WipUpdater {
    fn pool(&self) -> &DbPool {
        &self.db.request
    }

    /// Checks until `stop`, with the pub/sub listener beside (when Redis is configured).
    pub async fn run(self, stop: CancellationToken) {
        let keys = Keys::new(&self.redis);
        let listener = Listener {
            updater: &self,
            keys: &keys,
        };
        tokio::join!(
            self.check_loop(&keys, &stop),
            self.redis.listen(&keys.channel, &stop, &listener)
        );
    }

    async fn check_loop(&self, keys: &Keys, stop: &CancellationToken) {
        let interval = self.check_interval;
        let mut retry = Duration::from_secs(1);
        let mut delay = Duration::ZERO;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let outcome = tokio::select! {
                () = stop.cancelled() => return,
                outcome = self.check(keys, stop) => outcome,
            };
            delay = match outcome {
                Ok(()) => {
                    self.wip.check_succeeded();
                    retry = Duration::from_secs(1);
                    interval
                }
                Err(error) => {
                    self.wip.check_failed(&error);
                    if self.wip.current().is_some() {
                        interval
                    } else {
                        let now = retry.min(interval);
                        retry = (retry * 2).min(interval);
                        now
                    }
                }
            };
        }
    }

    /// One check: compare the stamp, and bring L1 (and L2) up to it.
    async fn check(&self, keys: &Keys, stop: &CancellationToken) -> Result<(), LoadError> {
        let stamp = q::freshness_stamp(self.pool()).await?;
        let ttl = self.check_interval * 3;
        let current = self.wip.current();
        let l1_current = current.as_ref().is_some_and(|s| s.stamp == stamp);
        if !self.redis.enabled() {
            if !l1_current {
                self.load_local().await?;
            }
            return Ok(());
        }
        let published = match l2::published(&self.redis, keys).await {
            Ok(published) => published,
            Err(error) => {
                tracing::debug!(%error, "WIP check: Redis unavailable");
                self.wip.set_l2_ok(false);
                if !l1_current {
                    self.load_local().await?;
                }
                return Ok(());
            }
        };
        self.wip.set_l2_ok(true);
        if let Some(snapshot) = current.filter(|_| l1_current) {
            match published {
                Some(p) if p.stamp == stamp => {
                    if let Err(error) = l2::extend(&self.redis, keys, ttl).await {
                        tracing::debug!(%error, "cannot extend the WIP keys' lifetime");
                    }
                }
                // Redis lost it (restart, expiry): publish ours again.
                None => self.republish(keys, &snapshot, ttl).await,
                // Another stamp: never overwrite it from here (it may be newer than the stamp
                // this check read); a process that needs the current data loads it under the
                // lock.
                Some(_) => {}
            }
            return Ok(());
        }
        if published.is_some_and(|p| p.stamp == stamp) && self.install_from_l2(keys).await {
            return Ok(());
        }
        self.refresh_shared(keys, stamp, ttl, stop).await
    }

    /// Loads from the database into this process's L1 only.
    async fn load_local(&self) -> Result<Arc<WipSnapshot>, LoadError> {
        let started = std::time::Instant::now();
        let snapshot = Arc::new(Box::pin(WipSnapshot::load(self.pool(), &self.reasons)).await?);
        self.wip.install(snapshot.clone());
        tracing::info!(
            version = %snapshot.version,
            lots = snapshot.lot_count(),
            heap_bytes = snapshot.heap_bytes(),
            load_ms = started.elapsed().as_millis() as u64,
            "WIP data loaded from the database"
        );
        Ok(snapshot)
    }

    /// Installs the published snapshot; false when Redis failed or holds nothing readable.
    async fn install_from_l2(&self, keys: &Keys) -> bool {
        match l2::load(&self.redis, keys, &self.reasons).await {
            Ok(Some(snapshot)) => {
                let (version, lots) = (snapshot.version.clone(), snapshot.lot_count());
                if self.wip.install(Arc::new(snapshot)) {
                    tracing::info!(%version, lots, "WIP data loaded from Redis");
                }
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::debug!(%error, "cannot read the WIP data from Redis");
                self.wip.set_l2_ok(false);
                false
            }
        }
    }

    /// The changed-stamp path with Redis: one loader, everyone else reads its publication.
    async fn refresh_shared(
        &self,
        keys: &Keys,
        stamp: Freshness,
        ttl: Duration,
        stop: &CancellationToken,
    ) -> Result<(), LoadError> {
        let token = new_token();
        let deadline = tokio::time::Instant::now() + LOCK_TTL;
        loop {
            match l2::try_lock(&self.redis, keys, &token, LOCK_TTL).await {
                Ok(true) => {
                    let result = self.load_and_publish(keys, stamp, ttl).await;
                    if let Err(error) = l2::unlock(&self.redis, keys, &token).await {
                        tracing::debug!(%error, "cannot release the WIP refresh lock; it expires");
                    }
                    return result;
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(%error, "WIP refresh lock: Redis unavailable");
                    self.wip.set_l2_ok(false);
                    return self.load_local().await.map(|_| ());
                }
            }
            // Another process is loading: wait for its publication.
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(WAIT_POLL) => {}
            }
            if self.wip.current().is_some_and(|s| s.stamp == stamp) {
                return Ok(()); // the listener installed it
            }
            if self.install_if_published(keys, stamp).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("no WIP publication within the lock's lifetime; loading locally");
                return self.load_local().await.map(|_| ());
            }
        }
    }

    /// Installs the published snapshot when it is of `stamp`.
    async fn install_if_published(&self, keys: &Keys, stamp: Freshness) -> bool {
        matches!(l2::published(&self.redis, keys).await, Ok(Some(p)) if p.stamp == stamp)
            && self.install_from_l2(keys).await
    }

    /// Holding the lock: re-check (the previous holder may just have published this stamp),
    /// else load, serve and publish.
    async fn load_and_publish(
        &self,
        keys: &Keys,
        stamp: Freshness,
        ttl: Duration,
    ) -> Result<(), LoadError> {
        if self.install_if_published(keys, stamp).await {
            return Ok(());
        }
        let snapshot = self.load_local().await?;
        match l2::publish(&self.redis, keys, &snapshot, ttl).await {
            Ok(()) => {
                self.wip.published();
                self.wip.set_l2_ok(true);
                tracing::info!(version = %snapshot.version, "WIP data published to Redis");
            }
            Err(error) => {
                self.wip.set_l2_ok(false);
                tracing::warn!(%error, "cannot publish the WIP data to Redis; serving it locally");
            }
        }
        Ok(())
    }

    /// L1 is current but Redis holds nothing: publish it again under the lock.
    async fn republish(&self, keys: &Keys, snapshot: &WipSnapshot, ttl: Duration) {
        let token = new_token();
        if !matches!(
            l2::try_lock(&self.redis, keys, &token, LOCK_TTL).await,
            Ok(true)
        ) {
            return; // someone else is on it, or Redis failed: the next check tries again
        }
        let still_missing = matches!(l2::published(&self.redis, keys).await, Ok(None));
        if still_missing {
            match l2::publish(&self.redis, keys, snapshot, ttl).await {
                Ok(()) => {
                    self.wip.published();
                    tracing::info!(version = %snapshot.version, "WIP data republished to Redis");
                }
                Err(error) => tracing::debug!(%error, "cannot republish the WIP data"),
            }
        }
        let _ = l2::unlock(&self.redis, keys, &token).await;
    }

    /// After (re)subscribing: installs what was published meanwhile, unless this process
    /// holds the same data or data computed later (it loaded on its own while Redis was away;
    /// the next check reconciles the two).
    async fn catch_up(&self, keys: &Keys) {
        let Ok(Some(p)) = l2::published(&self.redis, keys).await else {
            return;
        };
        let newer = match self.wip.current() {
            None => true,
            Some(s) => {
                s.version != p.version
                    && s.stamp != p.stamp
                    && p.computed_at.is_some_and(|at| at > s.computed_at)
            }
        };
        if newer {
            self.install_from_l2(keys).await;
        }
    }
}

fn new_token() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// The pub/sub side: installs each publication, and catches up after each subscribe.
struct Listener<'a> {
    updater: &'a WipUpdater,
    keys: &'a Keys,
}

impl Subscriber for Listener<'_> {
    async fn subscribed(&self) {
        self.updater.wip.set_listening(true);
        // Anything published while not listening.
        self.updater.catch_up(self.keys).await;
    }

    async fn message(&self, payload: &[u8]) {
        // A new publication is the latest by definition: install it.
        let version = std::str::from_utf8(payload).unwrap_or_default();
        if self
            .updater
            .wip
            .current()
            .is_none_or(|s| s.version != version)
        {
            self.updater.install_from_l2(self.keys).await;
        }
    }

    fn unsubscribed(&self) {
        self.updater.wip.set_listening(false);
    }
}
