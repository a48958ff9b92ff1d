//! Answers computed per request from a snapshot's indexes: filtered summary and matrix, the
//! values of each filter field, value suggestions, and the workcenter detail (cards, steps,
//! sorted positions). The unfiltered answers never come here: they are serialized once per
//! snapshot.

use std::ops::ControlFlow;

use serde::Serialize;

use super::aggregate::{Matrix, Summary, Tally, matrix, summarize};
use super::filter::{FilterField, Matcher, WipFilter, lower_bytes, scan_values};
use super::lots::{Field, Micros, NONE, Status};
use super::wip::WipSnapshot;
use crate::config::HoldType;

impl WipSnapshot {
    /// Positions of the lots passing `filter` (within one workcenter when `scope` is set),
    /// ascending.
    pub fn matching(&self, filter: &WipFilter, scope: Option<u16>) -> Vec<u32> {
        Matcher::new(&self.table, &self.index, filter, scope).positions()
    }

    pub fn filtered_summary(&self, filter: &WipFilter) -> Summary {
        summarize(&self.table, self.matching(filter, None).into_iter())
    }

    pub fn filtered_matrix(&self, filter: &WipFilter) -> Matrix {
        matrix(&self.table, self.matching(filter, None).into_iter())
    }

    /// The values of each filter field among the lots the other filters let through.
    pub fn filter_options(&self, filter: &WipFilter) -> FilterOptions<'_> {
        let table = &self.table;
        let base = self.matching(filter, None);
        // A field's own values are counted without its own filter (so every choice shows).
        let of = |field: FilterField| -> Vec<u32> {
            match filter.values(field) {
                Some(_) => self.matching(&filter.without(field), None),
                None => base.clone(),
            }
        };
        let mut fields = Vec::with_capacity(FilterField::EXACT.len());
        for field in FilterField::EXACT {
            let positions = of(field);
            let values = match field.column() {
                Some(column) => {
                    let dict = table.dict(column);
                    let mut counts = vec![0u64; dict.len()];
                    for &p in &positions {
                        let c = table.code(p, column);
                        if c != NONE {
                            counts[c as usize] += 1;
                        }
                    }
                    counted(dict.iter().zip(counts))
                }
                None => {
                    let mut counts = vec![0u64; table.groups.len()];
                    for &p in &positions {
                        if let Some(g) = table.workcenter_of(p).group {
                            counts[g as usize] += 1;
                        }
                    }
                    counted(table.groups.iter().map(String::as_str).zip(counts))
                }
            };
            fields.push((field.param(), values));
        }
        let statuses = if filter.statuses.is_empty() && filter.hold_type.is_none() {
            base
        } else {
            self.matching(&filter.without_status(), None)
        };
        let mut by_status = [0u64; 3];
        let mut by_type = [0u64; 2];
        for &p in &statuses {
            let lot = &table.lots[p as usize];
            by_status[lot.status as usize] += 1;
            if lot.held() {
                by_type[usize::from(lot.non_quality)] += 1;
            }
        }
        fields.push((
            "status",
            counted(
                Status::ALL
                    .iter()
                    .map(|s| (s.as_str(), by_status[*s as usize])),
            ),
        ));
        fields.push((
            "hold_type",
            counted([
                (HoldType::Quality.as_str(), by_type[0]),
                (HoldType::NonQuality.as_str(), by_type[1]),
            ]),
        ));
        FilterOptions { fields }
    }

    /// Values of `field` containing `q` (ASCII case-insensitive): those starting with it
    /// first, then the others, each in value order; at most `limit`.
    pub fn search(&self, field: FilterField, q: &str, limit: usize) -> Vec<&str> {
        let table = &self.table;
        let needle = lower_bytes(q);
        let mut prefix: Vec<u32> = Vec::new();
        let mut inner: Vec<u32> = Vec::new();
        let collect = |v: u32, is_prefix: bool| {
            if is_prefix {
                prefix.push(v);
                if prefix.len() >= limit {
                    return ControlFlow::Break(());
                }
            } else if inner.len() < limit {
                inner.push(v);
            }
            ControlFlow::Continue(())
        };
        let (group_lower, group_ends);
        let (lower, ends): (&[u8], &[u32]) = match field.column() {
            Some(column) => (
                self.index.lower(column).unwrap_or_default(),
                table.dict(column).ends(),
            ),
            None if field == FilterField::LotId => (&self.index.ids_lower, table.ids.ends()),
            None => {
                // A few groups, in route order: laid out here rather than kept.
                let mut text = Vec::new();
                let mut ends = Vec::with_capacity(table.groups.len());
                for g in &table.groups {
                    text.extend(lower_bytes(g));
                    ends.push(text.len() as u32);
                }
                (group_lower, group_ends) = (text, ends);
                (&group_lower, &group_ends)
            }
        };
        scan_values(lower, ends, &needle, collect);
        prefix
            .into_iter()
            .chain(inner)
            .take(limit)
            .map(|v| match field.column() {
                Some(column) => table.dict(column).get(v).unwrap_or_default(),
                None if field == FilterField::LotId => table.lot_id(v),
                None => table.groups[v as usize].as_str(),
            })
            .collect()
    }

    /// One workcenter's lots passing `filter`, sorted, with its status cards and step
    /// columns. Only the first `ordered` positions are put in order (a page needs the lots up
    /// to its end; a CSV export, `usize::MAX`, all of them); the others follow in no order.
    pub fn detail(
        &self,
        workcenter: u16,
        filter: &WipFilter,
        sort: Sort,
        ordered: usize,
    ) -> Detail {
        let table = &self.table;
        // The cards count under every filter but the status ones.
        let unstatused = self.matching(&filter.without_status(), Some(workcenter));
        let mut cards = Cards::default();
        let mut quantity = 0;
        let mut positions = Vec::with_capacity(unstatused.len());
        let steps = &table.workcenters[workcenter as usize].steps;
        let mut step_tallies = vec![Tally::default(); steps.len()];
        // The step code of each column: a workcenter has a few steps, so a lot's column is a
        // short scan of integers (not a string comparison per step of the plant).
        let step_dict = table.dict(Field::Step);
        let column_codes: Vec<u32> = steps
            .iter()
            .map(|s| step_dict.find(&s.step).unwrap_or(NONE))
            .collect();
        for p in unstatused {
            let lot = &table.lots[p as usize];
            cards.add(lot.status, lot.non_quality, lot.quantity);
            if filter.admits_status(lot.status, lot.non_quality) {
                positions.push(p);
                quantity += lot.quantity;
                let code = table.code(p, Field::Step);
                if let Some(column) = column_codes.iter().position(|&c| c == code && c != NONE) {
                    step_tallies[column].add(lot.quantity);
                }
            }
        }
        self.sort(&mut positions, sort, ordered);
        Detail {
            positions,
            quantity,
            cards,
            step_tallies,
        }
    }

    /// Sorts positions (ascending lot-id order on entry) by `sort`; ties keep lot-id order.
    /// Only the first `ordered` are guaranteed in place: the smallest are selected, then sorted.
    fn sort(&self, positions: &mut [u32], sort: Sort, ordered: usize) {
        let lots = &self.table.lots;
        let rank = &self.index.step_rank;
        let key = |p: &u32| -> i64 {
            let lot = &lots[*p as usize];
            let code = |f: Field| i64::from(self.table.code(*p, f));
            match sort.key {
                SortKey::LotId => i64::from(*p),
                SortKey::Quantity => lot.quantity,
                SortKey::Status => lot.status as i64,
                SortKey::Step => i64::from(rank[self.table.code(*p, Field::Step) as usize]),
                // Days at station: a later move-in is a younger lot; no move-in sorts last.
                SortKey::Age => match lot.move_in_at {
                    Micros::NONE => i64::MAX,
                    t => -t.0,
                },
                SortKey::MoveIn => match lot.move_in_at {
                    Micros::NONE => i64::MAX,
                    t => t.0,
                },
                SortKey::Product => code(Field::Product),
                SortKey::Package => code(Field::Package),
                SortKey::WorkOrder => code(Field::WorkOrder),
                SortKey::Type => code(Field::LotType),
                SortKey::Equipment => code(Field::Equipment),
                SortKey::Priority => i64::from(lot.priority),
            }
        };
        match (sort.key, sort.descending) {
            (SortKey::LotId, false) => {}
            (SortKey::LotId, true) => positions.reverse(),
            (_, descending) => {
                // Keys computed once; the position breaks ties, so the order is total (and
                // ties stay in lot-id order whichever the direction).
                let mut keyed: Vec<(i64, u32)> = positions
                    .iter()
                    .map(|p| {
                        let k = key(p);
                        (if descending { k.saturating_neg() } else { k }, *p)
                    })
                    .collect();
                if ordered < keyed.len() {
                    // The order is total (the position breaks ties): the first `ordered`
                    // are the same as after a full sort.
                    keyed.select_nth_unstable(ordered);
                    keyed[..ordered].sort_unstable();
                } else {
                    keyed.sort_unstable();
                }
                for (slot, (_, p)) in positions.iter_mut().zip(keyed) {
                    *slot = p;
                }
            }
        }
    }
}

