//! Lots waiting at QC-GATE steps (PRODUCT §2): a step whose code contains both `QC` and
//! `GATE` (case-insensitive), the waiting time since the lot's move-in at it, in four buckets.
//!
//! The index is built once per WIP snapshot (the first request after a new snapshot builds it,
//! one walk of the lot table; [`QcGateMemo`] keeps it) and sorts each step's lots by move-in
//! time. Waiting grows while the data stands still, so buckets are never stored: a request
//! finds each bucket's bounds by binary search for `now` − 6 h, 12 h and 24 h, and takes
//! counts and quantities from prefix sums — O(steps × log lots) per summary, no walk.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use super::lots::{Field, LotTable, Micros};
use super::wip::WipSnapshot;
use crate::json::RowParts;

const HOUR: i64 = 3_600_000_000;

/// The waiting-time buckets, shortest wait first: `< 6 h`, `6–12 h`, `12–24 h`, `> 24 h`. A
/// wait of exactly 6 h is in `6to12h` (lower bounds included); a move-in in the future (clock
/// skew) counts as no wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bucket {
    #[serde(rename = "lt6h")]
    Lt6h,
    #[serde(rename = "6to12h")]
    H6to12,
    #[serde(rename = "12to24h")]
    H12to24,
    #[serde(rename = "gt24h")]
    Gt24h,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [Bucket::Lt6h, Bucket::H6to12, Bucket::H12to24, Bucket::Gt24h];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lt6h => "lt6h",
            Self::H6to12 => "6to12h",
            Self::H12to24 => "12to24h",
            Self::Gt24h => "gt24h",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == text)
    }

    /// The bucket of a wait of `micros`.
    pub fn of_wait(micros: i64) -> Self {
        match micros {
            m if m < 6 * HOUR => Self::Lt6h,
            m if m < 12 * HOUR => Self::H6to12,
            m if m < 24 * HOUR => Self::H12to24,
            _ => Self::Gt24h,
        }
    }

    /// Move-ins in `(after, upto]` wait this long at `now` (`after` = −∞ for the longest).
    fn move_in_range(self, now: i64) -> (Option<i64>, Option<i64>) {
        let at = |hours: i64| now - hours * HOUR;
        match self {
            Self::Gt24h => (None, Some(at(24))),
            Self::H12to24 => (Some(at(24)), Some(at(12))),
            Self::H6to12 => (Some(at(12)), Some(at(6))),
            Self::Lt6h => (Some(at(6)), None),
        }
    }
}

/// Whether `step` is a QC-GATE step.
pub fn is_qc_gate(step: &str) -> bool {
    let upper = step.to_ascii_uppercase();
    upper.contains("QC") && upper.contains("GATE")
}

/// Lots in move-in order with running sums: the lots of one step, or of all of them.
#[derive(Debug, Default)]
pub struct Waiting {
    /// Positions in the lot table, earliest move-in (longest wait) first; lots without a
    /// move-in time are not here (see `unknown`).
    pub lots: Vec<u32>,
    /// Move-in times (µs), parallel to `lots`, ascending.
    move_ins: Vec<i64>,
    /// `quantity_before[i]`: total quantity of `lots[..i]` (one more entry than `lots`).
    quantity_before: Vec<i64>,
    /// Lots at the step without a move-in time: no bucket; listed after the others.
    pub unknown: Vec<u32>,
    pub unknown_quantity: i64,
}

/// Lots and pieces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub lots: usize,
    pub quantity: i64,
}

