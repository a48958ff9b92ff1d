//! Queries behind the WIP reports: the freshness stamp, the route (workcenters, their groups
//! and steps) and the packages. The lots themselves are read by [`super::lots`].
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

/// A workcenter of the route with its group, as the WIP snapshot orders and filters them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, serde::Deserialize)]
pub struct RouteWorkcenter {
    pub workcenter_id: String,
    pub name: String,
    pub sequence: i64,
    pub workcenter_group: Option<String>,
    pub group_sequence: Option<i64>,
}

/// One step of a workcenter (`workcenter_steps`), in route order.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, serde::Deserialize)]
pub struct RouteStep {
    pub workcenter_id: String,
    pub step: String,
    pub name: Option<String>,
}

/// A package and its family (the product line the WIP pages group by).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, serde::Deserialize)]
pub struct Package {
    pub package_id: String,
    pub family: String,
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

/// The workcenters in route order, with their groups.
pub async fn route(pool: &DbPool) -> Result<Vec<RouteWorkcenter>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, RouteWorkcenter>(
        "SELECT workcenter_id, name, CAST(sequence AS BIGINT) AS sequence, workcenter_group, \
         CAST(group_sequence AS BIGINT) AS group_sequence FROM workcenters \
         ORDER BY sequence, workcenter_id"
    )
    .fetch_all(&mut *c))
}

/// Every workcenter's steps, in route order within each workcenter.
pub async fn steps(pool: &DbPool) -> Result<Vec<RouteStep>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, RouteStep>(
        "SELECT workcenter_id, step, name FROM workcenter_steps \
         ORDER BY workcenter_id, sequence, step"
    )
    .fetch_all(&mut *c))
}

/// The packages in matrix-column order (by family, then id).
pub async fn packages(pool: &DbPool) -> Result<Vec<Package>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, Package>(
        "SELECT package_id, family FROM packages ORDER BY family, package_id"
    )
    .fetch_all(&mut *c))
}
