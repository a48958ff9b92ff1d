//! Indexes into a snapshot's lot table, computed once per snapshot so the APIs read a few
//! positions instead of scanning every lot per request.
//!
//! Positions are `u32` offsets into the table's lots (sorted by id), never copies of lots:
//! each index of every lot costs 4 bytes a lot.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use super::aggregate::{STATUSES, Tally};
use super::hold_query::HoldOrders;
use super::lots::{Field, LotTable, NONE, Status};
use crate::json::RowParts;

/// The fields filtered by exact value that get a posting list each (the workcenter and the
/// status have their own lists; a workcenter group is the union of its workcenters').
pub const POSTED: [Field; 6] = [
    Field::Package,
    Field::LotType,
    Field::Product,
    Field::Workflow,
    Field::Bop,
    Field::Function,
];

/// The fields whose values are searched as you type (lower-cased copies are kept).
pub const SEARCHED: [Field; 7] = [
    Field::WorkOrder,
    Field::Package,
    Field::LotType,
    Field::Product,
    Field::Workflow,
    Field::Bop,
    Field::Function,
];

/// One workcenter's lots and their totals.
#[derive(Debug)]
pub struct WorkcenterLots {
    /// Positions in the table's lots, in lot-id order.
    pub lots: Vec<u32>,
    pub totals: WorkcenterTotals,
}

/// A workcenter's totals, all its lots counted (filters do not change them).
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct WorkcenterTotals {
    pub total: Tally,
    pub by_status: BTreeMap<&'static str, Tally>,
    pub by_package: BTreeMap<String, Tally>,
}

/// The lots of each value of one field: positions grouped by code, ascending within a code.
#[derive(Debug, Default)]
pub struct Postings {
    /// `positions[offsets[c]..offsets[c + 1]]` are the lots of code `c`.
    offsets: Vec<u32>,
    positions: Vec<u32>,
}

