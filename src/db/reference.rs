//! Reference data the report pages order and group by: workcenters with their groups, the
//! steps of each workcenter in route order, packages with their family (the product line).

use serde::Serialize;

use super::{DbError, DbPool};
use crate::with_conn;

/// A workcenter with its place in the route and its group.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct WorkcenterInfo {
    pub workcenter_id: String,
    pub name: String,
    pub sequence: i64,
    /// `None`: the workcenter belongs to no group.
    pub workcenter_group: Option<String>,
    /// The group's place among the groups.
    pub group_sequence: Option<i64>,
}

/// One step of a workcenter.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct WorkcenterStep {
    pub workcenter_id: String,
    /// As lots carry it in `lots.step`.
    pub step: String,
    pub name: Option<String>,
    /// Order within the workcenter.
    pub sequence: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, serde::Deserialize)]
pub struct PackageInfo {
    pub package_id: String,
    /// The package family, which the pages call the product line.
    pub family: String,
}

/// Workcenters in route order.
pub async fn workcenter_infos(pool: &DbPool) -> Result<Vec<WorkcenterInfo>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, WorkcenterInfo>(
        "SELECT workcenter_id, name, CAST(sequence AS BIGINT) AS sequence, workcenter_group, \
         CAST(group_sequence AS BIGINT) AS group_sequence FROM workcenters \
         ORDER BY sequence, workcenter_id"
    )
    .fetch_all(&mut *c))
}

/// Every step, by workcenter in route order, then in the workcenter's order. Steps of a
/// workcenter missing from `workcenters` come last.
pub async fn workcenter_steps(pool: &DbPool) -> Result<Vec<WorkcenterStep>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, WorkcenterStep>(
        "SELECT s.workcenter_id, s.step, s.name, CAST(s.sequence AS BIGINT) AS sequence \
         FROM workcenter_steps s LEFT JOIN workcenters w ON w.workcenter_id = s.workcenter_id \
         ORDER BY w.sequence IS NULL, w.sequence, s.workcenter_id, s.sequence, s.step"
    )
    .fetch_all(&mut *c))
}

/// Packages by family, then id (the column order of the WIP matrix).
pub async fn package_infos(pool: &DbPool) -> Result<Vec<PackageInfo>, DbError> {
    with_conn!(pool, |c| sqlx::query_as::<_, PackageInfo>(
        "SELECT package_id, family FROM packages ORDER BY family, package_id"
    )
    .fetch_all(&mut *c))
}
