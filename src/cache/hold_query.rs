//! The hold APIs' answers, computed per request from a snapshot's indexes (no database call):
//! which held lots a request selects (hold type, reason, workcenter, days-at-station range and
//! the WIP filters), their figures (KPIs, by reason, workcenter, package and age), and their
//! order for the lot lists.
//!
//! Ages are measured against one instant per request (`now`, whole seconds), which the answer
//! gives back as `as_of`, so a reader can check every bucket against it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Serialize;

use super::aggregate::{NO_REASON, Tally};
use super::filter::{Matcher, WipFilter};
use super::lots::{Field, LotTable, Micros, NONE, Status};
use super::wip::WipSnapshot;
use crate::config::HoldType;

const DAY_MICROS: i64 = 86_400_000_000;

/// Days at the current station (PRODUCT §2): 0–1, 1–3, 3–7, 7+ days; each range holds its
/// lower bound, not its upper one (a lot of exactly 1 day is in 1–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeRange {
    UpTo1,
    UpTo3,
    UpTo7,
    Over7,
}

impl AgeRange {
    pub const ALL: [AgeRange; 4] = [Self::UpTo1, Self::UpTo3, Self::UpTo7, Self::Over7];

    /// As the `age_range` parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpTo1 => "0-1",
            Self::UpTo3 => "1-3",
            Self::UpTo7 => "3-7",
            Self::Over7 => "7+",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The range of an age in microseconds (a move-in in the future counts as age 0).
    pub fn of(age_micros: i64) -> Self {
        match age_micros {
            a if a < DAY_MICROS => Self::UpTo1,
            a if a < 3 * DAY_MICROS => Self::UpTo3,
            a if a < 7 * DAY_MICROS => Self::UpTo7,
            _ => Self::Over7,
        }
    }
}

/// How a reason filter matches: one reason as stored, or the holds entered without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReasonFilter {
    None,
    Named(String),
}

impl ReasonFilter {
    /// `(no reason)` selects the holds without one.
    pub fn parse(text: &str) -> Self {
        if text == NO_REASON {
            Self::None
        } else {
            Self::Named(text.to_string())
        }
    }
}

/// What a hold request selects. The WIP filter's status and hold type are ignored (held lots
/// only; the hold type is applied by [`HoldSelection::of_type`] so every answer can also count
/// both types).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoldFilter {
    pub wip: WipFilter,
    /// `None`: both types.
    pub hold_type: Option<HoldType>,
    pub reason: Option<ReasonFilter>,
    /// A workcenter id.
    pub workcenter: Option<String>,
    pub age: Option<AgeRange>,
}

/// The held lots a [`HoldFilter`] selects, before and after its hold type.
pub struct HoldSelection {
    /// Every hold type (for the segment's counts), ascending positions.
    pub any_type: Vec<u32>,
    /// Of the requested type, ascending positions.
    pub positions: Vec<u32>,
}

impl WipSnapshot {
    /// The held lots `filter` admits, ages measured at `now`: the same test as the lists'
    /// ([`WipSnapshot::held_page`]), over the held lots in position order.
    pub fn held(&self, filter: &HoldFilter, now: Micros) -> HoldSelection {
        let Some(mut test) = self.held_test(filter, now) else {
            return HoldSelection::empty();
        };
        // `any_type` ignores the hold type; `positions` are those of the type asked for.
        let non_quality = test.non_quality.take();
        let any_type: Vec<u32> = self.index.by_status[Status::Hold as usize]
            .iter()
            .copied()
            .filter(|&p| test.admits(p))
            .collect();
        let positions = match non_quality {
            None => any_type.clone(),
            Some(nq) => any_type
                .iter()
                .copied()
                .filter(|&p| self.table.lots[p as usize].non_quality == nq)
                .collect(),
        };
        HoldSelection {
            any_type,
            positions,
        }
    }
}

/// What a held-lot list admits, tested lot by lot while its order is walked: the hold type,
/// the reason and the days-at-station range, and — under WIP filters or a workcenter — the
/// lots those select (a bit per position).
struct HeldTest<'s> {
    table: &'s LotTable,
    now: Micros,
    non_quality: Option<bool>,
    reason: Option<u32>,
    age: Option<AgeRange>,
    among: Option<Vec<u64>>,
}

