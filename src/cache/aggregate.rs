//! The aggregates the WIP APIs serve, computed once per refresh from every lot in process.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lots::{Field, LotTable, Status};
use crate::json::RawJson;

/// The statuses a lot in process can have, in report order.
pub const STATUSES: [&str; 3] = ["RUN", "QUEUE", "HOLD"];

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
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
    /// The held lots split by type (`NON_QUALITY_HOLD_REASONS`): `quality`, `non-quality`.
    pub by_hold_type: BTreeMap<&'static str, Tally>,
    /// Lots with priority 1 (hot lots).
    pub hot_lots: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct MatrixRow {
    pub workcenter: String,
    pub name: String,
    pub cells: BTreeMap<String, Tally>,
    pub total: Tally,
}

/// Deserializable too: the pages read the snapshot's ready matrix back rather than recount.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Matrix {
    pub packages: Vec<String>,
    pub rows: Vec<MatrixRow>,
    pub package_totals: BTreeMap<String, Tally>,
    pub total: Tally,
}

/// Aggregates the lots at `positions` into the summary answer.
pub fn summarize(table: &LotTable, positions: impl Iterator<Item = u32>) -> Summary {
    let mut by_status = [Tally::default(); 3];
    let mut by_hold_type = [Tally::default(); 2];
    let mut total = Tally::default();
    let mut hot_lots = 0;
    for pos in positions {
        let lot = &table.lots[pos as usize];
        total.add(lot.quantity);
        by_status[lot.status as usize].add(lot.quantity);
        if lot.held() {
            by_hold_type[usize::from(lot.non_quality)].add(lot.quantity);
        }
        if lot.priority == 1 {
            hot_lots += 1;
        }
    }
    Summary {
        total,
        by_status: Status::ALL
            .iter()
            .map(|s| (s.as_str(), by_status[*s as usize]))
            .collect(),
        by_hold_type: [
            ("quality", by_hold_type[0]),
            ("non-quality", by_hold_type[1]),
        ]
        .into_iter()
        .collect(),
        hot_lots,
    }
}

