//! The aggregates the WIP APIs serve, computed once per refresh from every lot in process.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::wip::{LotDetail, Workcenter};
use crate::json::RawJson;

/// The statuses a lot in process can have, in report order.
pub const STATUSES: [&str; 3] = ["RUN", "QUEUE", "HOLD"];

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub lots: u64,
    pub quantity: i64,
}

impl Tally {
    pub(crate) fn add(&mut self, quantity: i64) {
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

/// Held lots listed on the hold overview at most (the oldest holds).
pub const MAX_HELD_LOTS_LISTED: usize = 500;

/// One group of held lots (a hold reason or a workcenter).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HoldGroup {
    pub key: String,
    pub lots: u64,
    pub quantity: i64,
}

/// One held lot as the hold overview lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeldLot {
    pub lot_id: String,
    pub product: String,
    pub workcenter_id: String,
    pub quantity: i64,
    pub hold_reason: Option<String>,
    pub hold_at: Option<DateTime<Utc>>,
    /// `hold_at` for people: `YYYY-MM-DD HH:MM` UTC.
    pub hold_since: Option<String>,
    pub hold_by: Option<String>,
}

/// Lots on hold, computed with each snapshot so the `/hold-overview` page only renders it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HoldOverview {
    pub total: Tally,
    /// Most quantity first; a hold without a reason counts under `(no reason)`.
    pub by_reason: Vec<HoldGroup>,
    /// Most quantity first.
    pub by_workcenter: Vec<HoldGroup>,
    /// The oldest holds first (a hold without a time last), at most
    /// [`MAX_HELD_LOTS_LISTED`].
    pub lots: Vec<HeldLot>,
}

/// `GET /api/wip/overview/hold`: the held figures without the lot list.
#[derive(Serialize)]
struct HoldFigures<'a> {
    total: Tally,
    by_reason: &'a [HoldGroup],
    by_workcenter: &'a [HoldGroup],
}

/// `GET /api/hold-overview/summary`: the figures of the `/hold-overview` page and its oldest
/// hold (`null` when nothing is held).
#[derive(Serialize)]
struct HoldSummary<'a> {
    total: Tally,
    by_reason: &'a [HoldGroup],
    by_workcenter: &'a [HoldGroup],
    oldest: Option<&'a HeldLot>,
}

impl HoldOverview {
    /// The two hold answers, serialized once per snapshot: the WIP overview's hold figures
    /// and the hold overview's summary.
    pub fn answers(&self) -> serde_json::Result<(RawJson, RawJson)> {
        let figures = RawJson::from_value(&HoldFigures {
            total: self.total,
            by_reason: &self.by_reason,
            by_workcenter: &self.by_workcenter,
        })?;
        let summary = RawJson::from_value(&HoldSummary {
            total: self.total,
            by_reason: &self.by_reason,
            by_workcenter: &self.by_workcenter,
            oldest: self.lots.first(),
        })?;
        Ok((figures, summary))
    }
}

/// The label of a hold that has no reason recorded.
pub const NO_REASON: &str = "(no reason)";

/// Aggregates the lots on hold.
pub fn hold_overview(lots: &[LotDetail]) -> HoldOverview {
    let mut total = Tally::default();
    let mut by_reason: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_workcenter: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut held: Vec<&LotDetail> = Vec::new();
    for lot in lots.iter().filter(|l| l.status == "HOLD") {
        total.add(lot.quantity);
        by_reason
            .entry(lot.hold_reason.as_deref().unwrap_or(NO_REASON))
            .or_default()
            .add(lot.quantity);
        by_workcenter
            .entry(lot.workcenter_id.as_str())
            .or_default()
            .add(lot.quantity);
        held.push(lot);
    }
    // Oldest first; no time last; the lot id breaks ties so the order is stable.
    held.sort_by(|a, b| {
        (a.hold_at.is_none(), a.hold_at, &a.lot_id).cmp(&(
            b.hold_at.is_none(),
            b.hold_at,
            &b.lot_id,
        ))
    });
    let groups = |map: BTreeMap<&str, Tally>| {
        let mut groups: Vec<HoldGroup> = map
            .into_iter()
            .map(|(key, t)| HoldGroup {
                key: key.to_string(),
                lots: t.lots,
                quantity: t.quantity,
            })
            .collect();
        groups.sort_by(|a, b| b.quantity.cmp(&a.quantity).then_with(|| a.key.cmp(&b.key)));
        groups
    };
    HoldOverview {
        total,
        by_reason: groups(by_reason),
        by_workcenter: groups(by_workcenter),
        lots: held
            .into_iter()
            .take(MAX_HELD_LOTS_LISTED)
            .map(|l| HeldLot {
                lot_id: l.lot_id.clone(),
                product: l.product.clone(),
                workcenter_id: l.workcenter_id.clone(),
                quantity: l.quantity,
                hold_reason: l.hold_reason.clone(),
                hold_at: l.hold_at,
                hold_since: l.hold_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
                hold_by: l.hold_by.clone(),
            })
            .collect(),
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

    #[test]
    fn hold_overview_groups_held_lots_and_lists_the_oldest_first() {
        let at = |h: i64| Some(chrono::Utc::now() - chrono::Duration::hours(h));
        let mut a = lot("DB", "QFN", "HOLD", 10);
        a.hold_reason = Some("QC".into());
        a.hold_at = at(1);
        let mut b = lot("WB", "SOP", "HOLD", 30);
        b.hold_reason = Some("QC".into());
        b.hold_at = at(5);
        let mut c = lot("WB", "QFN", "HOLD", 5);
        c.hold_at = None;
        let d = lot("WB", "QFN", "RUN", 99);
        let h = hold_overview(&[a.clone(), b.clone(), c.clone(), d]);
        assert_eq!(
            h.total,
            Tally {
                lots: 3,
                quantity: 45
            }
        );
        let reasons: Vec<_> = h
            .by_reason
            .iter()
            .map(|g| (g.key.as_str(), g.lots, g.quantity))
            .collect();
        assert_eq!(reasons, [("QC", 2, 40), (NO_REASON, 1, 5)]);
        let wcs: Vec<_> = h
            .by_workcenter
            .iter()
            .map(|g| (g.key.as_str(), g.quantity))
            .collect();
        assert_eq!(wcs, [("WB", 35), ("DB", 10)]);
        let order: Vec<_> = h.lots.iter().map(|l| l.lot_id.clone()).collect();
        assert_eq!(order, [b.lot_id, a.lot_id, c.lot_id]);
    }
}
