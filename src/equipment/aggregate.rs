//! The aggregate answers of the resource status APIs: tools per E10 state (summary) and per
//! workcenter × state and workcenter group → family × state (matrix), with the E10 ratios
//! (PRODUCT §2: OU % over scheduled tools, AVAIL % over every tool, NST included).

use std::collections::HashMap;
use std::sync::Arc;

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

    /// By position in [`E10_STATES`]; anything else is ignored.
    pub fn add_index(&mut self, state: usize) {
        if let Some(s) = E10_STATES.get(state) {
            self.add(s);
        }
    }

    pub fn merge(&mut self, other: &StateCounts) {
        self.prd += other.prd;
        self.sby += other.sby;
        self.udt += other.udt;
        self.sdt += other.sdt;
        self.egt += other.egt;
        self.nst += other.nst;
    }

    /// The count of one state by code (0 for an unknown one).
    pub fn get(&self, state: &str) -> u64 {
        match state {
            "PRD" => self.prd,
            "SBY" => self.sby,
            "UDT" => self.udt,
            "SDT" => self.sdt,
            "EGT" => self.egt,
            "NST" => self.nst,
            _ => 0,
        }
    }

    pub fn total(&self) -> u64 {
        self.prd + self.sby + self.udt + self.sdt + self.egt + self.nst
    }

    /// Tools scheduled to operate (every state but NST): the base of OU %.
    pub fn operations(&self) -> u64 {
        self.total() - self.nst
    }

    /// AVAIL % = (PRD + SBY + EGT) / all tools, NST included (PRODUCT §2, as the system we
    /// replace computes it).
    pub fn availability_pct(&self) -> Option<f64> {
        pct(self.prd + self.sby + self.egt, self.total())
    }

    /// OU % = PRD / (PRD + SBY + UDT + SDT + EGT) (PRODUCT §2).
    pub fn ou_pct(&self) -> Option<f64> {
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
    pub ou_pct: Option<f64>,
    pub availability_pct: Option<f64>,
    /// Lots tracked in on some tool, and their units.
    pub lots_on_tools: u64,
    pub track_in_quantity: i64,
}

/// Counts with their ratios, one row of a matrix level.
#[derive(Debug, Serialize, PartialEq)]
pub struct Counted {
    pub counts: StateCounts,
    pub total: u64,
    pub ou_pct: Option<f64>,
    pub availability_pct: Option<f64>,
}