/// Aggregates the lots at `positions` into the workcenter × package matrix: a row for every
/// workcenter in route order, the reference packages' columns then any other met in lots.
pub fn matrix(table: &LotTable, positions: impl Iterator<Item = u32>) -> Matrix {
    let package_dict = table.dict(Field::Package);
    let package_codes = table.column(Field::Package);
    let columns = package_dict.len();
    let mut cells = vec![Tally::default(); table.workcenters.len() * columns];
    let mut rows: Vec<Tally> = vec![Tally::default(); table.workcenters.len()];
    let mut by_package = vec![Tally::default(); columns];
    let mut total = Tally::default();
    for pos in positions {
        let lot = &table.lots[pos as usize];
        let (w, p) = (
            lot.workcenter as usize,
            package_codes.get(pos as usize) as usize,
        );
        cells[w * columns + p].add(lot.quantity);
        rows[w].add(lot.quantity);
        by_package[p].add(lot.quantity);
        total.add(lot.quantity);
    }
    let named = |tallies: &[Tally]| -> BTreeMap<String, Tally> {
        tallies
            .iter()
            .enumerate()
            .filter(|(_, t)| t.lots > 0)
            .map(|(p, t)| {
                (
                    package_dict.get(p as u32).unwrap_or_default().to_string(),
                    *t,
                )
            })
            .collect()
    };
    let mut packages: Vec<String> = table
        .packages
        .iter()
        .map(|p| p.package_id.clone())
        .collect();
    for p in package_dict.iter() {
        if !packages.iter().any(|x| x == p) {
            packages.push(p.to_string());
        }
    }
    Matrix {
        packages,
        rows: table
            .workcenters
            .iter()
            .enumerate()
            .map(|(w, wc)| MatrixRow {
                workcenter: wc.workcenter_id.clone(),
                name: wc.name.clone(),
                cells: named(&cells[w * columns..(w + 1) * columns]),
                total: rows[w],
            })
            .collect(),
        package_totals: named(&by_package),
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

/// Aggregates the lots on hold; `held` are their positions, oldest hold first.
pub fn hold_overview(table: &LotTable, held: &[u32]) -> HoldOverview {
    let mut total = Tally::default();
    let mut by_reason: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_workcenter: BTreeMap<&str, Tally> = BTreeMap::new();
    for &pos in held {
        let lot = &table.lots[pos as usize];
        total.add(lot.quantity);
        by_reason
            .entry(table.text(pos, Field::HoldReason).unwrap_or(NO_REASON))
            .or_default()
            .add(lot.quantity);
        by_workcenter
            .entry(table.workcenter_of(pos).workcenter_id.as_str())
            .or_default()
            .add(lot.quantity);
    }
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
            .iter()
            .take(MAX_HELD_LOTS_LISTED)
            .map(|&pos| {
                let lot = &table.lots[pos as usize];
                let text = |f| table.text(pos, f).map(str::to_string);
                HeldLot {
                    lot_id: table.lot_id(pos).to_string(),
                    product: text(Field::Product).unwrap_or_default(),
                    workcenter_id: table.workcenter_of(pos).workcenter_id.clone(),
                    quantity: lot.quantity,
                    hold_reason: text(Field::HoldReason),
                    hold_at: lot.hold_at.get(),
                    hold_since: lot
                        .hold_at
                        .get()
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
                    hold_by: text(Field::HoldBy),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::lots::LotTableBuilder;
    use crate::cache::wip_index::WipIndex;
    use crate::db::lots::LotRecord;
    use crate::db::reference::{PackageInfo, WorkcenterInfo};

    fn lot(wc: &str, pkg: &str, status: &str, qty: i64) -> LotRecord {
        let now = chrono::Utc::now();
        LotRecord {
            package_id: pkg.into(),
            quantity: qty,
            ..LotRecord::for_tests(&format!("L{wc}{pkg}{status}{qty}"), wc, "S", status, now)
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

    fn table(lots: Vec<LotRecord>, route: &[WorkcenterInfo], packages: &[&str]) -> LotTable {
        let packages = packages
            .iter()
            .map(|p| PackageInfo {
                package_id: p.to_string(),
                family: "F".into(),
            })
            .collect();
        let mut b = LotTableBuilder::new(route, &[], packages);
        for l in lots {
            b.push(l);
        }
        b.finish()
    }

    fn all(t: &LotTable) -> impl Iterator<Item = u32> {
        0..t.len() as u32
    }

    #[test]
    fn summary_counts_lots_and_quantity_by_status_and_hold_type() {
        let mut t = table(
            vec![
                lot("DB", "QFN", "RUN", 100),
                lot("DB", "QFN", "HOLD", 50),
                lot("DB", "SOP", "HOLD", 7),
                lot("WB", "SOP", "QUEUE", 25),
                lot("WB", "SOP", "QUEUE", 5),
            ],
            &[],
            &[],
        );
        let held = t.position("LDBSOPHOLD7").unwrap();
        t.lots[held as usize].non_quality = true;
        let s = summarize(&t, all(&t));
        assert_eq!(
            s.total,
            Tally {
                lots: 5,
                quantity: 187
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
                lots: 2,
                quantity: 57
            }
        );
        assert_eq!(
            s.by_hold_type["quality"],
            Tally {
                lots: 1,
                quantity: 50
            }
        );
        assert_eq!(
            s.by_hold_type["non-quality"],
            Tally {
                lots: 1,
                quantity: 7
            }
        );
    }

    #[test]
    fn matrix_keeps_route_order_and_counts_unknown_workcenters() {
        let t = table(
            vec![
                lot("WB", "SOP", "RUN", 10),
                lot("DB", "QFN", "RUN", 7),
                lot("XX", "QFN", "QUEUE", 1),
            ],
            &[wc("DB", 1), wc("WB", 2)],
            &["SOP", "QFN", "BGA"],
        );
        let m = matrix(&t, all(&t));
        let order: Vec<_> = m.rows.iter().map(|r| r.workcenter.as_str()).collect();
        assert_eq!(order, ["DB", "WB", "XX"]);
        assert_eq!(m.packages, ["SOP", "QFN", "BGA"]);
        assert_eq!(
            m.rows[1].cells["SOP"],
            Tally {
                lots: 1,
                quantity: 10
            }
        );
        assert!(!m.rows[1].cells.contains_key("QFN"));
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
        let only_db = matrix(&t, std::iter::once(t.position("LDBQFNRUN7").unwrap()));
        assert_eq!(only_db.rows.len(), 3, "every row, empty ones too");
        assert_eq!(
            only_db.total,
            Tally {
                lots: 1,
                quantity: 7
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
        let ids = [b.lot_id.clone(), a.lot_id.clone(), c.lot_id.clone()];
        let t = table(vec![a, b, c, d], &[], &[]);
        let index = WipIndex::build(&t);
        let h = hold_overview(&t, &index.held);
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
        assert_eq!(order, ids);
    }
}