impl Waiting {
    fn build(table: &LotTable, mut lots: Vec<u32>) -> Self {
        let mut unknown = Vec::new();
        lots.retain(|&p| {
            let known = table.lots[p as usize].move_in_at.is_some();
            if !known {
                unknown.push(p);
            }
            known
        });
        lots.sort_by_key(|&p| (table.lots[p as usize].move_in_at, p));
        let move_ins = lots
            .iter()
            .map(|&p| table.lots[p as usize].move_in_at.0)
            .collect();
        let mut quantity_before = Vec::with_capacity(lots.len() + 1);
        let mut sum = 0;
        quantity_before.push(0);
        for &p in &lots {
            sum += table.lots[p as usize].quantity;
            quantity_before.push(sum);
        }
        let unknown_quantity = unknown
            .iter()
            .map(|&p| table.lots[p as usize].quantity)
            .sum();
        Self {
            lots,
            move_ins,
            quantity_before,
            unknown,
            unknown_quantity,
        }
    }

    /// The index range of `lots` in `bucket` at `now` (µs).
    pub fn range(&self, bucket: Bucket, now: i64) -> std::ops::Range<usize> {
        let (after, upto) = bucket.move_in_range(now);
        let start = after.map_or(0, |a| self.move_ins.partition_point(|&m| m <= a));
        let end = upto.map_or(self.lots.len(), |u| {
            self.move_ins.partition_point(|&m| m <= u)
        });
        start..end.max(start)
    }

    pub fn count(&self, bucket: Bucket, now: i64) -> Count {
        let range = self.range(bucket, now);
        Count {
            lots: range.len(),
            quantity: self.quantity_before[range.end] - self.quantity_before[range.start],
        }
    }

    /// Every lot, with and without a move-in time.
    pub fn total(&self) -> Count {
        Count {
            lots: self.lots.len() + self.unknown.len(),
            quantity: self.quantity_before.last().copied().unwrap_or(0) + self.unknown_quantity,
        }
    }
}

/// One QC-GATE step of the route (or met only in lots), with its waiting lots.
#[derive(Debug)]
pub struct GateStep {
    pub workcenter_id: String,
    pub step: String,
    pub name: Option<String>,
    pub waiting: Waiting,
}

/// The QC-GATE steps of one snapshot in route order, and all their lots together.
#[derive(Debug)]
pub struct QcGateIndex {
    pub steps: Vec<GateStep>,
    pub all: Waiting,
    /// Every lot at a QC-GATE step, ascending: the order of `rows`.
    pub positions: Vec<u32>,
    /// The lot list's rows without the wait (see `routes::qc_gate`), written by its first
    /// request.
    pub rows: OnceLock<RowParts<1>>,
}

impl QcGateIndex {
    pub fn build(table: &LotTable) -> Self {
        // The route's QC-GATE steps first, in route order, then any met only in lots.
        let mut steps: Vec<(u16, String, Option<String>)> = Vec::new();
        for (w, wc) in table.workcenters.iter().enumerate() {
            for s in wc.steps.iter().filter(|s| is_qc_gate(&s.step)) {
                steps.push((w as u16, s.step.clone(), s.name.clone()));
            }
        }
        let mut place: HashMap<(u16, &str), usize> = steps
            .iter()
            .enumerate()
            .map(|(i, (w, s, _))| ((*w, s.as_str()), i))
            .collect();
        let step_dict = table.dict(Field::Step);
        let gate_codes: Vec<bool> = step_dict.iter().map(is_qc_gate).collect();
        let mut extra: Vec<(u16, String)> = Vec::new();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); steps.len()];
        let mut all = Vec::new();
        for (pos, lot) in table.lots.iter().enumerate() {
            let code = table.code(pos as u32, Field::Step);
            if !gate_codes.get(code as usize).copied().unwrap_or(false) {
                continue;
            }
            let step = step_dict.get(code).unwrap_or_default();
            let key = (lot.workcenter, step);
            let i = match place.get(&key) {
                Some(&i) => i,
                None => {
                    let i = members.len();
                    place.insert(key, i);
                    extra.push((lot.workcenter, step.to_string()));
                    members.push(Vec::new());
                    i
                }
            };
            members[i].push(pos as u32);
            all.push(pos as u32);
        }
        drop(place);
        let mut members = members.into_iter();
        let mut named: Vec<GateStep> = steps
            .into_iter()
            .map(|(w, step, name)| GateStep {
                workcenter_id: table.workcenters[w as usize].workcenter_id.clone(),
                step,
                name,
                waiting: Waiting::build(table, members.next().unwrap_or_default()),
            })
            .collect();
        // Steps met only in lots (not in the route table): after the route's, by workcenter
        // and code.
        let mut rest: Vec<(u16, GateStep)> = extra
            .into_iter()
            .zip(members)
            .map(|((w, step), lots)| {
                let gate = GateStep {
                    workcenter_id: table.workcenters[w as usize].workcenter_id.clone(),
                    step,
                    name: None,
                    waiting: Waiting::build(table, lots),
                };
                (w, gate)
            })
            .collect();
        rest.sort_by(|(wa, a), (wb, b)| (wa, &a.step).cmp(&(wb, &b.step)));
        named.extend(rest.into_iter().map(|(_, gate)| gate));
        Self {
            steps: named,
            positions: all.clone(),
            all: Waiting::build(table, all),
            rows: OnceLock::new(),
        }
    }
}