impl HeldTest<'_> {
    /// Whether every held lot passes (the order's length is then the count).
    fn admits_all(&self) -> bool {
        self.non_quality.is_none()
            && self.reason.is_none()
            && self.age.is_none()
            && self.among.is_none()
    }

    fn admits(&self, p: u32) -> bool {
        let lot = &self.table.lots[p as usize];
        self.non_quality.is_none_or(|nq| lot.non_quality == nq)
            && self
                .reason
                .is_none_or(|code| self.table.code(p, Field::HoldReason) == code)
            && self.age.is_none_or(|range| {
                age_of(lot.move_in_at, self.now).map(AgeRange::of) == Some(range)
            })
            && self
                .among
                .as_ref()
                .is_none_or(|bits| bits[p as usize / 64] & (1 << (p % 64)) != 0)
    }
}

/// One page of a held-lot list: how many lots the filter admits over every page, and the
/// page's positions in list order.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldPage {
    pub total: usize,
    pub positions: Vec<u32>,
}

/// Every held lot in each list order (13 keys × 2 directions), each built on its first
/// request and kept with the snapshot: the data changes rarely, the lists are read many times,
/// and sorting every held lot was most of a list's cost (a page needs only its own rows in
/// order; walking a ready order reaches them without a sort).
#[derive(Debug, Default)]
pub struct HoldOrders([OnceLock<Box<[u32]>>; 2 * HoldSortKey::ALL.len()]);

impl HoldOrders {
    /// Bytes held by the orders built so far.
    pub fn heap_bytes(&self) -> usize {
        self.0
            .iter()
            .filter_map(OnceLock::get)
            .map(|order| order.len() * 4)
            .sum()
    }
}

impl WipSnapshot {
    /// Every held lot in the order of `key` (see [`sort`]), built once per snapshot.
    pub fn hold_order(&self, key: HoldSortKey, descending: bool) -> &[u32] {
        let slot = key as usize * 2 + usize::from(descending);
        self.index.hold_orders.0[slot].get_or_init(|| {
            let mut all = self.index.by_status[Status::Hold as usize].clone();
            sort(
                &self.table,
                &self.index.step_rank,
                &mut all,
                key,
                descending,
            );
            all.into_boxed_slice()
        })
    }

    /// The test of the held lots `filter` admits at `now`; `None` when it admits none (an
    /// unknown workcenter or reason).
    fn held_test(&self, filter: &HoldFilter, now: Micros) -> Option<HeldTest<'_>> {
        let table = &self.table;
        let scope = match &filter.workcenter {
            None => None,
            Some(id) => Some(self.workcenter(id)?),
        };
        let reason = match &filter.reason {
            None => None,
            Some(ReasonFilter::None) => Some(NONE),
            Some(ReasonFilter::Named(r)) => Some(table.dict(Field::HoldReason).find(r)?),
        };
        let among = if filter.wip.is_empty() && scope.is_none() {
            None
        } else {
            let wip = WipFilter {
                statuses: vec![Status::Hold],
                hold_type: None,
                ..filter.wip.clone()
            };
            let mut bits = vec![0u64; table.len().div_ceil(64)];
            for p in Matcher::new(table, &self.index, &wip, scope).positions() {
                bits[p as usize / 64] |= 1 << (p % 64);
            }
            Some(bits)
        };
        Some(HeldTest {
            table,
            now,
            non_quality: filter.hold_type.map(|t| t == HoldType::NonQuality),
            reason,
            age: filter.age,
            among,
        })
    }

    /// A page of the held lots `filter` admits at `now`, in the order of `key`: the `take`
    /// lots after the first `skip`, and how many it admits in all. The same lots in the same
    /// order as [`WipSnapshot::held`]'s positions sorted by [`sort`], without a sort: one walk
    /// of the ready order (none at all when every held lot is admitted).
    pub fn held_page(
        &self,
        filter: &HoldFilter,
        now: Micros,
        key: HoldSortKey,
        descending: bool,
        skip: usize,
        take: usize,
    ) -> HeldPage {
        let Some(test) = self.held_test(filter, now) else {
            return HeldPage {
                total: 0,
                positions: Vec::new(),
            };
        };
        let order = self.hold_order(key, descending);
        if test.admits_all() {
            let start = skip.min(order.len());
            let end = start.saturating_add(take).min(order.len());
            return HeldPage {
                total: order.len(),
                positions: order[start..end].to_vec(),
            };
        }
        let mut positions = Vec::with_capacity(take.min(order.len()));
        let mut total = 0;
        for &p in order {
            if test.admits(p) {
                if total >= skip && positions.len() < take {
                    positions.push(p);
                }
                total += 1;
            }
        }
        HeldPage { total, positions }
    }

    /// Every held lot `filter` admits at `now`, in the order of `key` (for a CSV file).
    pub fn held_in_order(
        &self,
        filter: &HoldFilter,
        now: Micros,
        key: HoldSortKey,
        descending: bool,
    ) -> Vec<u32> {
        match self.held_test(filter, now) {
            None => Vec::new(),
            Some(test) => self
                .hold_order(key, descending)
                .iter()
                .copied()
                .filter(|&p| test.admits(p))
                .collect(),
        }
    }
}

