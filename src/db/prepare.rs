//! Making the database ready to serve, once per start, before any app is built.
//!
//! The single-process path (`serve::run_in_process`) and the supervisor (before it spawns
//! workers, so workers starting together never race to migrate or seed) both call
//! [`prepare`]; the app itself only connects.

use anyhow::Context;

use super::{Database, migrate};
use crate::config::{DatabaseTarget, Settings};
use crate::seed;

/// Applies pending migrations — always on the embedded SQLite file, with `MIGRATE_ON_START`
/// elsewhere — and creates the demo factory in an empty embedded file. A remote database that
/// cannot be reached is logged, not fatal: the app serves degraded until it answers. The
/// embedded file is local, so failing to prepare it is fatal.
pub async fn prepare(settings: &Settings) -> anyhow::Result<()> {
    let db = Database::connect_lazy(settings)?;
    let result = prepare_on(&db, settings).await;
    db.close().await;
    result
}

async fn prepare_on(db: &Database, settings: &Settings) -> anyhow::Result<()> {
    let embedded = matches!(
        settings.database.target,
        DatabaseTarget::Sqlite { embedded: true, .. }
    );
    if embedded {
        let applied = migrate::run(&db.request)
            .await
            .with_context(|| format!("while migrating the embedded database {}", db.display_url))?;
        log_applied(applied);
        return seed_demo_factory(db).await;
    }
    if settings.database.migrate_on_start {
        match migrate::run(&db.request).await {
            Ok(applied) => log_applied(applied),
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                database = %db.display_url,
                "cannot apply migrations at start-up; serving degraded until the database answers"
            ),
        }
    }
    Ok(())
}

fn log_applied(applied: usize) {
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
}

/// Seeds the demo factory when the embedded file holds none.
async fn seed_demo_factory(db: &Database) -> anyhow::Result<()> {
    let (lots, tools) = seed::factory_size(&db.request).await?;
    if lots > 0 || tools > 0 {
        return Ok(());
    }
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
    Ok(())
}
