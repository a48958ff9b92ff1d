//! The one application state, built once at start-up and shared by every request.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::cache::WipCache;
use crate::config::{DatabaseTarget, Settings};
use crate::db::{self, Database};
use crate::seed;

pub struct App {
    /// Validated settings of this process.
    pub config: Settings,
    /// The database pools.
    pub db: Database,
    /// The WIP dataset, in process memory (L1).
    pub wip: WipCache,
    /// Set once the server stops accepting; responses then carry `Connection: close`.
    pub draining: Arc<AtomicBool>,
    /// When this process started serving.
    pub started_at: DateTime<Utc>,
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
        let db = Database::connect_lazy(&config.database)?;
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
        Ok(Self {
            wip: WipCache::new(config.cache.check_interval),
            db,
            draining: Arc::new(AtomicBool::new(false)),
            started_at: Utc::now(),
            config,
        })
    }

    /// Releases what the app holds (pools); called once after the server drained.
    pub async fn close(&self) {
        let bound = std::time::Duration::from_secs(5);
        if tokio::time::timeout(bound, self.db.close()).await.is_err() {
            tracing::warn!("database pools did not close within 5 s; abandoning them");
        }
    }
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
