//! Reading every tool's current state: the `equipment` rows and the lots tracked in on them
//! (two plain queries, the same on both backends; the lots are grouped here, not in SQL, so
//! no backend-specific aggregate is needed).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::jobs::OpenJob;
use super::snapshot::{EquipmentSnapshot, ToolStatus};
use crate::db::{DbError, DbPool, maintenance, wip};
use crate::with_conn;

#[derive(Debug, sqlx::FromRow)]
struct ToolRow {
    equipment_id: String,
    workcenter_id: String,
    model: String,
    e10_state: String,
    state_reason: Option<String>,
    state_since: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    workcenter_group: Option<String>,
    family: Option<String>,
    location: Option<String>,
    package_group: Option<String>,
    vendor: Option<String>,
    is_production: bool,
    is_key: bool,
    is_monitored: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct LotOnTool {
    equipment_id: String,
    lot_id: String,
    quantity: i64,
    track_in_at: Option<DateTime<Utc>>,
}

/// The tool's row and attributes; its workcenter group is its workcenter's.
const TOOLS: &str = "SELECT e.equipment_id, e.workcenter_id, e.model, e.e10_state, \
     e.state_reason, e.state_since, e.updated_at, w.workcenter_group, e.family, e.location, \
     e.package_group, e.vendor, e.is_production, e.is_key, e.is_monitored \
     FROM equipment e LEFT JOIN workcenters w ON w.workcenter_id = e.workcenter_id";
const LOTS_ON_TOOLS: &str = "SELECT equipment_id, lot_id, CAST(quantity AS BIGINT) AS quantity, \
     track_in_at FROM lots WHERE equipment_id IS NOT NULL ORDER BY equipment_id, lot_id";

/// Every tool with the lots on it, read on one connection.
pub async fn load_tools(pool: &DbPool) -> Result<Vec<ToolStatus>, DbError> {
    let (tools, lots) = with_conn!(pool, |c| async {
        let tools = sqlx::query_as::<_, ToolRow>(TOOLS)
            .fetch_all(&mut *c)
            .await?;
        let lots = sqlx::query_as::<_, LotOnTool>(LOTS_ON_TOOLS)
            .fetch_all(&mut *c)
            .await?;
        Ok::<_, sqlx::Error>((tools, lots))
    })?;
    let mut on_tool: HashMap<String, Vec<LotOnTool>> = HashMap::new();
    for lot in lots {
        on_tool
            .entry(lot.equipment_id.clone())
            .or_default()
            .push(lot);
    }
    let mut strings = Interner::default();
    Ok(tools
        .into_iter()
        .map(|t| {
            let lots = on_tool.remove(&t.equipment_id).unwrap_or_default();
            ToolStatus {
                track_in_quantity: lots.iter().map(|l| l.quantity).sum(),
                last_track_in_at: lots.iter().filter_map(|l| l.track_in_at).max(),
                lots: lots.into_iter().map(|l| l.lot_id).collect(),
                equipment_id: t.equipment_id,
                workcenter_id: t.workcenter_id,
                model: t.model,
                e10_state: t.e10_state,
                state_reason: t.state_reason,
                state_since: t.state_since,
                updated_at: t.updated_at,
                workcenter_group: strings.get(t.workcenter_group),
                family: strings.get(t.family),
                location: strings.get(t.location),
                package_group: strings.get(t.package_group),
                vendor: strings.get(t.vendor),
                production: t.is_production,
                key: t.is_key,
                monitored: t.is_monitored,
            }
        })
        .collect())
}

/// One shared copy of each attribute value (empty text counts as none).
#[derive(Default)]
struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    fn get(&mut self, value: Option<String>) -> Option<Arc<str>> {
        let value = value.filter(|v| !v.trim().is_empty())?;
        Some(
            self.0
                .entry(value)
                .or_insert_with_key(|v| Arc::from(v.as_str()))
                .clone(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot serialize the equipment answers: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Cannot happen after a successful load; kept as an error rather than a panic.
    #[error("no equipment snapshot is loaded")]
    Empty,
}

/// Reads the fleet and its open maintenance jobs and computes the answers.
pub async fn load(pool: &DbPool) -> Result<EquipmentSnapshot, LoadError> {
    let tools = load_tools(pool).await?;
    let workcenters = wip::workcenters(pool).await?;
    let jobs = maintenance::open_jobs(pool).await?;
    Ok(EquipmentSnapshot::build(
        tools,
        workcenters,
        jobs.into_iter().map(OpenJob::from).collect(),
    )?)
}
