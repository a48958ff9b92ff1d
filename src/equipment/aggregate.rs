//! The aggregate answers of the resource status APIs: tools per E10 state (summary) and per
//! workcenter × state (matrix), with the E10 ratios.

use std::collections::HashMap;

use serde::Serialize;

use super::snapshot::{E10_STATES, ToolStatus};
use crate::db::wip::Workcenter;

/// Tools per E10 state, serialized with the state codes as keys in report order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    #[serde(rename = "PRD")]
    pub prd: u64,
    #[serde(rename = "SBY")]
    pub sby: u64,
    #[serde(rename = "UDT")]
    pub udt: u64,
    #[serde(rename = "SDT")]
    pub sdt: u64,
    #[serde(rename = "EGT")]
    pub egt: u64,
    #[serde(rename = "NST")]
    pub nst: u64,
}

impl StateCounts {
    pub fn add(&mut self, state: &str) {
        match state {
            "PRD" => self.prd += 1,
            "SBY" => self.sby += 1,
            "UDT" => self.udt += 1,
            "SDT" => self.sdt += 1,
            "EGT" => self.egt += 1,
            "NST" => self.nst += 1,
            _ => {}
        }
    }

    pub fn total(&self) -> u64 {
        self.prd + self.sby + self.udt + self.sdt + self.egt + self.nst
    }

    /// Tools scheduled to operate (every state but NST), the base of the E10 ratios.
    pub fn operations(&self) -> u64 {
        self.total() - self.nst
    }

    /// E10 uptime (PRD + SBY + EGT) over scheduled tools, in percent — the convention of
    /// the history report (`db/history.rs`), applied to tool counts instead of hours.
    pub fn availability_pct(&self) -> Option<f64> {
        pct(self.prd + self.sby + self.egt, self.operations())
    }

    /// Productive tools over scheduled tools, in percent.
    pub fn utilization_pct(&self) -> Option<f64> {
        pct(self.prd, self.operations())
    }
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 100.0)
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub total: u64,
    pub by_state: StateCounts,
    pub availability_pct: Option<f64>,
    pub utilization_pct: Option<f64>,
    /// Lots tracked in on some tool, and their units.
    pub lots_on_tools: u64,
    pub track_in_quantity: i64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MatrixRow {
    pub workcenter: String,
    pub name: String,
    pub counts: StateCounts,
    pub total: u64,
    pub availability_pct: Option<f64>,
}

/// Workcenters (rows, in route order) × E10 states (columns).
#[derive(Debug, Serialize, PartialEq)]
pub struct Matrix {
    pub states: [&'static str; 6],
    pub rows: Vec<MatrixRow>,
    pub totals: StateCounts,
    pub total: u64,
    pub availability_pct: Option<f64>,
}

pub fn summarize(tools: &[ToolStatus]) -> Summary {
    let mut by_state = StateCounts::default();
    let mut lots_on_tools = 0;
    let mut track_in_quantity = 0;
    for tool in tools {
        by_state.add(&tool.e10_state);
        lots_on_tools += tool.lots.len() as u64;
        track_in_quantity += tool.track_in_quantity;
    }
    Summary {
        total: tools.len() as u64,
        by_state,
        availability_pct: by_state.availability_pct(),
        utilization_pct: by_state.utilization_pct(),
        lots_on_tools,
        track_in_quantity,
    }
}

/// Every workcenter of the route gets a row (tools at a workcenter missing from the
/// reference table get one too, at the end).
pub fn matrix(tools: &[ToolStatus], workcenters: &[Workcenter]) -> Matrix {
    let mut rows: Vec<(String, String, StateCounts)> = workcenters
        .iter()
        .map(|w| {
            (
                w.workcenter_id.clone(),
                w.name.clone(),
                StateCounts::default(),
            )
        })
        .collect();
    let mut index: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.0.clone(), i))
        .collect();
    let mut totals = StateCounts::default();
    for tool in tools {
        let i = *index.entry(tool.workcenter_id.clone()).or_insert_with(|| {
            rows.push((
                tool.workcenter_id.clone(),
                tool.workcenter_id.clone(),
                StateCounts::default(),
            ));
            rows.len() - 1
        });
        rows[i].2.add(&tool.e10_state);
        totals.add(&tool.e10_state);
    }
    Matrix {
        states: E10_STATES,
        rows: rows
            .into_iter()
            .map(|(workcenter, name, counts)| MatrixRow {
                workcenter,
                name,
                total: counts.total(),
                availability_pct: counts.availability_pct(),
                counts,
            })
            .collect(),
        total: totals.total(),
        availability_pct: totals.availability_pct(),
        totals,
    }
}