/// Count per bucket, in [`Bucket::ALL`] order when serialized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Buckets {
    pub lt6h: Count,
    #[serde(rename = "6to12h")]
    pub h6to12: Count,
    #[serde(rename = "12to24h")]
    pub h12to24: Count,
    pub gt24h: Count,
}

impl Buckets {
    pub fn of(waiting: &Waiting, now: i64) -> Self {
        Self {
            lt6h: waiting.count(Bucket::Lt6h, now),
            h6to12: waiting.count(Bucket::H6to12, now),
            h12to24: waiting.count(Bucket::H12to24, now),
            gt24h: waiting.count(Bucket::Gt24h, now),
        }
    }

    pub fn get(&self, bucket: Bucket) -> Count {
        match bucket {
            Bucket::Lt6h => self.lt6h,
            Bucket::H6to12 => self.h6to12,
            Bucket::H12to24 => self.h12to24,
            Bucket::Gt24h => self.gt24h,
        }
    }
}

/// One step's figures as `GET /api/qc-gate/summary` gives them.
#[derive(Debug, Serialize)]
pub struct StepFigures<'a> {
    pub workcenter_id: &'a str,
    pub step: &'a str,
    pub name: Option<&'a str>,
    pub lots: usize,
    pub quantity: i64,
    pub buckets: Buckets,
    /// Lots without a move-in time (in no bucket).
    pub no_move_in: Count,
}

impl<'a> StepFigures<'a> {
    fn of(
        workcenter_id: &'a str,
        step: &'a str,
        name: Option<&'a str>,
        waiting: &Waiting,
        now: i64,
    ) -> Self {
        let total = waiting.total();
        Self {
            workcenter_id,
            step,
            name,
            lots: total.lots,
            quantity: total.quantity,
            buckets: Buckets::of(waiting, now),
            no_move_in: Count {
                lots: waiting.unknown.len(),
                quantity: waiting.unknown_quantity,
            },
        }
    }
}

/// `GET /api/qc-gate/summary`: every QC-GATE step and all together, at `as_of`.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// The instant the waits were measured at.
    pub as_of: DateTime<Utc>,
    /// The bucket keys, shortest wait first.
    pub bucket_order: [&'static str; 4],
    pub total: StepFigures<'a>,
    pub steps: Vec<StepFigures<'a>>,
}

impl QcGateIndex {
    pub fn summary(&self, now: DateTime<Utc>) -> Summary<'_> {
        let at = now.timestamp_micros();
        Summary {
            as_of: now,
            bucket_order: Bucket::ALL.map(Bucket::as_str),
            total: StepFigures::of("", "", None, &self.all, at),
            steps: self
                .steps
                .iter()
                .map(|s| {
                    StepFigures::of(&s.workcenter_id, &s.step, s.name.as_deref(), &s.waiting, at)
                })
                .collect(),
        }
    }

    /// The step `step` (its code; the first workcenter's when several have it).
    pub fn step(&self, step: &str) -> Option<&GateStep> {
        self.steps.iter().find(|s| s.step == step)
    }
}

