//! The one application state, built once at start-up and shared by every request.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use chrono::{DateTime, Utc};

use tokio_util::sync::CancellationToken;

use crate::auth::login::Login;
use crate::auth::provider;
use crate::auth::rate_limit::LoginLimiter;
use crate::cache::WipCache;
use crate::cache::redis::Redis;
use crate::config::{DatabaseTarget, Settings};
use crate::db::{self, Database};
use crate::equipment::EquipmentStatus;
use crate::health::memo::HealthState;
use crate::http::middleware::csrf::CsrfStats;
use crate::lifecycle::{Phase, ShutdownRegistry, ShutdownReport};
use crate::seed;
use crate::session::Sessions;
use crate::supervisor::Supervision;

pub struct App {
    /// Validated settings of this process.
    pub config: Settings,
    /// The database pools.
    pub db: Database,
    /// The WIP dataset, in process memory (L1).
    pub wip: WipCache,
    /// Every tool's live status (L1) and the fan-out of its changes to event streams.
    pub equipment: EquipmentStatus,
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
    /// Server-side sessions: cookie keys and the cached store.
    pub sessions: Sessions,
    /// The login provider and the per-IP attempt limit.
    pub login: Login,
    /// CSRF verdict counters (rejections, and what report-only mode let through).
    pub csrf_stats: CsrfStats,
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
    /// Builds the state: pools (lazy), migrations when enabled, and on the embedded default
    /// the demo factory on first run. The database being down is not fatal here except for
    /// the embedded SQLite file, which is local.
    pub async fn build(config: Settings) -> anyhow::Result<Self> {
        let db = Database::connect_lazy(&config)?;
        let embedded = matches!(
            config.database.target,
            DatabaseTarget::Sqlite { embedded: true, .. }
        );
        if embedded {
            prepare_embedded(&db).await?;
        } else if config.database.migrate_on_start {
            match db::migrate::run(&db.request).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(applied = n, "database migrations applied"),
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    database = %db.display_url,
                    "cannot apply migrations at start-up; serving degraded until the database answers"
                ),
            }
        }
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
        let sessions = Sessions::new(&config.auth, &config.secrets, redis.clone());
        let login = Login {
            provider: provider::from_settings(&config)?,
            limiter: LoginLimiter::new(
                redis.clone(),
                config.auth.login_rate_limit,
                config.auth.login_rate_window,
            ),
        };
        if config.auth.csrf_mode == crate::config::CsrfMode::ReportOnly {
            tracing::warn!(
                "CSRF_MODE=report-only: requests failing the CSRF check are logged and served"
            );
        }
        let app = Self {
            health: HealthState::default(),
            wip: WipCache::new(&config.cache, redis.enabled()),
            equipment: EquipmentStatus::new(),
            sessions,
            login,
            csrf_stats: CsrfStats::default(),
            db,
            redis,
            shutdown,
            stopping: CancellationToken::new(),
            draining: Arc::new(AtomicBool::new(false)),
            started_at: Utc::now(),
            supervision: Supervision::new(&config.supervisor),
            config,
        };
        crate::equipment::sync::warm_up(&app).await;
        Ok(app)
    }

    /// Work that may take a while and must not delay serving: opening the health pool's
    /// connection. Bounded by the health pool's acquire timeout.
    pub async fn warm_up(&self) {
        self.db.warm_health_pool().await;
    }

    /// Starts the background tasks this state owns and registers their stop hooks: the WIP
    /// cache updater, the equipment-status sync and the sweep of expired sessions. Called once
    /// the state is shared.
    pub fn start_background(state: &AppState) {
        crate::cache::updater::start(state);
        crate::session::sweeper::start(state);
        crate::equipment::sync::start(state);
    }

    /// Stops every background task and closes every client, in the registry's order; a
    /// second call returns the first report without running anything.
    pub async fn close(&self) -> ShutdownReport {
        self.stopping.cancel();
        self.shutdown.run().await
    }
}

/// Prepares the database once before any worker starts (the supervisor calls this, so workers
/// starting together never race to migrate or seed): the embedded file is migrated and seeded,
/// and with `MIGRATE_ON_START` migrations are applied. Failing to reach a remote database is
/// logged, not fatal (workers serve degraded until it is back).
pub async fn prepare_database(config: &Settings) -> anyhow::Result<()> {
    let db = Database::connect_lazy(config)?;
    let embedded = matches!(
        config.database.target,
        DatabaseTarget::Sqlite { embedded: true, .. }
    );
    if embedded {
        prepare_embedded(&db).await?;
    } else if config.database.migrate_on_start
        && let Err(error) = db::migrate::run(&db.request).await
    {
        tracing::error!(
            error = format!("{error:#}"),
            database = %db.display_url,
            "cannot apply migrations at start-up; serving degraded until the database answers"
        );
    }
    db.close().await;
    Ok(())
}

/// Migrates the embedded SQLite file and seeds the demo factory when it is empty.
async fn prepare_embedded(db: &Database) -> anyhow::Result<()> {
    db::migrate::run(&db.request)
        .await
        .with_context(|| format!("while migrating the embedded database {}", db.display_url))?;
    let (lots, tools) = seed::factory_size(&db.request).await?;
    if lots == 0 && tools == 0 {
        let started = std::time::Instant::now();
        let opts = seed::SeedOptions::default();
        tracing::info!(
            database = %db.display_url,
            lots = opts.lots,
            tools = opts.tools,
            days = opts.days,
            "first run: creating the demo factory"
        );
        let factory = seed::generate(&opts);
        seed::insert(&db.request, &factory, false).await?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "demo factory ready"
        );
    }
    Ok(())
}