impl From<StateCounts> for Counted {
    fn from(counts: StateCounts) -> Self {
        Counted {
            total: counts.total(),
            ou_pct: counts.ou_pct(),
            availability_pct: counts.availability_pct(),
            counts,
        }
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MatrixRow {
    pub workcenter: String,
    pub name: String,
    #[serde(flatten)]
    pub counted: Counted,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct FamilyRow<'a> {
    /// `None`: tools without a family.
    pub family: Option<&'a str>,
    #[serde(flatten)]
    pub counted: Counted,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct GroupRow<'a> {
    /// `None`: tools whose workcenter has no group.
    pub group: Option<&'a str>,
    #[serde(flatten)]
    pub counted: Counted,
    pub families: Vec<FamilyRow<'a>>,
}

/// Workcenters (rows, in route order) × E10 states, and the hierarchy workcenter group →
/// family with the same counts (groups and families with no tool left out).
#[derive(Debug, Serialize, PartialEq)]
pub struct Matrix<'a> {
    pub states: [&'static str; 6],
    pub rows: Vec<MatrixRow>,
    pub groups: Vec<GroupRow<'a>>,
    pub totals: StateCounts,
    pub total: u64,
    pub ou_pct: Option<f64>,
    pub availability_pct: Option<f64>,
}

pub fn summarize<'a>(tools: impl IntoIterator<Item = &'a ToolStatus>) -> Summary {
    let mut by_state = StateCounts::default();
    let mut lots_on_tools = 0;
    let mut track_in_quantity = 0;
    for tool in tools {
        by_state.add(&tool.e10_state);
        lots_on_tools += tool.lots.len() as u64;
        track_in_quantity += tool.track_in_quantity;
    }
    Summary {
        total: by_state.total(),
        by_state,
        ou_pct: by_state.ou_pct(),
        availability_pct: by_state.availability_pct(),
        lots_on_tools,
        track_in_quantity,
    }
}

/// Where each tool of a snapshot falls in the matrix, computed once with the snapshot so a
/// filtered matrix is a pass over array indexes (no hashing per tool).
#[derive(Debug, Default)]
pub struct Layout {
    /// Workcenters in route order, then unknown ones: `(id, name)`.
    rows: Vec<(String, String)>,
    /// Groups in order of first appearance (route order).
    groups: Vec<Option<Arc<str>>>,
    /// `(group, family)` in order of first appearance.
    families: Vec<(usize, Option<Arc<str>>)>,
    /// Per tool: its row, its family node, its state (index in [`E10_STATES`], 6 for none).
    tool_row: Vec<u32>,
    tool_family: Vec<u32>,
    tool_state: Vec<u8>,
}

impl Layout {
    pub fn build(tools: &[ToolStatus], workcenters: &[Workcenter]) -> Self {
        let mut rows: Vec<(String, String)> = workcenters
            .iter()
            .map(|w| (w.workcenter_id.clone(), w.name.clone()))
            .collect();
        let mut row_of: HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.0.clone(), i))
            .collect();
        let mut groups: Vec<Option<Arc<str>>> = Vec::new();
        let mut families: Vec<(usize, Option<Arc<str>>)> = Vec::new();
        let mut layout = Layout::default();
        for tool in tools {
            let row = *row_of.entry(tool.workcenter_id.clone()).or_insert_with(|| {
                rows.push((tool.workcenter_id.clone(), tool.workcenter_id.clone()));
                rows.len() - 1
            });
            let group = match groups.iter().position(|g| *g == tool.workcenter_group) {
                Some(g) => g,
                None => {
                    groups.push(tool.workcenter_group.clone());
                    groups.len() - 1
                }
            };
            let family = match families
                .iter()
                .position(|(g, f)| *g == group && *f == tool.family)
            {
                Some(f) => f,
                None => {
                    families.push((group, tool.family.clone()));
                    families.len() - 1
                }
            };
            layout.tool_row.push(row as u32);
            layout.tool_family.push(family as u32);
            layout.tool_state.push(
                E10_STATES
                    .iter()
                    .position(|s| *s == tool.e10_state)
                    .unwrap_or(E10_STATES.len()) as u8,
            );
        }
        layout.rows = rows;
        layout.groups = groups;
        layout.families = families;
        layout
    }

    /// The matrix of the tools at `indexes` (positions in the snapshot).
    pub fn matrix(&self, indexes: impl Iterator<Item = usize>) -> Matrix<'_> {
        let mut rows = vec![StateCounts::default(); self.rows.len()];
        let mut families = vec![StateCounts::default(); self.families.len()];
        let mut totals = StateCounts::default();
        for i in indexes {
            let state = self.tool_state[i] as usize;
            rows[self.tool_row[i] as usize].add_index(state);
            families[self.tool_family[i] as usize].add_index(state);
            totals.add_index(state);
        }
        let mut groups: Vec<GroupRow<'_>> = self
            .groups
            .iter()
            .map(|g| GroupRow {
                group: g.as_deref(),
                counted: StateCounts::default().into(),
                families: Vec::new(),
            })
            .collect();
        let mut group_counts = vec![StateCounts::default(); self.groups.len()];
        for ((group, family), counts) in self.families.iter().zip(families) {
            if counts.total() == 0 {
                continue;
            }
            group_counts[*group].merge(&counts);
            groups[*group].families.push(FamilyRow {
                family: family.as_deref(),
                counted: counts.into(),
            });
        }
        for (group, counts) in groups.iter_mut().zip(group_counts) {
            group.counted = counts.into();
        }
        groups.retain(|g| g.counted.total > 0);
        Matrix {
            states: E10_STATES,
            rows: self
                .rows
                .iter()
                .zip(rows)
                .map(|((workcenter, name), counts)| MatrixRow {
                    workcenter: workcenter.clone(),
                    name: name.clone(),
                    counted: counts.into(),
                })
                .collect(),
            groups,
            total: totals.total(),
            ou_pct: totals.ou_pct(),
            availability_pct: totals.availability_pct(),
            totals,
        }
    }
}

/// OU % per workcenter (rows) × package group (columns) of the tools at `indexes`: the
/// heatmap of the equipment page. Only workcenters and package groups with tools; a cell
/// without a scheduled tool is `None`.
pub struct OuGrid<'a> {
    pub rows: Vec<(&'a str, &'a str)>,
    pub columns: Vec<&'a str>,
    pub values: Vec<Vec<Option<f64>>>,
}

pub fn ou_grid<'a>(
    tools: &'a [ToolStatus],
    layout: &'a Layout,
    indexes: impl Iterator<Item = usize>,
) -> OuGrid<'a> {
    let mut columns: Vec<&str> = Vec::new();
    let mut cells: HashMap<(u32, usize), StateCounts> = HashMap::new();
    let mut used_rows = vec![false; layout.rows.len()];
    for i in indexes {
        let Some(group) = tools[i].package_group.as_deref() else {
            continue;
        };
        let column = match columns.iter().position(|c| *c == group) {
            Some(c) => c,
            None => {
                columns.push(group);
                columns.len() - 1
            }
        };
        let row = layout.tool_row[i];
        used_rows[row as usize] = true;
        cells
            .entry((row, column))
            .or_default()
            .add_index(layout.tool_state[i] as usize);
    }
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by(|a, b| columns[*a].cmp(columns[*b]));
    let rows: Vec<usize> = (0..layout.rows.len()).filter(|r| used_rows[*r]).collect();
    OuGrid {
        values: rows
            .iter()
            .map(|r| {
                order
                    .iter()
                    .map(|c| cells.get(&(*r as u32, *c)).and_then(|k| k.ou_pct()))
                    .collect()
            })
            .collect(),
        rows: rows
            .iter()
            .map(|r| (layout.rows[*r].0.as_str(), layout.rows[*r].1.as_str()))
            .collect(),
        columns: order.iter().map(|c| columns[*c]).collect(),
    }
}
