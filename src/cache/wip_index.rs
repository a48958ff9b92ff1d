//! Indexes into a snapshot's lots, computed once per snapshot so the per-workcenter and
//! held-lot APIs read a few positions instead of scanning every lot per request.
//!
//! Positions are `u32` offsets into `WipSnapshot::lots` (sorted by id), never copies of lots:
//! 20 000 lots cost 80 KB of index, not another copy of the dataset.

use std::collections::BTreeMap;

use serde::Serialize;

use super::aggregate::{STATUSES, Tally};
use crate::db::wip::{LotDetail, Workcenter};

/// One workcenter's lots and their totals.
#[derive(Debug)]
pub struct WorkcenterLots {
    pub workcenter_id: String,
    pub name: String,
    /// Positions in the snapshot's lots, in lot-id order.
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

/// The indexes of one snapshot.
#[derive(Debug, Default)]
pub struct WipIndex {
    /// In route order: the reference table's workcenters, then any met only in lots.
    pub workcenters: Vec<WorkcenterLots>,
    /// Held lots' positions, oldest hold first (a hold without a time last, the lot id
    /// breaking ties) — the same order as the hold overview.
    pub held: Vec<u32>,
}

impl WipIndex {
    /// Indexes `lots`, which must already be sorted by id (positions are kept as `u32`: a
    /// dataset of more than 4 billion lots is not a WIP report).
    pub fn build(lots: &[LotDetail], workcenters: &[Workcenter]) -> Self {
        let mut index: Vec<WorkcenterLots> = workcenters
            .iter()
            .map(|w| WorkcenterLots::new(w.workcenter_id.clone(), w.name.clone()))
            .collect();
        let mut by_id: std::collections::HashMap<String, usize> = workcenters
            .iter()
            .enumerate()
            .map(|(i, w)| (w.workcenter_id.clone(), i))
            .collect();
        let mut held = Vec::new();
        for (pos, lot) in lots.iter().enumerate() {
            let pos = u32::try_from(pos).unwrap_or(u32::MAX);
            let i = *by_id.entry(lot.workcenter_id.clone()).or_insert_with(|| {
                index.push(WorkcenterLots::new(
                    lot.workcenter_id.clone(),
                    lot.workcenter_name
                        .clone()
                        .unwrap_or_else(|| lot.workcenter_id.clone()),
                ));
                index.len() - 1
            });
            index[i].add(pos, lot);
            if lot.status == "HOLD" {
                held.push(pos);
            }
        }
        held.sort_by(|&a, &b| {
            let (a, b) = (&lots[a as usize], &lots[b as usize]);
            (a.hold_at.is_none(), a.hold_at, &a.lot_id).cmp(&(
                b.hold_at.is_none(),
                b.hold_at,
                &b.lot_id,
            ))
        });
        for wc in &mut index {
            wc.lots.shrink_to_fit();
        }
        held.shrink_to_fit();
        Self {
            workcenters: index,
            held,
        }
    }

    /// One workcenter by id (a few dozen exist: a linear search is as fast as a map).
    pub fn workcenter(&self, id: &str) -> Option<&WorkcenterLots> {
        self.workcenters.iter().find(|w| w.workcenter_id == id)
    }
}

impl WorkcenterLots {
    fn new(workcenter_id: String, name: String) -> Self {
        Self {
            workcenter_id,
            name,
            lots: Vec::new(),
            totals: WorkcenterTotals {
                by_status: STATUSES.iter().map(|s| (*s, Tally::default())).collect(),
                ..WorkcenterTotals::default()
            },
        }
    }

    fn add(&mut self, pos: u32, lot: &LotDetail) {
        self.lots.push(pos);
        let totals = &mut self.totals;
        totals.total.add(lot.quantity);
        if let Some(status) = STATUSES.iter().find(|s| **s == lot.status) {
            totals
                .by_status
                .entry(status)
                .or_default()
                .add(lot.quantity);
        }
        match totals.by_package.get_mut(&lot.package_id) {
            Some(tally) => tally.add(lot.quantity),
            None => {
                let mut tally = Tally::default();
                tally.add(lot.quantity);
                totals.by_package.insert(lot.package_id.clone(), tally);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(id: &str, wc: &str, status: &str, qty: i64, hold_h: Option<i64>) -> LotDetail {
        let now = chrono::Utc::now();
        LotDetail {
            lot_id: id.into(),
            product: "P".into(),
            package_id: if qty % 2 == 0 { "QFN" } else { "SOP" }.into(),
            workcenter_id: wc.into(),
            workcenter_name: None,
            step: "S".into(),
            status: status.into(),
            quantity: qty,
            priority: 3,
            equipment_id: None,
            track_in_at: None,
            hold_reason: None,
            hold_at: hold_h.map(|h| now - chrono::Duration::hours(h)),
            hold_by: None,
            started_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn workcenters_keep_route_order_and_held_lots_are_oldest_first() {
        let lots = [
            lot("A1", "WB", "RUN", 10, None),
            lot("A2", "DB", "HOLD", 4, Some(1)),
            lot("A3", "XX", "HOLD", 5, None),
            lot("A4", "WB", "HOLD", 7, Some(9)),
        ];
        let wcs = [
            Workcenter {
                workcenter_id: "DB".into(),
                name: "Die bond".into(),
                sequence: 1,
            },
            Workcenter {
                workcenter_id: "WB".into(),
                name: "Wire bond".into(),
                sequence: 2,
            },
            Workcenter {
                workcenter_id: "EMPTY".into(),
                name: "Nothing here".into(),
                sequence: 3,
            },
        ];
        let index = WipIndex::build(&lots, &wcs);
        let order: Vec<_> = index
            .workcenters
            .iter()
            .map(|w| w.workcenter_id.as_str())
            .collect();
        assert_eq!(order, ["DB", "WB", "EMPTY", "XX"]);
        let wb = index.workcenter("WB").unwrap();
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
        assert!(index.workcenter("EMPTY").unwrap().lots.is_empty());
        assert!(index.workcenter("NOPE").is_none());
        assert_eq!(index.held, [3, 1, 2]);
    }
}
