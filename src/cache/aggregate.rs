//! The aggregates the WIP APIs serve, computed once per refresh from every lot in process.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::db::wip::{LotDetail, Workcenter};

/// The statuses a lot in process can have, in report order.
pub const STATUSES: [&str; 3] = ["RUN", "QUEUE", "HOLD"];

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub lots: u64,
    pub quantity: i64,
}

impl Tally {
    fn add(&mut self, quantity: i64) {
        self.lots += 1;
        self.quantity += quantity;
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub total: Tally,
    pub by_status: BTreeMap<&'static str, Tally>,
    /// Lots with priority 1 (hot lots).
    pub hot_lots: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MatrixRow {
    pub workcenter: String,
    pub name: String,
    pub cells: BTreeMap<String, Tally>,
    pub total: Tally,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Matrix {
    pub packages: Vec<String>,
    pub rows: Vec<MatrixRow>,
    pub package_totals: BTreeMap<String, Tally>,
    pub total: Tally,
}

/// Aggregates lots into the summary answer.
pub fn summarize(lots: &[LotDetail]) -> Summary {
    let mut by_status: BTreeMap<&'static str, Tally> =
        STATUSES.iter().map(|s| (*s, Tally::default())).collect();
    let mut total = Tally::default();
    let mut hot_lots = 0;
    for lot in lots {
        total.add(lot.quantity);
        if let Some(status) = STATUSES.iter().find(|s| **s == lot.status) {
            by_status.entry(status).or_default().add(lot.quantity);
        }
        if lot.priority == 1 {
            hot_lots += 1;
        }
    }
    Summary {
        total,
        by_status,
        hot_lots,
    }
}

/// Aggregates lots into the workcenter × package matrix, rows in route order.
pub fn matrix(lots: &[LotDetail], workcenters: &[Workcenter], packages: &[String]) -> Matrix {
    let mut rows: Vec<MatrixRow> = workcenters
        .iter()
        .map(|w| MatrixRow {
            workcenter: w.workcenter_id.clone(),
            name: w.name.clone(),
            cells: BTreeMap::new(),
            total: Tally::default(),
        })
        .collect();
    let mut index: HashMap<&str, usize> = workcenters
        .iter()
        .enumerate()
        .map(|(i, w)| (w.workcenter_id.as_str(), i))
        .collect();
    let mut package_totals: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for lot in lots {
        let row = match index.get(lot.workcenter_id.as_str()) {
            Some(i) => *i,
            None => {
                // A lot at a workcenter missing from the reference table still counts.
                rows.push(MatrixRow {
                    workcenter: lot.workcenter_id.clone(),
                    name: lot.workcenter_id.clone(),
                    cells: BTreeMap::new(),
                    total: Tally::default(),
                });
                index.insert(lot.workcenter_id.as_str(), rows.len() - 1);
                rows.len() - 1
            }
        };
        let row = &mut rows[row];
        row.cells
            .entry(lot.package_id.clone())
            .or_default()
            .add(lot.quantity);
        row.total.add(lot.quantity);
        package_totals
            .entry(lot.package_id.clone())
            .or_default()
            .add(lot.quantity);
        total.add(lot.quantity);
    }
    let mut all_packages: Vec<String> = packages.to_vec();
    for p in package_totals.keys() {
        if !all_packages.contains(p) {
            all_packages.push(p.clone());
        }
    }
    Matrix {
        packages: all_packages,
        rows,
        package_totals,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(wc: &str, pkg: &str, status: &str, qty: i64) -> LotDetail {
        LotDetail {
            lot_id: format!("L{wc}{pkg}{status}{qty}"),
            workcenter_id: wc.into(),
            package_id: pkg.into(),
            status: status.into(),
            quantity: qty,
            priority: 3,
            hold_reason: None,
            product: "P".into(),
            workcenter_name: None,
            step: "S".into(),
            equipment_id: None,
            track_in_at: None,
            hold_at: None,
            hold_by: None,
            started_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn wc(id: &str, seq: i64) -> Workcenter {
        Workcenter {
            workcenter_id: id.into(),
            name: format!("{id} name"),
            sequence: seq,
        }
    }

    #[test]
    fn summary_counts_lots_and_quantity_by_status() {
        let lots = [
            lot("DB", "QFN", "RUN", 100),
            lot("DB", "QFN", "HOLD", 50),
            lot("WB", "SOP", "QUEUE", 25),
            lot("WB", "SOP", "QUEUE", 5),
        ];
        let s = summarize(&lots);
        assert_eq!(
            s.total,
            Tally {
                lots: 4,
                quantity: 180
            }
        );
        assert_eq!(
            s.by_status["RUN"],
            Tally {
                lots: 1,
                quantity: 100
            }
        );
        assert_eq!(
            s.by_status["QUEUE"],
            Tally {
                lots: 2,
                quantity: 30
            }
        );
        assert_eq!(
            s.by_status["HOLD"],
            Tally {
                lots: 1,
                quantity: 50
            }
        );
    }

    #[test]
    fn matrix_keeps_route_order_and_counts_unknown_workcenters() {
        let lots = [
            lot("WB", "SOP", "RUN", 10),
            lot("DB", "QFN", "RUN", 7),
            lot("XX", "QFN", "QUEUE", 1),
        ];
        let m = matrix(
            &lots,
            &[wc("DB", 1), wc("WB", 2)],
            &["QFN".into(), "SOP".into()],
        );
        let order: Vec<_> = m.rows.iter().map(|r| r.workcenter.as_str()).collect();
        assert_eq!(order, ["DB", "WB", "XX"]);
        assert_eq!(
            m.rows[1].cells["SOP"],
            Tally {
                lots: 1,
                quantity: 10
            }
        );
        assert_eq!(
            m.package_totals["QFN"],
            Tally {
                lots: 2,
                quantity: 8
            }
        );
        assert_eq!(
            m.total,
            Tally {
                lots: 3,
                quantity: 18
            }
        );
    }
}
