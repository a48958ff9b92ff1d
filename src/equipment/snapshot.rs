//! One computed state of the fleet: every tool's status, and the answers of the resource
//! status APIs serialized once, so a request only filters or copies bytes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::aggregate::{Layout, summarize};
use super::filter::{Indexes, StatusFilter, ToolSet};
use super::jobs::{self, OpenJob};
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
    /// The attributes the pages filter and group by (PRODUCT §2). Shared strings: a fleet has
    /// a few dozen distinct values for thousands of tools. Defaulted when absent, so a status
    /// stored in Redis by an older version still reads.
    #[serde(default)]
    pub workcenter_group: Option<Arc<str>>,
    /// The tool family (kind of tool); `model` is the vendor's model within it.
    #[serde(default)]
    pub family: Option<Arc<str>>,
    #[serde(default)]
    pub location: Option<Arc<str>>,
    #[serde(default)]
    pub package_group: Option<Arc<str>>,
    #[serde(default)]
    pub vendor: Option<Arc<str>>,
    #[serde(default = "yes")]
    pub production: bool,
    #[serde(default)]
    pub key: bool,
    #[serde(default)]
    pub monitored: bool,
}

fn yes() -> bool {
    true
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
    /// Each tool serialized, parallel to `tools`: filtered answers are concatenations. Slices
    /// of `status` (one copy of the bytes, not two).
    tool_json: Vec<Bytes>,
    /// The tools of each attribute value, workcenter and state (and by id).
    indexes: Indexes,
    /// Where each tool falls in the matrix.
    layout: Layout,
    workcenters: Vec<Workcenter>,
    /// Open maintenance jobs, longest open first, each serialized alongside.
    pub open_jobs: Vec<OpenJob>,
    job_json: Vec<Bytes>,
    /// The position in `tools` of each job's tool (`None`: not in the fleet).
    job_tool: Vec<Option<usize>>,
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
        mut open_jobs: Vec<OpenJob>,
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
        let (status, tool_json) = status_answer(&tools)?;
        let indexes = Indexes::build(&tools);
        let layout = Layout::build(&tools, &workcenters);
        jobs::sort(&mut open_jobs);
        let job_json = open_jobs
            .iter()
            .map(|j| serde_json::to_vec(j).map(Bytes::from))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let job_tool = open_jobs
            .iter()
            .map(|j| indexes.position(&j.equipment_id))
            .collect();
        Ok(Self {
            summary: RawJson::from_value(&summarize(&tools))?,
            matrix: RawJson::from_value(&layout.matrix(0..tools.len()))?,
            status,
            tools,
            tool_json,
            indexes,
            layout,
            workcenters,
            open_jobs,
            job_json,
            job_tool,
            computed_at: Utc::now(),
            computed_instant: Instant::now(),
        })
    }

    pub fn tool(&self, equipment_id: &str) -> Option<&ToolStatus> {
        self.indexes.position(equipment_id).map(|i| &self.tools[i])
    }

    /// The tools `filter` admits.
    pub fn select(&self, filter: &StatusFilter) -> ToolSet {
        self.indexes.select(filter)
    }

    pub fn indexes(&self) -> &Indexes {
        &self.indexes
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
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
        list(self.select(filter).iter().map(|i| &self.tool_json[i]))
    }

    /// The summary answer for `filter`.
    pub fn summary_for(&self, filter: &StatusFilter) -> serde_json::Result<RawJson> {
        if filter.is_empty() {
            return Ok(self.summary.clone());
        }
        let set = self.select(filter);
        RawJson::from_value(&summarize(set.iter().map(|i| &self.tools[i])))
    }

    /// The matrix answer for `filter`.
    pub fn matrix_for(&self, filter: &StatusFilter) -> serde_json::Result<RawJson> {
        if filter.is_empty() {
            return Ok(self.matrix.clone());
        }
        RawJson::from_value(&self.layout.matrix(self.select(filter).iter()))
    }

    /// The open jobs of the tools `filter` admits (every open job without a filter), longest
    /// open first: their positions in `open_jobs`.
    pub fn jobs_for(&self, filter: &StatusFilter) -> Vec<usize> {
        if filter.is_empty() {
            return (0..self.open_jobs.len()).collect();
        }
        let set = self.select(filter);
        (0..self.open_jobs.len())
            .filter(|j| self.job_tool[*j].is_some_and(|t| set.contains(t)))
            .collect()
    }

    /// `{"count":N,"jobs":[…]}`: the first `limit` of the jobs at `positions`, and how many
    /// there are.
    pub fn jobs_answer(&self, positions: &[usize], limit: usize) -> RawJson {
        let mut body = BytesMut::with_capacity(64 + 300 * limit.min(positions.len()));
        body.put_slice(b"{\"count\":");
        body.put_slice(itoa::Buffer::new().format(positions.len()).as_bytes());
        body.put_slice(b",\"jobs\":[");
        for (n, j) in positions.iter().take(limit).enumerate() {
            if n > 0 {
                body.put_u8(b',');
            }
            body.put_slice(&self.job_json[*j]);
        }
        body.put_slice(b"]}");
        RawJson(body.freeze())
    }

    /// The oldest open job of a tool.
    pub fn open_job_of(&self, tool: usize) -> Option<&OpenJob> {
        self.job_tool
            .iter()
            .position(|t| *t == Some(tool))
            .map(|j| &self.open_jobs[j])
    }

    /// The open jobs serialized (`[…]`), for Redis.
    pub fn jobs_json(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(2 + self.job_json.iter().map(|j| j.len() + 1).sum::<usize>());
        out.push(b'[');
        for (n, job) in self.job_json.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(job);
        }
        out.push(b']');
        out
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
        Self::build(tools, self.workcenters.clone(), self.open_jobs.clone())
    }
}

/// The unfiltered status answer, `{"count":N,"tools":[…]}`, written once, and each tool's
/// bytes within it.
fn status_answer(tools: &[ToolStatus]) -> serde_json::Result<(RawJson, Vec<Bytes>)> {
    let mut out = Vec::with_capacity(64 + 400 * tools.len());
    out.extend_from_slice(b"{\"count\":");
    out.extend_from_slice(itoa::Buffer::new().format(tools.len()).as_bytes());
    out.extend_from_slice(b",\"tools\":[");
    let mut spans = Vec::with_capacity(tools.len());
    for (n, t) in tools.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let start = out.len();
        serde_json::to_writer(&mut out, t)?;
        spans.push(start..out.len());
    }
    out.extend_from_slice(b"]}");
    out.shrink_to_fit();
    let all = Bytes::from(out);
    let tool_json = spans.into_iter().map(|r| all.slice(r)).collect();
    Ok((RawJson(all), tool_json))
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