/// Values with their lot counts, zero counts left out.
fn counted<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<FacetValue<'a>> {
    values
        .into_iter()
        .filter(|(_, lots)| *lots > 0)
        .map(|(value, lots)| FacetValue { value, lots })
        .collect()
}

#[derive(Debug, Serialize, PartialEq)]
pub struct FacetValue<'a> {
    pub value: &'a str,
    pub lots: u64,
}

/// `GET /api/wip/meta/filter-options`: per field, the values present and how many lots have
/// each.
#[derive(Debug, PartialEq)]
pub struct FilterOptions<'a> {
    pub fields: Vec<(&'static str, Vec<FacetValue<'a>>)>,
}

impl Serialize for FilterOptions<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (name, values) in &self.fields {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

/// The detail's status cards: RUN, QUEUE, quality hold, non-quality hold.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq)]
pub struct Cards {
    pub run: Tally,
    pub queue: Tally,
    pub quality_hold: Tally,
    pub non_quality_hold: Tally,
}

impl Cards {
    fn add(&mut self, status: Status, non_quality: bool, quantity: i64) {
        match (status, non_quality) {
            (Status::Run, _) => self.run.add(quantity),
            (Status::Queue, _) => self.queue.add(quantity),
            (Status::Hold, false) => self.quality_hold.add(quantity),
            (Status::Hold, true) => self.non_quality_hold.add(quantity),
        }
    }
}

/// A workcenter's matching lots, sorted, with its cards and per-step tallies (parallel to the
/// workcenter's steps).
#[derive(Debug)]
pub struct Detail {
    pub positions: Vec<u32>,
    /// The matching lots' quantity.
    pub quantity: i64,
    pub cards: Cards,
    pub step_tallies: Vec<Tally>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    LotId,
    Quantity,
    Status,
    Step,
    Age,
    MoveIn,
    Product,
    Package,
    WorkOrder,
    Type,
    Equipment,
    Priority,
}

impl SortKey {
    pub const ALL: [SortKey; 12] = [
        Self::LotId,
        Self::Quantity,
        Self::Status,
        Self::Step,
        Self::Age,
        Self::MoveIn,
        Self::Product,
        Self::Package,
        Self::WorkOrder,
        Self::Type,
        Self::Equipment,
        Self::Priority,
    ];

    /// As the `sort` parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LotId => "lot_id",
            Self::Quantity => "quantity",
            Self::Status => "status",
            Self::Step => "step",
            Self::Age => "age",
            Self::MoveIn => "move_in_at",
            Self::Product => "product",
            Self::Package => "package",
            Self::WorkOrder => "workorder",
            Self::Type => "type",
            Self::Equipment => "equipment",
            Self::Priority => "priority",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            key: SortKey::LotId,
            descending: false,
        }
    }
}
