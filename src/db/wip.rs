//! Queries behind the WIP reports: the freshness stamp and the workcenters. The lots are read
//! by [`super::lots`], the route and packages by [`super::reference`].
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
