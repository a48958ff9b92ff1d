//! The WIP dataset in process memory (L1): every lot in process, aggregated once per change
//! into the answers the WIP APIs serve.
//!
//! Requests only read this holder; they never query the database or Redis. The cache updater
//! ([`super::updater`]) fills it — from the database when the data changed, or from Redis (L2)
//! when another worker or instance already published the current version — and labels it
//! `stale` while its checks fail. A request that arrives before the very first load waits for
//! it, up to `CACHE_FIRST_LOAD_WAIT_MS`, and is then told to retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard, RwLock};
use serde::Serialize;
use tokio::sync::watch;

use super::aggregate::{HoldOverview, hold_overview, matrix, summarize};
use super::filter::WipFilter;
use super::lots::{Field, LotTable, LotTableBuilder, NONE};
use super::wip_index::WipIndex;
use super::{CacheFreshness, CacheState};
use crate::config::{CacheSettings, HoldType, NonQualityReasons};
use crate::db::lots::for_each_lot_row;
use crate::db::reference;
use crate::db::wip::{self as q, Freshness};
use crate::db::{DbError, DbPool};
use crate::json::RawJson;
use crate::timefmt::iso8601;

pub use super::aggregate::STATUSES;

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Loaded and computed by this process.
    Database,
    /// Published by another worker or instance and read from Redis.
    Redis,
}

/// One computed state of the WIP dataset: every lot in a compact table, its indexes, and the
/// unfiltered answers serialized once.
#[derive(Debug)]
pub struct WipSnapshot {
    pub summary: RawJson,
    pub matrix: RawJson,
    /// `GET /api/wip/meta/filter-options` without filters, serialized once.
    pub filter_options: RawJson,
    /// Lots on hold, for the `/hold-overview` page (computed here, never per request).
    pub hold: HoldOverview,
    /// `GET /api/wip/overview/hold` and `GET /api/hold-overview/summary`, serialized once.
    pub hold_figures: RawJson,
    pub hold_summary: RawJson,
    /// Every lot in process, sorted by id, with the route and packages.
    pub table: LotTable,
    /// Positions by workcenter, status, value; held lots oldest first.
    pub index: WipIndex,
    /// The data's freshness stamp when it was loaded.
    pub stamp: Freshness,
    /// Names this computation; the same in every process that holds it (L2 carries it).
    pub version: String,
    /// When the snapshot was computed (by whichever process computed it).
    pub computed_at: DateTime<Utc>,
    /// `computed_at` as the envelope writes it, formatted once (every answer carries it).
    pub updated_at: String,
    /// Monotonic twin of `computed_at` in this process, for ages.
    pub computed_instant: Instant,
    pub source: Source,
}

impl WipSnapshot {
    /// Computes the answers from a freshly loaded table.
    pub fn build(
        mut table: LotTable,
        reasons: &NonQualityReasons,
        stamp: Freshness,
    ) -> serde_json::Result<Self> {
        classify_holds(&mut table, reasons);
        let computed_at = Utc::now();
        let all = 0..table.len() as u32;
        let summary = RawJson::from_value(&summarize(&table, all.clone()))?;
        let matrix = RawJson::from_value(&matrix(&table, all))?;
        Self::assemble(
            Assembly {
                summary,
                matrix,
                table,
                stamp,
                version: new_version(computed_at),
                computed_at,
                computed_instant: Instant::now(),
                source: Source::Database,
            },
            reasons,
        )
    }

