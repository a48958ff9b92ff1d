//! The one application state, built once at start-up and shared by every request.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use tokio_util::sync::CancellationToken;

use crate::auth::login::Login;
use crate::auth::provider;
use crate::auth::rate_limit::LoginLimiter;
use crate::cache::WipCache;
use crate::cache::qc_gate::QcGateMemo;
use crate::cache::updater::WipUpdater;
use crate::config::Settings;
use crate::db::Database;
use crate::equipment::EquipmentStatus;
use crate::equipment::sync::EquipmentSync;
use crate::health::memo::HealthState;
use crate::http::middleware::csrf::CsrfStats;
use crate::jobs::{JobStore, Jobs};
use crate::lifecycle::{Phase, ShutdownRegistry, ShutdownReport};
use crate::redis::Redis;
use crate::routes::page_registry::PageRegistry;
use crate::routes::resource_stream::StreamPlaces;
use crate::session::Sessions;
use crate::session::sweeper::SessionSweeper;
use crate::supervisor::Supervision;
use crate::supervisor::link::WorkerLink;

pub struct App {
    /// Validated settings of this process.
    pub config: Settings,
    /// The database pools.
    pub db: Arc<Database>,
    /// The WIP dataset, in process memory (L1).
    pub wip: Arc<WipCache>,
    /// Every tool's live status (L1) and the fan-out of its changes to event streams.
    pub equipment: Arc<EquipmentStatus>,
    /// The `/health` memo and how long the app has been degraded.
    pub health: HealthState,
    /// The one Redis client (disabled without `REDIS_URL`).
    pub redis: Arc<Redis>,
    /// Stop hooks of every background task and shared client, run once at shutdown.
    pub shutdown: ShutdownRegistry,
    /// Cancelled when the process starts to stop: long-lived responses (event streams) and
    /// background loops end on it.
    pub stopping: CancellationToken,
    /// Set once the server stops accepting; responses then carry `Connection: close`.
    pub draining: Arc<AtomicBool>,
    /// When this process started serving.
    pub started_at: DateTime<Utc>,
    /// The places for open event streams (`EVENT_STREAMS_MAX`).
    pub streams: StreamPlaces,
    /// Server-side sessions: cookie keys and the cached store.
    pub sessions: Arc<Sessions>,
    /// The login provider and the per-IP attempt limit.
    pub login: Login,
    /// CSRF verdict counters (rejections, and what report-only mode let through).
    pub csrf_stats: CsrfStats,
    /// Background jobs of long reports: this instance's runner and the shared store.
    pub jobs: Arc<Jobs>,
    /// The page registry's `dev` pages, in memory: which APIs are hidden from
    /// non-administrators.
    pub pages: Arc<PageRegistry>,
    /// The QC-GATE index of the WIP snapshot last asked for (built once per snapshot).
    pub qc_gate: QcGateMemo,
    /// Workers and restart policy as this process sees them (its supervisor's link in a
    /// worker; the runtime directory's history in-process).
    pub supervision: Supervision,
}

