//! Embedded migrations, one set per backend, applied idempotently.
//!
//! The SQL files are compiled into the binary so a deployed `mes-dashboard migrate` needs no
//! source tree.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{DbError, DbPool, PoolKind};

const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "page_registry",
        include_str!("../../migrations/postgres/0002_page_registry.sql"),
    ),
    (
        3,
        "audit_record_id",
        include_str!("../../migrations/postgres/0003_audit_record_id.sql"),
    ),
    (
        4,
        "lot_attributes",
        include_str!("../../migrations/postgres/0004_lot_attributes.sql"),
    ),
    (
        5,
        "hold_events",
        include_str!("../../migrations/postgres/0005_hold_events.sql"),
    ),
    (
        6,
        "equipment_attributes",
        include_str!("../../migrations/postgres/0006_equipment_attributes.sql"),
    ),
    (
        7,
        "maintenance_jobs",
        include_str!("../../migrations/postgres/0007_maintenance_jobs.sql"),
    ),
    (
        8,
        "report_jobs",
        include_str!("../../migrations/postgres/0008_report_jobs.sql"),
    ),
    (
        9,
        "login_attempts",
        include_str!("../../migrations/postgres/0009_login_attempts.sql"),
    ),
    (
        10,
        "more_pages",
        include_str!("../../migrations/postgres/0010_more_pages.sql"),
    ),
    (
        11,
        "equipment_state_daily",
        include_str!("../../migrations/postgres/0011_equipment_state_daily.sql"),
    ),
];

const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "page_registry",
        include_str!("../../migrations/sqlite/0002_page_registry.sql"),
    ),
    (
        3,
        "audit_record_id",
        include_str!("../../migrations/sqlite/0003_audit_record_id.sql"),
    ),
    (
        4,
        "lot_attributes",
        include_str!("../../migrations/sqlite/0004_lot_attributes.sql"),
    ),
    (
        5,
        "hold_events",
        include_str!("../../migrations/sqlite/0005_hold_events.sql"),
    ),
    (
        6,
        "equipment_attributes",
        include_str!("../../migrations/sqlite/0006_equipment_attributes.sql"),
    ),
    (
        7,
        "maintenance_jobs",
        include_str!("../../migrations/sqlite/0007_maintenance_jobs.sql"),
    ),
    (
        8,
        "report_jobs",
        include_str!("../../migrations/sqlite/0008_report_jobs.sql"),
    ),
    (
        9,
        "login_attempts",
        include_str!("../../migrations/sqlite/0009_login_attempts.sql"),
    ),
    (
        10,
        "more_pages",
        include_str!("../../migrations/sqlite/0010_more_pages.sql"),
    ),
    (
        11,
        "equipment_state_daily",
        include_str!("../../migrations/sqlite/0011_equipment_state_daily.sql"),
    ),
];

fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Applies every pending migration; running it again changes nothing.
/// Returns how many migrations this call applied.
pub async fn run(pool: &DbPool) -> anyhow::Result<usize> {
    let before = applied(pool).await.unwrap_or(0);
    match &pool.kind {
        PoolKind::Postgres(p) => migrator(POSTGRES).run(p).await?,
        PoolKind::Sqlite(p) => migrator(SQLITE).run(p).await?,
    }
    let after = applied(pool).await?;
    Ok(usize::try_from(after - before).unwrap_or(0))
}

async fn applied(pool: &DbPool) -> Result<i64, DbError> {
    crate::with_conn!(pool, |c| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM _sqlx_migrations WHERE success"
    )
    .fetch_one(&mut *c))
}