    /// A snapshot from its parts, computing what is derived from the lots (hold types, the
    /// indexes, the hold overview, the filter options).
    pub fn assemble(parts: Assembly, reasons: &NonQualityReasons) -> serde_json::Result<Self> {
        let mut table = parts.table;
        classify_holds(&mut table, reasons);
        let index = WipIndex::build(&table);
        let hold = hold_overview(&table, &index.held);
        let (hold_figures, hold_summary) = hold.answers()?;
        let mut snapshot = Self {
            summary: parts.summary,
            matrix: parts.matrix,
            filter_options: RawJson(bytes::Bytes::new()),
            hold,
            hold_figures,
            hold_summary,
            table,
            index,
            stamp: parts.stamp,
            version: parts.version,
            computed_at: parts.computed_at,
            updated_at: iso8601(parts.computed_at),
            computed_instant: parts.computed_instant,
            source: parts.source,
        };
        snapshot.filter_options =
            RawJson::from_value(&snapshot.filter_options(&WipFilter::default()))?;
        Ok(snapshot)
    }

    /// Loads the whole dataset from the database and computes the answers. The stamp is read
    /// first: a change racing the load makes the stamp older than the data, never newer, so
    /// the next check loads again rather than missing it. Lots are interned as they stream in.
    pub async fn load(pool: &DbPool, reasons: &NonQualityReasons) -> Result<Self, LoadError> {
        let stamp = q::freshness_stamp(pool).await?;
        let route = reference::workcenter_infos(pool).await?;
        let steps = reference::workcenter_steps(pool).await?;
        let packages = reference::package_infos(pool).await?;
        let mut builder = LotTableBuilder::new(&route, &steps, packages);
        builder.reserve(usize::try_from(stamp.lots).unwrap_or(0));
        for_each_lot_row(pool, |row| builder.push_row(row)).await?;
        Self::build(builder.finish(), reasons, stamp).map_err(LoadError::Serialize)
    }

    pub fn age(&self) -> Duration {
        self.computed_instant.elapsed()
    }

    /// The position of a lot by id.
    pub fn lot(&self, lot_id: &str) -> Option<u32> {
        self.table.position(lot_id)
    }

    pub fn lot_count(&self) -> usize {
        self.table.len()
    }

    /// A workcenter's index in the table, by id (a few dozen exist: a linear search is as fast
    /// as a map).
    pub fn workcenter(&self, id: &str) -> Option<u16> {
        self.table
            .workcenters
            .iter()
            .position(|w| w.workcenter_id == id)
            .map(|i| i as u16)
    }

    /// Approximate bytes held by the lots and their indexes.
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes() + self.index.heap_bytes()
    }
}

/// Marks each held lot quality or not by its reason (`NON_QUALITY_HOLD_REASONS`): decided
/// once per distinct reason, then copied to the lots.
fn classify_holds(table: &mut LotTable, reasons: &NonQualityReasons) {
    let non_quality: Vec<bool> = table
        .dict(Field::HoldReason)
        .iter()
        .map(|r| reasons.hold_type(Some(r)) == HoldType::NonQuality)
        .collect();
    let codes = &table.codes[Field::HoldReason.index()];
    for (pos, lot) in table.lots.iter_mut().enumerate() {
        let code = codes.get(pos);
        lot.non_quality = code != NONE && non_quality[code as usize];
    }
}

/// What a snapshot is made of; everything else is derived by [`WipSnapshot::assemble`].
pub struct Assembly {
    pub summary: RawJson,
    pub matrix: RawJson,
    pub table: LotTable,
    pub stamp: Freshness,
    pub version: String,
    pub computed_at: DateTime<Utc>,
    pub computed_instant: Instant,
    pub source: Source,
}

/// A version name unique across processes: the computation time and random bits.
fn new_version(at: DateTime<Utc>) -> String {
    format!("{}-{:08x}", at.timestamp_micros(), rand::random::<u32>())
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot serialize the WIP answers: {0}")]
    Serialize(serde_json::Error),
}

/// A snapshot as served, with its label.
#[derive(Debug, Clone)]
pub struct Served {
    pub snapshot: Arc<WipSnapshot>,
    pub state: CacheState,
}

impl Served {
    /// How fresh this answer is (the envelope's `meta` says it).
    pub fn freshness(&self) -> CacheFreshness {
        CacheFreshness {
            state: self.state,
            updated_at: self.snapshot.updated_at.clone(),
            age: self.snapshot.age(),
        }
    }
}

