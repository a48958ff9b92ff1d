//! Queries behind the WIP reports: the freshness stamp, every active lot, reference data.
//!
//! Only the cache updater calls these (once per changed stamp); no WIP request queries the
//! database.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, serde::Deserialize)]
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

/// What tells whether the WIP data changed: the latest change to any lot and how many lots
/// there are (the count catches a lot leaving the process, which may not move the latest time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Freshness {
    pub latest: Option<DateTime<Utc>>,
    pub lots: i64,
}

/// The freshness stamp: one cheap aggregate query.
pub async fn freshness_stamp(pool: &DbPool) -> Result<Freshness, DbError> {
    let (latest, lots) = with_conn!(pool, |c| sqlx::query_as::<_, (Option<DateTime<Utc>>, i64)>(
        "SELECT max(updated_at), CAST(count(*) AS BIGINT) FROM lots"
    )
    .fetch_one(&mut *c))?;
    Ok(Freshness { latest, lots })
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

/// Every lot in process with its detail, ordered by id.
pub async fn load_lots(pool: &DbPool) -> Result<Vec<LotDetail>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!("{LOT_DETAIL} ORDER BY l.lot_id"));
    with_conn!(pool, |c| sqlx::query_as::<_, LotDetail>(sql)
        .fetch_all(&mut *c))
}