/// The lots of `waiting` in `bucket` (all when `None`: those without a move-in time last),
/// longest wait first.
pub fn select(
    waiting: &Waiting,
    bucket: Option<Bucket>,
    now: i64,
) -> impl Iterator<Item = u32> + '_ {
    let [lots, unknown] = selected(waiting, bucket, now);
    lots.iter().chain(unknown).copied()
}

/// [`select`] as the two slices it walks (lots with a move-in time, then those without), so a
/// page can count and skip without copying a position.
pub fn selected(waiting: &Waiting, bucket: Option<Bucket>, now: i64) -> [&[u32]; 2] {
    match bucket {
        Some(b) => [&waiting.lots[waiting.range(b, now)], &[]],
        None => [&waiting.lots, &waiting.unknown],
    }
}

/// The wait of a lot moved in at `move_in` (none without a move-in time), never negative.
pub fn wait_micros(move_in: Micros, now: i64) -> Option<i64> {
    move_in.is_some().then(|| (now - move_in.0).max(0))
}

/// The index of the snapshot last asked for, kept until the next snapshot is.
#[derive(Debug, Default)]
pub struct QcGateMemo {
    last: Mutex<Option<(Weak<WipSnapshot>, Arc<QcGateIndex>)>>,
}

impl QcGateMemo {
    pub fn get(&self, snapshot: &Arc<WipSnapshot>) -> Arc<QcGateIndex> {
        let mut last = self.last.lock();
        if let Some((of, index)) = last.as_ref()
            && std::ptr::eq(of.as_ptr(), Arc::as_ptr(snapshot))
        {
            return index.clone();
        }
        // Built under the lock: requests arriving meanwhile wait for this one build.
        let index = Arc::new(QcGateIndex::build(&snapshot.table));
        *last = Some((Arc::downgrade(snapshot), index.clone()));
        index
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::cache::lots::LotTableBuilder;
    use crate::db::lots::LotRecord;
    use crate::db::reference::{WorkcenterInfo, WorkcenterStep};

    fn lot(id: &str, step: &str, qty: i64, move_in: Option<DateTime<Utc>>) -> LotRecord {
        let now = Utc::now();
        LotRecord {
            quantity: qty,
            move_in_at: move_in,
            ..LotRecord::for_tests(id, "WB", step, "QUEUE", now)
        }
    }

    fn table(lots: Vec<LotRecord>) -> LotTable {
        let route = [WorkcenterInfo {
            workcenter_id: "WB".into(),
            name: "焊線".into(),
            sequence: 1,
            workcenter_group: None,
            group_sequence: None,
        }];
        let steps: Vec<WorkcenterStep> = ["WB-010", "WB-QC-GATE", "wb-final-qc-gate"]
            .iter()
            .enumerate()
            .map(|(i, s)| WorkcenterStep {
                workcenter_id: "WB".into(),
                step: (*s).into(),
                name: Some(format!("step {i}")),
                sequence: i as i64,
            })
            .collect();
        let mut builder = LotTableBuilder::new(&route, &steps, Vec::new());
        for l in lots {
            builder.push(l);
        }
        builder.finish()
    }

    #[test]
    fn qc_gate_steps_need_both_words_in_any_case() {
        assert!(is_qc_gate("WB-QC-GATE"));
        assert!(is_qc_gate("final_qc_gate"));
        assert!(is_qc_gate("GATE-qc"));
        assert!(!is_qc_gate("WB-QC"));
        assert!(!is_qc_gate("GATE-010"));
    }

    #[test]
    fn bucket_edges_include_their_lower_bound() {
        let h = HOUR;
        for (wait, want) in [
            (0, Bucket::Lt6h),
            (6 * h - 1, Bucket::Lt6h),
            (6 * h, Bucket::H6to12),
            (12 * h - 1, Bucket::H6to12),
            (12 * h, Bucket::H12to24),
            (24 * h - 1, Bucket::H12to24),
            (24 * h, Bucket::Gt24h),
            (900 * h, Bucket::Gt24h),
        ] {
            assert_eq!(Bucket::of_wait(wait), want, "{wait}");
        }
    }

    #[test]
    fn counts_by_bucket_match_the_waits_of_each_lot_at_any_instant() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // Waits right at and around each edge, one lot without a move-in, one elsewhere.
        let waits_min = [0, 359, 360, 361, 719, 720, 1439, 1440, 1441, 5000, -30];
        let mut lots: Vec<LotRecord> = waits_min
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let step = if i % 2 == 0 {
                    "WB-QC-GATE"
                } else {
                    "wb-final-qc-gate"
                };
                lot(
                    &format!("L{i:02}"),
                    step,
                    10 + i as i64,
                    Some(now - Duration::minutes(*m)),
                )
            })
            .collect();
        lots.push(lot("LX", "WB-QC-GATE", 7, None));
        lots.push(lot("LY", "WB-010", 99, Some(now - Duration::hours(30))));
        let table = table(lots);
        let index = QcGateIndex::build(&table);
        assert_eq!(
            index
                .steps
                .iter()
                .map(|s| s.step.as_str())
                .collect::<Vec<_>>(),
            ["WB-QC-GATE", "wb-final-qc-gate"]
        );
        for later_min in [0, 1, 359, 600, 3000] {
            let at = now + Duration::minutes(later_min);
            let micros = at.timestamp_micros();
            let summary = index.summary(at);
            for (figures, step) in summary
                .steps
                .iter()
                .map(|f| (f, Some(f.step)))
                .chain([(&summary.total, None)])
            {
                for bucket in Bucket::ALL {
                    // Computed here lot by lot.
                    let (mut lots, mut quantity) = (0, 0);
                    for pos in 0..table.len() as u32 {
                        let l = &table.lots[pos as usize];
                        let s = table.text(pos, Field::Step).unwrap();
                        let at_step = step.map_or(is_qc_gate(s), |want| want == s);
                        if at_step
                            && let Some(wait) = wait_micros(l.move_in_at, micros)
                            && Bucket::of_wait(wait) == bucket
                        {
                            lots += 1;
                            quantity += l.quantity;
                        }
                    }
                    assert_eq!(
                        figures.buckets.get(bucket),
                        Count { lots, quantity },
                        "{step:?} {bucket:?} at +{later_min} min"
                    );
                }
            }
            assert_eq!(summary.total.lots, waits_min.len() + 1);
            assert_eq!(
                summary.total.no_move_in,
                Count {
                    lots: 1,
                    quantity: 7
                }
            );
        }
        // At `now` itself, by hand: 0, 359 and the future one; 360, 361, 719; 720, 1439;
        // 1440, 1441, 5000.
        let summary = index.summary(now);
        let lots = |b: Bucket| summary.total.buckets.get(b).lots;
        assert_eq!(Bucket::ALL.map(lots), [3, 3, 2, 3]);
        // The list: longest wait first, the lot without a move-in last.
        let all: Vec<&str> = select(&index.all, None, now.timestamp_micros())
            .map(|p| table.lot_id(p))
            .collect();
        assert_eq!(all.first(), Some(&"L09"));
        assert_eq!(all.last(), Some(&"LX"));
        let gt24: Vec<&str> = select(&index.all, Some(Bucket::Gt24h), now.timestamp_micros())
            .map(|p| table.lot_id(p))
            .collect();
        assert_eq!(gt24, ["L09", "L08", "L07"]);
    }
}