/// Nothing to serve yet: the first load has not finished (or failed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the WIP data is not loaded yet: {reason}")]
pub struct NotLoaded {
    pub reason: String,
}

/// Whether Redis (L2) takes part, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L2State {
    /// No `REDIS_URL`: every worker refreshes its own L1 from the database.
    Disabled,
    /// The last Redis step of the updater succeeded.
    InUse,
    /// The last Redis step failed: this worker refreshes from the database meanwhile.
    Unavailable,
}

/// The WIP cache's state as `/health` and `/metrics` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotState {
    /// Before the first load.
    Empty,
    Fresh,
    /// While the updater's checks fail.
    Stale,
}

impl SnapshotState {
    pub const ALL: [Self; 3] = [Self::Empty, Self::Fresh, Self::Stale];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Fresh => "fresh",
            Self::Stale => "stale",
        }
    }
}

/// Whether the WIP pub/sub listener is subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    /// No `REDIS_URL`.
    Disabled,
    Subscribed,
    /// Configured but not subscribed (Redis unreachable, or re-subscribing).
    Down,
}

/// What `/health` reports about the WIP cache.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    pub state: SnapshotState,
    pub age_seconds: Option<u64>,
    pub lots: Option<usize>,
    /// The version served and where this process got it.
    pub version: Option<String>,
    pub source: Option<Source>,
    pub l2: L2State,
    pub listener: ListenerState,
    /// Loads from the database, loads from Redis, and publications to Redis by this process.
    pub db_loads: u64,
    pub l2_loads: u64,
    pub publishes: u64,
    pub last_publish_at: Option<String>,
    pub last_check_at: Option<String>,
}

#[derive(Default)]
struct Times {
    last_publish_at: Option<DateTime<Utc>>,
    last_check_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// The process-local (L1) holder of the current WIP snapshot.
pub struct WipCache {
    current: RwLock<Option<Arc<WipSnapshot>>>,
    /// Set while the updater's latest check failed: what is served is then `stale`.
    stale: AtomicBool,
    /// Counts finished update attempts (success or failure); first-load waiters watch it.
    attempts: watch::Sender<u64>,
    /// The version served, announced on each change (the `wip` live event follows it).
    versions: watch::Sender<Option<String>>,
    first_load_wait: Duration,
    redis_enabled: bool,
    l2_ok: AtomicBool,
    listening: AtomicBool,
    db_loads: AtomicU64,
    l2_loads: AtomicU64,
    publishes: AtomicU64,
    times: Mutex<Times>,
}

impl WipCache {
    pub fn new(settings: &CacheSettings, redis_enabled: bool) -> Self {
        Self {
            current: RwLock::new(None),
            stale: AtomicBool::new(false),
            attempts: watch::Sender::new(0),
            versions: watch::Sender::new(None),
            first_load_wait: settings.first_load_wait,
            redis_enabled,
            l2_ok: AtomicBool::new(redis_enabled),
            listening: AtomicBool::new(false),
            db_loads: AtomicU64::new(0),
            l2_loads: AtomicU64::new(0),
            publishes: AtomicU64::new(0),
            times: Mutex::new(Times::default()),
        }
    }

    pub fn current(&self) -> Option<Arc<WipSnapshot>> {
        self.current.read().clone()
    }

    fn label(&self, snapshot: Arc<WipSnapshot>) -> Served {
        let state = if self.stale.load(Ordering::Relaxed) {
            CacheState::Stale
        } else {
            CacheState::Fresh
        };
        Served { snapshot, state }
    }

    /// The snapshot to serve, labelled. Costs a read lock and an `Arc` clone once loaded;
    /// before the first load, waits for it (bounded), answering at once if it already failed.
    pub async fn get(&self) -> Result<Served, NotLoaded> {
        if let Some(snapshot) = self.current() {
            return Ok(self.label(snapshot));
        }
        // Boxed: the waiting state would otherwise enlarge every request's future.
        Box::pin(self.wait_first_load(self.first_load_wait)).await
    }