impl HoldSelection {
    fn empty() -> Self {
        Self {
            any_type: Vec::new(),
            positions: Vec::new(),
        }
    }
}

/// Microseconds a lot has been at its station at `now` (0 for a move-in in the future);
/// `None` without a move-in time.
pub fn age_of(move_in: Micros, now: Micros) -> Option<i64> {
    (move_in != Micros::NONE).then(|| (now.0 - move_in.0).max(0))
}

/// Microseconds as days, for the answers.
pub fn days(micros: i64) -> f64 {
    micros as f64 / DAY_MICROS as f64
}

/// One group of held lots with its hold type (a reason) or its name (a workcenter).
#[derive(Debug, Serialize, PartialEq)]
pub struct Group<'a> {
    pub key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_type: Option<&'static str>,
    pub lots: u64,
    pub quantity: i64,
}

/// The figures of a set of held lots.
#[derive(Debug, Serialize, PartialEq)]
pub struct HoldFigures<'a> {
    pub total: Tally,
    /// Over the lots with a move-in time; `null` when none has one.
    pub average_age_days: Option<f64>,
    pub longest_age_days: Option<f64>,
    /// Workcenter groups with at least one of these lots.
    pub workcenter_groups: usize,
    /// Most lots first (then most quantity, then the reason).
    pub by_reason: Vec<Group<'a>>,
    /// In route order.
    pub by_workcenter: Vec<Group<'a>>,
    /// Reference packages' order, then the others.
    pub by_package: Vec<Group<'a>>,
    /// Every range, in order, empty ones included.
    pub by_age: Vec<Group<'a>>,
}