impl Postings {
    fn build(table: &LotTable, field: Field) -> Self {
        let codes = table.dict(field).len();
        let mut offsets = vec![0u32; codes + 1];
        let column = table.column(field);
        for pos in 0..table.len() {
            let c = column.get(pos);
            if c != NONE {
                offsets[c as usize + 1] += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut positions = vec![0u32; offsets[codes] as usize];
        for pos in 0..table.len() {
            let c = column.get(pos);
            if c != NONE {
                positions[next[c as usize] as usize] = pos as u32;
                next[c as usize] += 1;
            }
        }
        Self { offsets, positions }
    }

    /// The lots of `code`, ascending.
    pub fn of(&self, code: u32) -> &[u32] {
        let c = code as usize;
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&a), Some(&b)) => &self.positions[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// The indexes of one snapshot.
#[derive(Debug, Default)]
pub struct WipIndex {
    /// Parallel to the table's workcenters (route order).
    pub workcenters: Vec<WorkcenterLots>,
    /// Held lots' positions, oldest hold first (a hold without a time last, the lot id
    /// breaking ties) — the same order as the hold overview.
    pub held: Vec<u32>,
    /// Each status's lots, ascending.
    pub by_status: [Vec<u32>; 3],
    /// One posting list per field of [`POSTED`], in that order.
    postings: Vec<Postings>,
    /// Per step code: its place in the route (workcenters in route order, their steps in
    /// order); steps missing from the route come after, by name.
    pub step_rank: Vec<u32>,
    /// The lot ids lower-cased (ASCII), same offsets as the table's ids.
    pub ids_lower: Vec<u8>,
    /// One lower-cased copy per field of [`SEARCHED`], in that order.
    lower: Vec<Vec<u8>>,
    /// The held lots in each order of the hold lists, each built when first asked for.
    pub hold_orders: HoldOrders,
    /// The held lots' list rows (parallel to `by_status[Hold]`), written by the hold lists'
    /// first request (`routes::hold_params`).
    pub held_rows: OnceLock<RowParts<3>>,
}

impl WipIndex {
    /// Indexes `table` (positions are kept as `u32`: a dataset of more than 4 billion lots is
    /// not a WIP report).
    pub fn build(table: &LotTable) -> Self {
        let mut workcenters: Vec<WorkcenterLots> = table
            .workcenters
            .iter()
            .map(|_| WorkcenterLots::new())
            .collect();
        let mut held = Vec::new();
        let mut by_status: [Vec<u32>; 3] = Default::default();
        let packages = table.dict(Field::Package);
        for (pos, lot) in table.lots.iter().enumerate() {
            let pos = pos as u32;
            let package = packages
                .get(table.code(pos, Field::Package))
                .unwrap_or_default();
            workcenters[lot.workcenter as usize].add(pos, lot.status, lot.quantity, package);
            by_status[lot.status as usize].push(pos);
            if lot.held() {
                held.push(pos);
            }
        }
        held.sort_by_key(|&p| {
            let at = table.lots[p as usize].hold_at;
            (!at.is_some(), at, p)
        });
        for wc in &mut workcenters {
            wc.lots.shrink_to_fit();
        }
        for list in &mut by_status {
            list.shrink_to_fit();
        }
        held.shrink_to_fit();
        Self {
            workcenters,
            held,
            by_status,
            postings: POSTED.iter().map(|&f| Postings::build(table, f)).collect(),
            step_rank: step_ranks(table),
            ids_lower: table.ids.text().as_bytes().to_ascii_lowercase(),
            lower: SEARCHED
                .iter()
                .map(|&f| table.dict(f).text().as_bytes().to_ascii_lowercase())
                .collect(),
            hold_orders: HoldOrders::default(),
            held_rows: OnceLock::new(),
        }
    }

    /// The lots of one value of a field of [`POSTED`] (`None` for another field).
    pub fn postings(&self, field: Field) -> Option<&Postings> {
        POSTED
            .iter()
            .position(|&f| f == field)
            .map(|i| &self.postings[i])
    }

    /// The lower-cased text of a field of [`SEARCHED`] (`None` for another field).
    pub fn lower(&self, field: Field) -> Option<&[u8]> {
        SEARCHED
            .iter()
            .position(|&f| f == field)
            .map(|i| self.lower[i].as_slice())
    }

    /// Approximate bytes held.
    pub fn heap_bytes(&self) -> usize {
        let lists: usize = self
            .workcenters
            .iter()
            .map(|w| w.lots.capacity())
            .sum::<usize>()
            + self.held.capacity()
            + self.by_status.iter().map(Vec::capacity).sum::<usize>()
            + self
                .postings
                .iter()
                .map(|p| p.offsets.capacity() + p.positions.capacity())
                .sum::<usize>()
            + self.step_rank.capacity();
        lists * 4
            + self.ids_lower.capacity()
            + self.lower.iter().map(Vec::capacity).sum::<usize>()
            + self.hold_orders.heap_bytes()
            + self.held_rows.get().map_or(0, RowParts::heap_bytes)
    }
}

fn step_ranks(table: &LotTable) -> Vec<u32> {
    let steps = table.dict(Field::Step);
    let mut rank = vec![u32::MAX; steps.len()];
    let mut next = 0u32;
    for wc in &table.workcenters {
        for s in &wc.steps {
            if let Some(code) = steps.find(&s.step)
                && rank[code as usize] == u32::MAX
            {
                rank[code as usize] = next;
                next += 1;
            }
        }
    }
    for r in &mut rank {
        if *r == u32::MAX {
            *r = next;
            next += 1;
        }
    }
    rank
}

impl WorkcenterLots {
    fn new() -> Self {
        Self {
            lots: Vec::new(),
            totals: WorkcenterTotals {
                by_status: STATUSES.iter().map(|s| (*s, Tally::default())).collect(),
                ..WorkcenterTotals::default()
            },
        }
    }

    fn add(&mut self, pos: u32, status: Status, quantity: i64, package: &str) {
        self.lots.push(pos);
        let totals = &mut self.totals;
        totals.total.add(quantity);
        totals
            .by_status
            .entry(status.as_str())
            .or_default()
            .add(quantity);
        match totals.by_package.get_mut(package) {
            Some(tally) => tally.add(quantity),
            None => {
                let mut tally = Tally::default();
                tally.add(quantity);
                totals.by_package.insert(package.to_string(), tally);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::lots::LotTableBuilder;
    use crate::db::lots::LotRecord;
    use crate::db::reference::{WorkcenterInfo, WorkcenterStep};

    fn lot(id: &str, wc: &str, status: &str, qty: i64, hold_h: Option<i64>) -> LotRecord {
        let now = chrono::Utc::now();
        LotRecord {
            package_id: if qty % 2 == 0 { "QFN" } else { "SOP" }.into(),
            quantity: qty,
            hold_at: hold_h.map(|h| now - chrono::Duration::hours(h)),
            ..LotRecord::for_tests(id, wc, &format!("{wc}-S"), status, now)
        }
    }

    fn wc(id: &str, seq: i64) -> WorkcenterInfo {
        WorkcenterInfo {
            workcenter_id: id.into(),
            name: format!("{id} name"),
            sequence: seq,
            workcenter_group: None,
            group_sequence: None,
        }
    }

    #[test]
    fn workcenters_keep_route_order_and_held_lots_are_oldest_first() {
        let steps = [
            WorkcenterStep {
                workcenter_id: "WB".into(),
                step: "WB-S".into(),
                name: None,
                sequence: 1,
            },
            WorkcenterStep {
                workcenter_id: "DB".into(),
                step: "DB-S".into(),
                name: None,
                sequence: 1,
            },
        ];
        let mut b = LotTableBuilder::new(
            &[wc("DB", 1), wc("WB", 2), wc("EMPTY", 3)],
            &steps,
            Vec::new(),
        );
        for l in [
            lot("A1", "WB", "RUN", 10, None),
            lot("A2", "DB", "HOLD", 4, Some(1)),
            lot("A3", "XX", "HOLD", 5, None),
            lot("A4", "WB", "HOLD", 7, Some(9)),
        ] {
            b.push(l);
        }
        let table = b.finish();
        let index = WipIndex::build(&table);
        let order: Vec<_> = table
            .workcenters
            .iter()
            .map(|w| w.workcenter_id.as_str())
            .collect();
        assert_eq!(order, ["DB", "WB", "EMPTY", "XX"]);
        let wb = &index.workcenters[1];
        assert_eq!(wb.lots, [0, 3]);
        assert_eq!(
            wb.totals.total,
            Tally {
                lots: 2,
                quantity: 17
            }
        );
        assert_eq!(wb.totals.by_status["HOLD"].quantity, 7);
        assert_eq!(wb.totals.by_status["QUEUE"], Tally::default());
        assert_eq!(wb.totals.by_package["QFN"].quantity, 10);
        assert!(index.workcenters[2].lots.is_empty());
        assert_eq!(index.held, [3, 1, 2]);
        assert_eq!(index.by_status[Status::Hold as usize], [1, 2, 3]);
        let sop = table.dict(Field::Package).find("SOP").unwrap();
        assert_eq!(index.postings(Field::Package).unwrap().of(sop), [2, 3]);
        assert!(index.postings(Field::Step).is_none());
        // Route order: DB-S before WB-S though "WB" was listed first in the steps table;
        // XX-S (not in the route) last.
        let rank = |s: &str| index.step_rank[table.dict(Field::Step).find(s).unwrap() as usize];
        assert!(rank("DB-S") < rank("WB-S") && rank("WB-S") < rank("XX-S"));
    }
}