    /// Waits up to `bound` for a first snapshot. A finished attempt that left nothing to serve
    /// ends the wait early: the caller is told to retry instead of hanging on.
    pub async fn wait_first_load(&self, bound: Duration) -> Result<Served, NotLoaded> {
        let mut attempts = self.attempts.subscribe();
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if let Some(snapshot) = self.current() {
                return Ok(self.label(snapshot));
            }
            if *attempts.borrow_and_update() > 0 {
                return Err(NotLoaded {
                    reason: self
                        .times()
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "the first load failed".into()),
                });
            }
            match tokio::time::timeout_at(deadline, attempts.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    return Err(NotLoaded {
                        reason: format!("still loading after {} ms", bound.as_millis()),
                    });
                }
            }
        }
    }

    fn times(&self) -> MutexGuard<'_, Times> {
        self.times.lock()
    }

    /// Serves `snapshot` from now on, labelled fresh; false (nothing changes) when that
    /// version is already served (the listener and a check may both bring it).
    pub fn install(&self, snapshot: Arc<WipSnapshot>) -> bool {
        let source = snapshot.source;
        {
            let mut current = self.current.write();
            if current
                .as_ref()
                .is_some_and(|c| c.version == snapshot.version)
            {
                return false;
            }
            let version = snapshot.version.clone();
            *current = Some(snapshot);
            self.versions.send_replace(Some(version));
        }
        match source {
            Source::Database => self.db_loads.fetch_add(1, Ordering::Relaxed),
            Source::Redis => self.l2_loads.fetch_add(1, Ordering::Relaxed),
        };
        self.stale.store(false, Ordering::Relaxed);
        true
    }

    /// Follows the version served: `changed()` resolves after each new snapshot is installed
    /// (`None` before the first). Live updates subscribe here.
    pub fn versions(&self) -> watch::Receiver<Option<String>> {
        self.versions.subscribe()
    }

    /// The end of one successful check (whether or not it changed the snapshot).
    pub fn check_succeeded(&self) {
        if self.stale.swap(false, Ordering::Relaxed) {
            tracing::info!("WIP data confirmed current again; no longer stale");
        }
        {
            let mut times = self.times();
            times.last_check_at = Some(Utc::now());
            times.last_error = None;
        }
        self.attempts.send_modify(|n| *n += 1);
    }

    /// The end of a failed check: what is served (if anything) is labelled stale.
    pub fn check_failed(&self, error: &dyn std::fmt::Display) {
        let current = self.current();
        if let Some(snapshot) = &current
            && !self.stale.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                error = %error,
                age_s = snapshot.age().as_secs(),
                "WIP check failed; serving the current snapshot as stale"
            );
        } else if current.is_none() {
            tracing::warn!(error = %error, "cannot load the WIP data yet; will retry");
        }
        {
            let mut times = self.times();
            times.last_check_at = Some(Utc::now());
            times.last_error = Some(error.to_string());
        }
        self.attempts.send_modify(|n| *n += 1);
    }

    pub fn published(&self) {
        self.publishes.fetch_add(1, Ordering::Relaxed);
        self.times().last_publish_at = Some(Utc::now());
    }

    /// Records whether the latest Redis step worked (logged on change).
    pub fn set_l2_ok(&self, ok: bool) {
        if self.redis_enabled && self.l2_ok.swap(ok, Ordering::Relaxed) != ok {
            if ok {
                tracing::info!("WIP cache: Redis L2 in use again");
            } else {
                tracing::warn!("WIP cache: Redis L2 unavailable; refreshing from the database");
            }
        }
    }

    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Relaxed);
    }

    /// Cheap state for health reports.
    pub fn status(&self) -> CacheStatus {
        let current = self.current();
        let times = self.times();
        CacheStatus {
            state: match &current {
                None => SnapshotState::Empty,
                Some(_) if self.stale.load(Ordering::Relaxed) => SnapshotState::Stale,
                Some(_) => SnapshotState::Fresh,
            },
            age_seconds: current.as_ref().map(|s| s.age().as_secs()),
            lots: current.as_ref().map(|s| s.lot_count()),
            version: current.as_ref().map(|s| s.version.clone()),
            source: current.as_ref().map(|s| s.source),
            l2: match (self.redis_enabled, self.l2_ok.load(Ordering::Relaxed)) {
                (false, _) => L2State::Disabled,
                (true, true) => L2State::InUse,
                (true, false) => L2State::Unavailable,
            },
            listener: match (self.redis_enabled, self.listening.load(Ordering::Relaxed)) {
                (false, _) => ListenerState::Disabled,
                (true, true) => ListenerState::Subscribed,
                (true, false) => ListenerState::Down,
            },
            db_loads: self.db_loads.load(Ordering::Relaxed),
            l2_loads: self.l2_loads.load(Ordering::Relaxed),
            publishes: self.publishes.load(Ordering::Relaxed),
            last_publish_at: times.last_publish_at.map(iso8601),
            last_check_at: times.last_check_at.map(iso8601),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(wait_ms: u64) -> WipCache {
        WipCache::new(
            &CacheSettings {
                check_interval: Duration::from_secs(600),
                first_load_wait: Duration::from_millis(wait_ms),
            },
            false,
        )
    }

    fn snapshot() -> Arc<WipSnapshot> {
        let stamp = Freshness {
            latest: None,
            lots: 0,
        };
        Arc::new(
            WipSnapshot::build(LotTable::default(), &NonQualityReasons::demo(), stamp).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_request_before_the_first_load_waits_for_it() {
        let cache = Arc::new(cache(60_000));
        let waiter = tokio::spawn({
            let cache = cache.clone();
            async move { cache.get().await.map(|s| s.snapshot.version.clone()) }
        });
        tokio::task::yield_now().await;
        let loaded = snapshot();
        assert!(cache.install(loaded.clone()));
        cache.check_succeeded();
        assert_eq!(waiter.await.unwrap().unwrap(), loaded.version);
    }

    #[tokio::test]
    async fn the_wait_is_bounded_and_a_failed_first_load_answers_at_once() {
        let cache = cache(50);
        let error = cache.get().await.unwrap_err();
        assert!(error.reason.contains("still loading"), "{error}");

        let cache = self::cache(60_000);
        cache.check_failed(&"database down");
        let error = cache.get().await.unwrap_err();
        assert_eq!(error.reason, "database down");
        assert_eq!(cache.status().state, SnapshotState::Empty);
    }

    #[tokio::test]
    async fn a_failed_check_labels_the_snapshot_stale_until_the_next_success() {
        let cache = cache(0);
        let loaded = snapshot();
        cache.install(loaded.clone());
        assert!(!cache.install(loaded), "the same version is installed once");
        cache.check_failed(&"breaker open");
        assert_eq!(cache.get().await.unwrap().state, CacheState::Stale);
        assert_eq!(cache.status().state, SnapshotState::Stale);
        cache.check_succeeded();
        assert_eq!(cache.get().await.unwrap().state, CacheState::Fresh);
        assert_eq!(cache.status().db_loads, 1);
    }

    #[tokio::test]
    async fn each_new_version_is_announced_once() {
        let cache = cache(0);
        let mut versions = cache.versions();
        assert_eq!(*versions.borrow_and_update(), None);
        let first = snapshot();
        cache.install(first.clone());
        versions.changed().await.unwrap();
        assert_eq!(
            versions.borrow_and_update().as_deref(),
            Some(first.version.as_str())
        );
        cache.install(first);
        assert!(
            !versions.has_changed().unwrap(),
            "the same version is not announced again"
        );
        let second = snapshot();
        cache.install(second.clone());
        assert!(versions.has_changed().unwrap());
        assert_eq!(
            versions.borrow_and_update().as_deref(),
            Some(second.version.as_str())
        );
    }
}