/// Aggregates the lots at `positions`.
pub fn figures<'a>(table: &'a LotTable, positions: &[u32], now: Micros) -> HoldFigures<'a> {
    let mut total = Tally::default();
    let mut reasons: BTreeMap<u32, (Tally, bool)> = BTreeMap::new();
    let mut workcenters = vec![Tally::default(); table.workcenters.len()];
    let mut packages: BTreeMap<u32, Tally> = BTreeMap::new();
    let mut ages = [Tally::default(); 4];
    let mut groups = vec![false; table.groups.len()];
    let (mut age_sum, mut aged, mut longest) = (0i128, 0i64, None::<i64>);
    for &p in positions {
        let lot = &table.lots[p as usize];
        total.add(lot.quantity);
        let entry = reasons.entry(table.code(p, Field::HoldReason)).or_default();
        entry.0.add(lot.quantity);
        entry.1 = lot.non_quality;
        workcenters[lot.workcenter as usize].add(lot.quantity);
        packages
            .entry(table.code(p, Field::Package))
            .or_default()
            .add(lot.quantity);
        if let Some(g) = table.workcenters[lot.workcenter as usize].group {
            groups[g as usize] = true;
        }
        if let Some(age) = age_of(lot.move_in_at, now) {
            ages[AgeRange::of(age) as usize].add(lot.quantity);
            age_sum += i128::from(age);
            aged += 1;
            longest = Some(longest.map_or(age, |l| l.max(age)));
        }
    }
    let reason_dict = table.dict(Field::HoldReason);
    let mut by_reason: Vec<Group<'a>> = reasons
        .into_iter()
        .map(|(code, (t, non_quality))| Group {
            key: reason_dict.get(code).unwrap_or(NO_REASON),
            name: None,
            hold_type: Some(type_name(non_quality)),
            lots: t.lots,
            quantity: t.quantity,
        })
        .collect();
    by_reason.sort_by(|a, b| {
        (b.lots, b.quantity)
            .cmp(&(a.lots, a.quantity))
            .then_with(|| a.key.cmp(b.key))
    });
    let by_workcenter = table
        .workcenters
        .iter()
        .zip(&workcenters)
        .filter(|(_, t)| t.lots > 0)
        .map(|(wc, t)| Group {
            key: &wc.workcenter_id,
            name: Some(&wc.name),
            hold_type: None,
            lots: t.lots,
            quantity: t.quantity,
        })
        .collect();
    let package_dict = table.dict(Field::Package);
    let mut by_package: Vec<Group<'a>> = Vec::with_capacity(packages.len());
    for info in &table.packages {
        if let Some(code) = package_dict.find(&info.package_id)
            && let Some(t) = packages.remove(&code)
        {
            by_package.push(package_group(package_dict.get(code), t));
        }
    }
    for (code, t) in packages {
        by_package.push(package_group(package_dict.get(code), t));
    }
    HoldFigures {
        total,
        average_age_days: (aged > 0).then(|| days((age_sum / i128::from(aged)) as i64)),
        longest_age_days: longest.map(days),
        workcenter_groups: groups.iter().filter(|g| **g).count(),
        by_reason,
        by_workcenter,
        by_package,
        by_age: AgeRange::ALL
            .iter()
            .map(|r| Group {
                key: r.as_str(),
                name: None,
                hold_type: None,
                lots: ages[*r as usize].lots,
                quantity: ages[*r as usize].quantity,
            })
            .collect(),
    }
}

fn package_group(package: Option<&str>, t: Tally) -> Group<'_> {
    Group {
        key: package.unwrap_or_default(),
        name: None,
        hold_type: None,
        lots: t.lots,
        quantity: t.quantity,
    }
}

/// `quality` or `non-quality`.
pub fn type_name(non_quality: bool) -> &'static str {
    if non_quality {
        HoldType::NonQuality.as_str()
    } else {
        HoldType::Quality.as_str()
    }
}

/// Lots and quantity per hold type of the lots at `positions`: (quality, non-quality).
pub fn by_type(table: &LotTable, positions: &[u32]) -> [Tally; 2] {
    let mut out = [Tally::default(); 2];
    for &p in positions {
        let lot = &table.lots[p as usize];
        out[usize::from(lot.non_quality)].add(lot.quantity);
    }
    out
}

/// The held-lot lists' sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldSortKey {
    LotId,
    WorkOrder,
    Quantity,
    Product,
    Package,
    Workcenter,
    Reason,
    Step,
    Age,
    HoldAt,
    HoldDuration,
    HoldBy,
    Department,
}

impl HoldSortKey {
    pub const ALL: [HoldSortKey; 13] = [
        Self::LotId,
        Self::WorkOrder,
        Self::Quantity,
        Self::Product,
        Self::Package,
        Self::Workcenter,
        Self::Reason,
        Self::Step,
        Self::Age,
        Self::HoldAt,
        Self::HoldDuration,
        Self::HoldBy,
        Self::Department,
    ];

