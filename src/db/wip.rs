//! Queries behind the WIP reports: the active lots, reference data, one lot's detail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

/// The columns of a lot the WIP aggregates need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WipLot {
    pub lot_id: String,
    pub workcenter_id: String,
    pub package_id: String,
    pub status: String,
    pub quantity: i64,
    pub priority: i64,
    pub hold_reason: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Workcenter {
    pub workcenter_id: String,
    pub name: String,
    pub sequence: i64,
}

/// Everything about one lot.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct LotDetail {
    pub lot_id: String,
    pub product: String,
    pub package_id: String,
    pub workcenter_id: String,
    pub workcenter_name: Option<String>,
    pub step: String,
    pub status: String,
    pub quantity: i64,
    pub priority: i64,
    pub equipment_id: Option<String>,
    pub track_in_at: Option<DateTime<Utc>>,
    pub hold_reason: Option<String>,
    pub hold_at: Option<DateTime<Utc>>,
    pub hold_by: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every lot in process.
pub async fn load_lots(pool: &DbPool) -> Result<Vec<WipLot>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, WipLot>(
        "SELECT lot_id, workcenter_id, package_id, status, CAST(quantity AS BIGINT) AS quantity, \
         CAST(priority AS BIGINT) AS priority, hold_reason FROM lots"
    )
    .fetch_all(&mut *c))
}

/// The freshness stamp of the WIP data: the latest change to any lot.
pub async fn freshness_stamp(pool: &DbPool) -> Result<Option<DateTime<Utc>>, DbError> {
    with_conn!(pool, |c| sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
        "SELECT max(updated_at) FROM lots"
    )
    .fetch_one(&mut *c))
}

pub async fn workcenters(pool: &DbPool) -> Result<Vec<Workcenter>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, Workcenter>(
        "SELECT workcenter_id, name, CAST(sequence AS BIGINT) AS sequence FROM workcenters \
         ORDER BY sequence, workcenter_id"
    )
    .fetch_all(&mut *c))
}

pub async fn packages(pool: &DbPool) -> Result<Vec<String>, DbError> {
    with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT package_id FROM packages ORDER BY family, package_id"
    )
    .fetch_all(&mut *c))
}

const LOT_DETAIL: &str = "SELECT l.lot_id, l.product, l.package_id, l.workcenter_id, \
     w.name AS workcenter_name, l.step, l.status, CAST(l.quantity AS BIGINT) AS quantity, \
     CAST(l.priority AS BIGINT) AS priority, l.equipment_id, l.track_in_at, l.hold_reason, \
     l.hold_at, l.hold_by, l.started_at, l.updated_at \
     FROM lots l LEFT JOIN workcenters w ON w.workcenter_id = l.workcenter_id";

pub async fn lot(pool: &DbPool, lot_id: &str) -> Result<Option<LotDetail>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{LOT_DETAIL} WHERE l.lot_id = $1"));
    with_conn!(pool, |c| sqlx::query_as::<_, LotDetail>(sql)
        .bind(lot_id)
        .fetch_optional(&mut *c))
}

/// The lots among `lot_ids` that are in process, ordered by id.
pub async fn lots(pool: &DbPool, lot_ids: &[String]) -> Result<Vec<LotDetail>, DbError> {
    // One placeholder per id: portable to both backends (no array binds on SQLite).
    let placeholders: Vec<String> = (1..=lot_ids.len()).map(|i| format!("${i}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "{LOT_DETAIL} WHERE l.lot_id IN ({}) ORDER BY l.lot_id",
        placeholders.join(", ")
    ));
    with_conn!(pool, |c| {
        let mut query = sqlx::query_as::<_, LotDetail>(sql);
        for id in lot_ids {
            query = query.bind(id);
        }
        query.fetch_all(&mut *c)
    })
}
