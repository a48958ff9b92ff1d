//! One computed state of the fleet: every tool's status, and the answers of the resource
//! status APIs serialized once, so a request only filters or copies bytes.

use std::collections::HashMap;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::aggregate::{matrix, summarize};
use crate::db::wip::Workcenter;
use crate::json::RawJson;

/// The SEMI E10 states, in report order.
pub const E10_STATES: [&str; 6] = ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"];

/// One tool as the status APIs, the event stream and Redis carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolStatus {
    pub equipment_id: String,
    pub workcenter_id: String,
    pub model: String,
    /// `PRD`, `SBY`, `UDT`, `SDT`, `EGT` or `NST`.
    pub e10_state: String,
    pub state_reason: Option<String>,
    pub state_since: DateTime<Utc>,
    /// Lots tracked in on the tool, by id.
    pub lots: Vec<String>,
    /// Units of those lots.
    pub track_in_quantity: i64,
    /// The latest track-in among them.
    pub last_track_in_at: Option<DateTime<Utc>>,
    /// Last change of the tool's row.
    pub updated_at: DateTime<Utc>,
}

/// What `GET /api/resource/status` may filter on (validated by the route).
#[derive(Debug, Clone, Default)]
pub struct StatusFilter {
    pub workcenter: Option<String>,
    /// Empty: every state.
    pub states: Vec<String>,
}

impl StatusFilter {
    fn is_empty(&self) -> bool {
        self.workcenter.is_none() && self.states.is_empty()
    }

    pub fn admits(&self, tool: &ToolStatus) -> bool {
        self.workcenter
            .as_ref()
            .is_none_or(|w| *w == tool.workcenter_id)
            && (self.states.is_empty() || self.states.contains(&tool.e10_state))
    }
}

/// The tools that changed from one snapshot to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// New or different tools, as they are now.
    pub changed: Vec<ToolStatus>,
    /// Tools no longer in the fleet.
    pub removed: Vec<String>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

#[derive(Debug)]
pub struct EquipmentSnapshot {
    /// Every tool, in route order of its workcenter, then by id.
    pub tools: Vec<ToolStatus>,
    /// Each tool serialized, parallel to `tools`: filtered answers are concatenations.
    tool_json: Vec<Bytes>,
    index: HashMap<String, usize>,
    workcenters: Vec<Workcenter>,
    /// `GET /api/resource/status` without filters.
    pub status: RawJson,
    pub summary: RawJson,
    pub matrix: RawJson,
    pub computed_at: DateTime<Utc>,
    pub computed_instant: Instant,
}

impl EquipmentSnapshot {
    /// The reference workcenters, in route order.
    pub fn workcenters(&self) -> &[Workcenter] {
        &self.workcenters
    }

    pub fn build(
        mut tools: Vec<ToolStatus>,
        workcenters: Vec<Workcenter>,
    ) -> serde_json::Result<Self> {
        let order: HashMap<&str, usize> = workcenters
            .iter()
            .enumerate()
            .map(|(i, w)| (w.workcenter_id.as_str(), i))
            .collect();
        tools.sort_by(|a, b| {
            let rank = |t: &ToolStatus| order.get(t.workcenter_id.as_str()).copied();
            // Known workcenters first (route order), unknown ones after, by id.
            (
                rank(a).is_none(),
                rank(a),
                &a.workcenter_id,
                &a.equipment_id,
            )
                .cmp(&(
                    rank(b).is_none(),
                    rank(b),
                    &b.workcenter_id,
                    &b.equipment_id,
                ))
        });
        tools.dedup_by(|a, b| a.equipment_id == b.equipment_id);
        let tool_json = tools
            .iter()
            .map(|t| serde_json::to_vec(t).map(Bytes::from))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let index = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.equipment_id.clone(), i))
            .collect();
        let status = list(tool_json.iter());
        Ok(Self {
            summary: RawJson::from_value(&summarize(&tools))?,
            matrix: RawJson::from_value(&matrix(&tools, &workcenters))?,
            status,
            tools,
            tool_json,
            index,
            workcenters,
            computed_at: Utc::now(),
            computed_instant: Instant::now(),
        })
    }

    pub fn tool(&self, equipment_id: &str) -> Option<&ToolStatus> {
        self.index.get(equipment_id).map(|i| &self.tools[*i])
    }

    /// The serialized tool, for the Redis index.
    pub fn tool_json(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.tools
            .iter()
            .map(|t| t.equipment_id.as_str())
            .zip(self.tool_json.iter())
    }

    /// The status answer for `filter`: the precomputed bytes, or the matching tools' bytes.
    pub fn status_for(&self, filter: &StatusFilter) -> RawJson {
        if filter.is_empty() {
            return self.status.clone();
        }
        list(
            self.tools
                .iter()
                .zip(self.tool_json.iter())
                .filter(|(t, _)| filter.admits(t))
                .map(|(_, json)| json),
        )
    }

    /// What changed from `self` to `next`.
    pub fn diff(&self, next: &EquipmentSnapshot) -> Change {
        Change {
            changed: next
                .tools
                .iter()
                .filter(|t| self.tool(&t.equipment_id) != Some(*t))
                .cloned()
                .collect(),
            removed: self
                .tools
                .iter()
                .filter(|t| next.tool(&t.equipment_id).is_none())
                .map(|t| t.equipment_id.clone())
                .collect(),
        }
    }

    /// This snapshot with `change` applied (a change published by another process).
    pub fn patched(&self, change: &Change) -> serde_json::Result<Self> {
        let mut tools: Vec<ToolStatus> = self
            .tools
            .iter()
            .filter(|t| {
                !change.removed.contains(&t.equipment_id)
                    && !change
                        .changed
                        .iter()
                        .any(|c| c.equipment_id == t.equipment_id)
            })
            .cloned()
            .collect();
        tools.extend(change.changed.iter().cloned());
        Self::build(tools, self.workcenters.clone())
    }
}

/// `{"count":N,"tools":[…]}` from serialized tools.
fn list<'a>(tools: impl Iterator<Item = &'a Bytes>) -> RawJson {
    let mut body = BytesMut::with_capacity(256);
    let mut count = 0u64;
    body.put_slice(b"[");
    for json in tools {
        if count > 0 {
            body.put_u8(b',');
        }
        body.put_slice(json);
        count += 1;
    }
    body.put_u8(b']');
    let mut out = BytesMut::with_capacity(body.len() + 32);
    out.put_slice(b"{\"count\":");
    out.put_slice(itoa::Buffer::new().format(count).as_bytes());
    out.put_slice(b",\"tools\":");
    out.put_slice(&body);
    out.put_u8(b'}');
    RawJson(out.freeze())
}

/// The status answer as stored in Redis, read back.
#[derive(Debug, Deserialize)]
pub struct StoredStatus {
    pub tools: Vec<ToolStatus>,
}
