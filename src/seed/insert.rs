//! Writing a generated factory into either backend in one transaction, in multi-row batches.

use sqlx::QueryBuilder;

use super::Factory;
use crate::db::{DbPool, PoolKind};

/// Rows per INSERT: 7 columns × 500 stays far below SQLite's and PostgreSQL's bind limits.
const BATCH: usize = 500;

/// Lots and tools currently in the database (zero, zero for an empty factory).
pub async fn factory_size(pool: &DbPool) -> anyhow::Result<(i64, i64)> {
    let counts = crate::with_conn!(pool, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT count(*) FROM lots), (SELECT count(*) FROM equipment)"
    )
    .fetch_one(&mut *c))?;
    Ok(counts)
}

/// Writes `factory`, replacing every report table's rows when `replace` is set.
pub async fn insert(pool: &DbPool, factory: &Factory, replace: bool) -> anyhow::Result<()> {
    macro_rules! write_all {
        ($pool:expr, $db:ty, $before:expr, $after:expr) => {{
            let mut tx = $pool.begin().await?;
            for statement in $before {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            if replace {
                for table in [
                    "lots",
                    "equipment_state_history",
                    "equipment",
                    "packages",
                    "workcenters",
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for chunk in factory.workcenters.chunks(BATCH) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO workcenters (workcenter_id, name, sequence) ",
                )
                .push_values(chunk, |mut b, w| {
                    b.push_bind(w.id)
                        .push_bind(w.name)
                        .push_bind(w.sequence as i32);
                })
                .build()
                .execute(&mut *tx)
                .await?;
            }
            for chunk in factory.packages.chunks(BATCH) {
                QueryBuilder::<$db>::new("INSERT INTO packages (package_id, family) ")
                    .push_values(chunk, |mut b, p| {
                        b.push_bind(p.id).push_bind(p.family);
                    })
                    .build()
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in factory.tools.chunks(BATCH) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO equipment (equipment_id, workcenter_id, model, e10_state, \
                     state_reason, state_since, updated_at) ",
                )
                .push_values(chunk, |mut b, t| {
                    b.push_bind(&t.equipment_id)
                        .push_bind(t.workcenter_id)
                        .push_bind(t.model)
                        .push_bind(t.e10_state)
                        .push_bind(t.state_reason)
                        .push_bind(t.state_since)
                        .push_bind(t.state_since);
                })
                .build()
                .execute(&mut *tx)
                .await?;
            }
            for chunk in factory.history.chunks(BATCH) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO equipment_state_history (equipment_id, e10_state, state_reason, \
                     started_at, ended_at) ",
                )
                .push_values(chunk, |mut b, h| {
                    b.push_bind(&h.equipment_id)
                        .push_bind(h.e10_state)
                        .push_bind(h.state_reason)
                        .push_bind(h.started_at)
                        .push_bind(h.ended_at);
                })
                .build()
                .execute(&mut *tx)
                .await?;
            }
            for chunk in factory.lots.chunks(BATCH / 2) {
                QueryBuilder::<$db>::new(
                    "INSERT INTO lots (lot_id, product, package_id, workcenter_id, step, status, \
                     quantity, priority, equipment_id, track_in_at, hold_reason, hold_at, \
                     hold_by, started_at, updated_at) ",
                )
                .push_values(chunk, |mut b, l| {
                    b.push_bind(&l.lot_id)
                        .push_bind(&l.product)
                        .push_bind(l.package_id)
                        .push_bind(l.workcenter_id)
                        .push_bind(&l.step)
                        .push_bind(l.status)
                        .push_bind(l.quantity as i32)
                        .push_bind(l.priority as i32)
                        .push_bind(l.equipment_id.as_deref())
                        .push_bind(l.track_in_at)
                        .push_bind(l.hold_reason)
                        .push_bind(l.hold_at)
                        .push_bind(l.hold_by)
                        .push_bind(l.started_at)
                        .push_bind(l.updated_at);
                })
                .build()
                .execute(&mut *tx)
                .await?;
            }
            for statement in $after {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }};
    }
    const NONE: [&str; 0] = [];
    match &pool.kind {
        PoolKind::Postgres(p) => write_all!(p, sqlx::Postgres, NONE, NONE),
        // A page cache big enough for the whole write keeps SQLite from spilling pages to the
        // WAL and reading them back hundreds of thousands of times.
        PoolKind::Sqlite(p) => write_all!(
            p,
            sqlx::Sqlite,
            ["PRAGMA cache_size = -131072", "PRAGMA temp_store = MEMORY"],
            ["PRAGMA cache_size = -2000", "PRAGMA temp_store = DEFAULT"]
        ),
    }
    Ok(())
}