/// Cheap-to-clone handle on the [`App`], the state of every handler.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    /// Builds the state and nothing else: the pools (lazy: the database being down is not
    /// fatal, requests answer with the degraded contract until it is back), the Redis client
    /// (lazy too), the session and login machinery, and the stop hooks of the shared clients.
    /// No I/O: migrations and the demo factory are [`crate::db::prepare()`]'s, the first reads
    /// and the background tasks [`crate::serve::start`]'s. A worker passes `link`, its channel
    /// to the supervisor.
    pub fn build(config: Settings, link: Option<Arc<WorkerLink>>) -> anyhow::Result<Self> {
        let db = Arc::new(Database::connect_lazy(&config)?);
        let redis = Arc::new(Redis::new(&config.redis)?);
        let shutdown = ShutdownRegistry::new(config.lifecycle.hook_timeout);
        {
            let redis = redis.clone();
            shutdown.register("redis", Phase::Redis, move || async move {
                redis.close();
                Ok(())
            });
        }
        for pool in db.pools() {
            let kind = pool.kind.clone();
            shutdown.register(
                format!("pool.{}", pool.name),
                Phase::Pools,
                move || async move {
                    kind.close().await;
                    Ok(())
                },
            );
        }
        let sessions = Arc::new(Sessions::new(
            &config.auth,
            &config.secrets,
            db.clone(),
            redis.clone(),
        ));
        let login = Login {
            provider: provider::from_settings(&config)?,
            limiter: Arc::new(LoginLimiter::new(
                redis.clone(),
                Some(db.clone()),
                config.auth.login_rate_limit,
                config.auth.login_failure_limit_per_user,
                config.auth.login_rate_window,
            )),
        };
        if config.auth.csrf_mode == crate::config::CsrfMode::ReportOnly {
            tracing::warn!(
                "CSRF_MODE=report-only: requests failing the CSRF check are logged and served"
            );
        }
        let jobs = Arc::new(Jobs::new(
            JobStore::choose(&redis, &db),
            config.resilience.slow.max_concurrent,
            config.reports.job_queue_max,
            config.reports.job_result_ttl,
        ));
        let supervision = Supervision::new(&config.supervisor);
        if let Some(link) = link {
            supervision.attach(link);
        }
        Ok(Self {
            health: HealthState::default(),
            wip: Arc::new(WipCache::new(&config.cache, redis.enabled())),
            equipment: Arc::new(EquipmentStatus::new()),
            streams: StreamPlaces::new(config.equipment.event_streams_max),
            sessions,
            login,
            csrf_stats: CsrfStats::default(),
            pages: Arc::new(PageRegistry::new()),
            qc_gate: QcGateMemo::default(),
            jobs,
            db,
            redis,
            shutdown,
            stopping: CancellationToken::new(),
            draining: Arc::new(AtomicBool::new(false)),
            started_at: Utc::now(),
            supervision,
            config,
        })
    }

    /// Starts the background tasks this state owns, each registered with its stop hook: the
    /// WIP cache updater, the equipment-status sync, the sweep of expired sessions, and the
    /// job runner's stop and sweep, and the page registry's refresh.
    pub fn start_tasks(&self) {
        let registry = &self.shutdown;
        registry.spawn(
            "cache_updater",
            Phase::CacheUpdater,
            &self.stopping,
            |stop| self.wip_updater().run(stop),
        );
        registry.spawn(
            "equipment_sync",
            Phase::EquipmentSync,
            &self.stopping,
            |stop| self.equipment_sync().run(stop),
        );
        registry.spawn(
            "stream_sessions",
            Phase::Background,
            &self.stopping,
            |stop| self.sessions.live.clone().run(stop),
        );
        registry.spawn("page_registry", Phase::Background, &self.stopping, |stop| {
            self.pages.clone().run(self.db.clone(), stop)
        });
        registry.spawn(
            "session_sweeper",
            Phase::Background,
            &self.stopping,
            |stop| self.session_sweeper().run(stop),
        );
        {
            // Running jobs end cancelled ("the server shut down") before Redis and the pools
            // they write to close.
            let jobs = self.jobs.clone();
            registry.register("jobs", Phase::Background, move || async move {
                jobs.shutdown().await;
                Ok(())
            });
        }
        registry.spawn("job_sweeper", Phase::Background, &self.stopping, |stop| {
            self.jobs
                .clone()
                .run_sweeper(std::time::Duration::from_secs(300), stop)
        });
    }

    /// The WIP cache updater, holding what it uses.
    pub fn wip_updater(&self) -> WipUpdater {
        WipUpdater {
            wip: self.wip.clone(),
            redis: self.redis.clone(),
            db: self.db.clone(),
            check_interval: self.config.cache.check_interval,
            reasons: self.config.holds.non_quality_reasons.clone(),
        }
    }

    /// The equipment-status sync, holding what it uses (also for a request that finds no
    /// snapshot yet).
    pub fn equipment_sync(&self) -> EquipmentSync {
        EquipmentSync {
            status: self.equipment.clone(),
            redis: self.redis.clone(),
            db: self.db.clone(),
            interval: self.config.equipment.sync_interval,
            clock: crate::hold_history::PlantClock::new(
                self.config.pages.time_zone,
                self.config.reports.shift_day_start,
            ),
        }
    }

    /// The sweep of expired sessions, holding what it uses.
    pub fn session_sweeper(&self) -> SessionSweeper {
        SessionSweeper {
            sessions: self.sessions.clone(),
            limiter: self.login.limiter.clone(),
            every: self.config.auth.session_cleanup_interval,
        }
    }

    /// Stops every background task and closes every client, in the registry's order; a
    /// second call returns the first report without running anything.
    pub async fn close(&self) -> ShutdownReport {
        self.stopping.cancel();
        self.shutdown.run().await
    }
}