    /// As the `sort` parameter spells it (the lot list's field names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LotId => "lot_id",
            Self::WorkOrder => "work_order",
            Self::Quantity => "quantity",
            Self::Product => "product",
            Self::Package => "package_id",
            Self::Workcenter => "workcenter_id",
            Self::Reason => "hold_reason",
            Self::Step => "step",
            Self::Age => "age_days",
            Self::HoldAt => "hold_at",
            Self::HoldDuration => "hold_duration_hours",
            Self::HoldBy => "hold_by",
            Self::Department => "hold_department",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Sorts positions (ascending, lot-id order on entry) by `key`; ties keep lot-id order in
/// either direction; a missing value (no time, no text) sorts last in either direction. The
/// order is total (the position breaks ties), so the order of any subset of held lots is the
/// one this gives every held lot, with the others left out ([`WipSnapshot::held_page`]).
pub fn sort(
    table: &LotTable,
    step_rank: &[u32],
    positions: &mut [u32],
    key: HoldSortKey,
    descending: bool,
) {
    if key == HoldSortKey::LotId {
        if descending {
            positions.reverse();
        }
        return;
    }
    let lots = &table.lots;
    // (missing, value): a missing value is never reversed.
    let value = |p: u32| -> (bool, i64) {
        let lot = &lots[p as usize];
        let code = |f: Field| {
            let c = table.code(p, f);
            (c == NONE, i64::from(c))
        };
        let time = |t: Micros| (t == Micros::NONE, t.0);
        match key {
            HoldSortKey::LotId => (false, i64::from(p)),
            HoldSortKey::WorkOrder => code(Field::WorkOrder),
            HoldSortKey::Quantity => (false, lot.quantity),
            HoldSortKey::Product => code(Field::Product),
            HoldSortKey::Package => code(Field::Package),
            HoldSortKey::Workcenter => (false, i64::from(lot.workcenter)),
            HoldSortKey::Reason => code(Field::HoldReason),
            HoldSortKey::Step => match table.code(p, Field::Step) {
                NONE => (true, 0),
                c => (false, i64::from(step_rank[c as usize])),
            },
            // An older move-in (or hold) is a longer age (or duration); `NONE` is i64::MIN,
            // whose plain negation overflows (a panic in a debug build).
            HoldSortKey::Age => (
                lot.move_in_at == Micros::NONE,
                lot.move_in_at.0.saturating_neg(),
            ),
            HoldSortKey::HoldAt => time(lot.hold_at),
            HoldSortKey::HoldDuration => {
                (lot.hold_at == Micros::NONE, lot.hold_at.0.saturating_neg())
            }
            HoldSortKey::HoldBy => code(Field::HoldBy),
            HoldSortKey::Department => code(Field::HoldDepartment),
        }
    };
    let mut keyed: Vec<((bool, i64), u32)> = positions
        .iter()
        .map(|&p| {
            let (missing, v) = value(p);
            (
                (missing, if descending { v.saturating_neg() } else { v }),
                p,
            )
        })
        .collect();
    keyed.sort_unstable();
    for (slot, (_, p)) in positions.iter_mut().zip(keyed) {
        *slot = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_range_holds_its_lower_bound_and_not_its_upper_one() {
        let d = DAY_MICROS;
        for (age, want) in [
            (0, "0-1"),
            (d - 1, "0-1"),
            (d, "1-3"),
            (3 * d - 1, "1-3"),
            (3 * d, "3-7"),
            (7 * d - 1, "3-7"),
            (7 * d, "7+"),
            (400 * d, "7+"),
        ] {
            assert_eq!(AgeRange::of(age).as_str(), want, "{age}");
        }
        assert_eq!(
            age_of(Micros(5), Micros(2)),
            Some(0),
            "a future move-in is age 0"
        );
        assert_eq!(age_of(Micros::NONE, Micros(2)), None);
        for r in AgeRange::ALL {
            assert_eq!(AgeRange::parse(r.as_str()), Some(r));
        }
        assert_eq!(AgeRange::parse("7"), None);
    }

    #[test]
    fn sort_keys_round_trip_and_no_reason_is_its_own_filter() {
        for k in HoldSortKey::ALL {
            assert_eq!(HoldSortKey::parse(k.as_str()), Some(k));
        }
        assert_eq!(ReasonFilter::parse(NO_REASON), ReasonFilter::None);
        assert_eq!(
            ReasonFilter::parse("QC"),
            ReasonFilter::Named("QC".to_string())
        );
    }
}
