//! The WIP filters (work order, lot id, package, type, product, workflow, BOP, function,
//! workcenter group, status, hold type), evaluated against a snapshot's indexes.
//!
//! A filter is resolved once per request: each exact value is looked up in its dictionary (a
//! value no lot has matches nothing), a partial match is run once over the lower-cased
//! dictionary text. The lots to check then come from the smallest index list the filter allows
//! (a workcenter's lots, a value's posting list, a status's lots), so a filter that selects
//! few lots reads few.

use std::ops::ControlFlow;

use memchr::memmem;

use super::lots::{Field, LotTable, NONE, Status};
use super::wip_index::WipIndex;
use crate::config::HoldType;

/// The filter parameters of the WIP APIs, and the fields `meta/search` looks values up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    WorkOrder,
    LotId,
    Package,
    Type,
    Product,
    Workflow,
    Bop,
    Function,
    WorkcenterGroup,
}

impl FilterField {
    pub const ALL: [FilterField; 9] = [
        Self::WorkOrder,
        Self::LotId,
        Self::Package,
        Self::Type,
        Self::Product,
        Self::Workflow,
        Self::Bop,
        Self::Function,
        Self::WorkcenterGroup,
    ];

    /// The exact-match fields, in the order `meta/filter-options` lists them.
    pub const EXACT: [FilterField; 7] = [
        Self::Package,
        Self::Type,
        Self::Product,
        Self::Workflow,
        Self::Bop,
        Self::Function,
        Self::WorkcenterGroup,
    ];

    /// The query parameter's name.
    pub fn param(self) -> &'static str {
        match self {
            Self::WorkOrder => "workorder",
            Self::LotId => "lotid",
            Self::Package => "package",
            Self::Type => "type",
            Self::Product => "product",
            Self::Workflow => "workflow",
            Self::Bop => "bop",
            Self::Function => "function",
            Self::WorkcenterGroup => "workcenter_group",
        }
    }

    pub fn from_param(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.param() == name)
    }

    /// Matched as a case-insensitive substring (the others exactly).
    pub fn is_partial(self) -> bool {
        matches!(self, Self::WorkOrder | Self::LotId)
    }

    /// The lot column it reads (`None`: the lot id, the workcenter's group).
    pub fn column(self) -> Option<Field> {
        match self {
            Self::WorkOrder => Some(Field::WorkOrder),
            Self::Package => Some(Field::Package),
            Self::Type => Some(Field::LotType),
            Self::Product => Some(Field::Product),
            Self::Workflow => Some(Field::Workflow),
            Self::Bop => Some(Field::Bop),
            Self::Function => Some(Field::Function),
            Self::LotId | Self::WorkcenterGroup => None,
        }
    }
}

/// What a request filters on; empty lets every lot through.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WipFilter {
    /// Partial, case-insensitive.
    pub workorder: Option<String>,
    /// Partial, case-insensitive.
    pub lotid: Option<String>,
    /// Exact fields, each with the values it accepts (any of them).
    pub exact: Vec<(FilterField, Vec<String>)>,
    /// Any of these statuses (empty: any).
    pub statuses: Vec<Status>,
    /// Held lots of this hold type only.
    pub hold_type: Option<HoldType>,
}

impl WipFilter {
    pub fn is_empty(&self) -> bool {
        self.workorder.is_none()
            && self.lotid.is_none()
            && self.exact.is_empty()
            && self.statuses.is_empty()
            && self.hold_type.is_none()
    }

    /// The values given for an exact field.
    pub fn values(&self, field: FilterField) -> Option<&[String]> {
        self.exact
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_slice())
    }

    /// The same filter without one exact field (for that field's options).
    pub fn without(&self, field: FilterField) -> Self {
        let mut f = self.clone();
        f.exact.retain(|(x, _)| *x != field);
        f
    }

    /// The same filter without the status and hold type (the status cards count under the
    /// other filters, so each card shows what choosing it would give).
    pub fn without_status(&self) -> Self {
        Self {
            statuses: Vec::new(),
            hold_type: None,
            ..self.clone()
        }
    }

    /// Whether a lot's status and hold type pass this filter.
    pub fn admits_status(&self, status: Status, non_quality: bool) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&status))
            && self.hold_type.is_none_or(|t| {
                status == Status::Hold && non_quality == (t == HoldType::NonQuality)
            })
    }
}

/// Calls `each(value, is_prefix)` for every value of a dictionary containing `needle`
/// (lower-cased), in dictionary order, until it breaks. `lower` is the dictionary's text
/// lower-cased and `ends` its value ends.
///
/// One pass of a vectorized substring search over the whole text, rather than one search per
/// value: a hit is mapped to its value through `ends`, and a hit that straddles two values is
/// skipped (no later hit in that value could fit either).
pub fn scan_values(
    lower: &[u8],
    ends: &[u32],
    needle: &[u8],
    mut each: impl FnMut(u32, bool) -> ControlFlow<()>,
) {
    if needle.is_empty() {
        for v in 0..ends.len() as u32 {
            if each(v, true).is_break() {
                return;
            }
        }
        return;
    }
    let finder = memmem::Finder::new(needle);
    let (mut at, mut value) = (0usize, 0usize);
    while at < lower.len() {
        let Some(found) = finder.find(&lower[at..]) else {
            return;
        };
        let hit = at + found;
        while value < ends.len() && ends[value] as usize <= hit {
            value += 1;
        }
        let Some(&end) = ends.get(value) else { return };
        let start = if value == 0 {
            0
        } else {
            ends[value - 1] as usize
        };
        if hit + needle.len() <= end as usize && each(value as u32, hit == start).is_break() {
            return;
        }
        at = end as usize;
    }
}

/// A filter resolved against one snapshot.
pub struct Matcher<'s> {
    table: &'s LotTable,
    index: &'s WipIndex,
    /// Only this workcenter's lots (the detail API).
    scope: Option<u16>,
    /// Per work-order code: whether it matches.
    work_orders: Option<Vec<bool>>,
    /// The lot-id needle, lower-cased.
    lotid: Option<Vec<u8>>,
    /// Exact columns with the codes they accept.
    exact: Vec<(Field, Vec<u32>)>,
    /// Per workcenter: whether its group is accepted.
    workcenters: Option<Vec<bool>>,
    filter: &'s WipFilter,
    /// A filter value no lot has: nothing matches.
    nothing: bool,
}

impl<'s> Matcher<'s> {
    pub fn new(
        table: &'s LotTable,
        index: &'s WipIndex,
        filter: &'s WipFilter,
        scope: Option<u16>,
    ) -> Self {
        let mut nothing = false;
        let mut exact = Vec::new();
        let mut workcenters = None;
        for (field, values) in &filter.exact {
            if let Some(column) = field.column() {
                let dict = table.dict(column);
                let mut codes: Vec<u32> = values.iter().filter_map(|v| dict.find(v)).collect();
                codes.sort_unstable();
                codes.dedup();
                nothing |= codes.is_empty();
                exact.push((column, codes));
            } else {
                let groups: Vec<usize> = values
                    .iter()
                    .filter_map(|v| table.groups.iter().position(|g| g == v))
                    .collect();
                let accepted: Vec<bool> = table
                    .workcenters
                    .iter()
                    .map(|w| w.group.is_some_and(|g| groups.contains(&(g as usize))))
                    .collect();
                nothing |= !accepted.contains(&true);
                workcenters = Some(accepted);
            }
        }
        let work_orders = filter.workorder.as_ref().map(|needle| {
            let dict = table.dict(Field::WorkOrder);
            let mut accepted = vec![false; dict.len()];
            let lower = index.lower(Field::WorkOrder).unwrap_or_default();
            scan_values(lower, dict.ends(), &lower_bytes(needle), |v, _| {
                accepted[v as usize] = true;
                ControlFlow::Continue(())
            });
            nothing |= !accepted.contains(&true);
            accepted
        });
        Self {
            table,
            index,
            scope,
            work_orders,
            lotid: filter.lotid.as_deref().map(lower_bytes),
            exact,
            workcenters,
            filter,
            nothing,
        }
    }

    /// Whether the lot at `pos` passes every filter and the scope.
    fn admits(&self, pos: u32) -> bool {
        let lot = &self.table.lots[pos as usize];
        if self.scope.is_some_and(|wc| lot.workcenter != wc)
            || !self.filter.admits_status(lot.status, lot.non_quality)
        {
            return false;
        }
        if let Some(w) = &self.workcenters
            && !w[lot.workcenter as usize]
        {
            return false;
        }
        for (field, codes) in &self.exact {
            if !codes.contains(&self.table.code(pos, *field)) {
                return false;
            }
        }
        if let Some(w) = &self.work_orders {
            let code = self.table.code(pos, Field::WorkOrder);
            if code == NONE || !w[code as usize] {
                return false;
            }
        }
        if let Some(needle) = &self.lotid {
            let span = self.table.ids.span(pos);
            if memmem::find(&self.index.ids_lower[span], needle).is_none() {
                return false;
            }
        }
        true
    }

    /// The positions of every matching lot, ascending (lot-id order).
    pub fn positions(&self) -> Vec<u32> {
        if self.nothing {
            return Vec::new();
        }
        let lists: Vec<&[u32]>;
        if let (Some(needle), None) = (&self.lotid, self.scope) {
            // The lot ids are a dictionary whose codes are the positions: one scan finds them.
            let mut found = Vec::new();
            scan_values(
                &self.index.ids_lower,
                self.table.ids.ends(),
                needle,
                |v, _| {
                    found.push(v);
                    ControlFlow::Continue(())
                },
            );
            found.retain(|&p| self.admits(p));
            return found;
        } else {
            lists = self.narrowest();
        }
        // (Within a workcenter, the lot-id needle is checked per lot: a few thousand at most.)
        let mut out = Vec::new();
        match lists.as_slice() {
            [] => out.extend((0..self.table.len() as u32).filter(|&p| self.admits(p))),
            [one] => out.extend(one.iter().copied().filter(|&p| self.admits(p))),
            many => {
                out.extend(many.iter().flat_map(|l| l.iter().copied()));
                out.sort_unstable();
                out.retain(|&p| self.admits(p));
            }
        }
        out
    }

    /// The smallest union of index lists that holds every lot the filter (and scope) can admit
    /// (none: every lot).
    fn narrowest(&self) -> Vec<&'s [u32]> {
        let index = self.index;
        let mut options: Vec<Vec<&'s [u32]>> = Vec::new();
        if let Some(wc) = self.scope {
            options.push(vec![&index.workcenters[wc as usize].lots]);
        }
        for (field, codes) in &self.exact {
            if let Some(postings) = index.postings(*field) {
                options.push(codes.iter().map(|&c| postings.of(c)).collect());
            }
        }
        if let Some(w) = &self.workcenters {
            options.push(
                w.iter()
                    .enumerate()
                    .filter(|(_, ok)| **ok)
                    .map(|(i, _)| index.workcenters[i].lots.as_slice())
                    .collect(),
            );
        }
        if self.filter.hold_type.is_some() {
            options.push(vec![&index.by_status[Status::Hold as usize]]);
        } else if !self.filter.statuses.is_empty() {
            options.push(
                self.filter
                    .statuses
                    .iter()
                    .map(|s| index.by_status[*s as usize].as_slice())
                    .collect(),
            );
        }
        options
            .into_iter()
            .min_by_key(|lists| lists.iter().map(|l| l.len()).sum::<usize>())
            .unwrap_or_default()
    }
}

/// ASCII letters lower-cased (ids and codes are ASCII; other text is compared as stored).
pub fn lower_bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(values: &[&str]) -> (Vec<u8>, Vec<u32>) {
        let mut text = String::new();
        let mut ends = Vec::new();
        for v in values {
            text.push_str(v);
            ends.push(text.len() as u32);
        }
        (lower_bytes(&text), ends)
    }

    fn hits(values: &[&str], needle: &str) -> Vec<(u32, bool)> {
        let (lower, ends) = dict(values);
        let mut out = Vec::new();
        scan_values(&lower, &ends, &lower_bytes(needle), |v, prefix| {
            out.push((v, prefix));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn a_scan_finds_each_value_once_and_never_across_two() {
        // "xa|aab": the first hit straddles the boundary; the second value still matches.
        assert_eq!(hits(&["XA", "AAB"], "aa"), [(1, true)]);
        assert_eq!(
            hits(&["GA1", "ga12", "B1GA", "C"], "GA1"),
            [(0, true), (1, true)]
        );
        assert_eq!(hits(&["AB", "", "CAB"], "ab"), [(0, true), (2, false)]);
        assert_eq!(hits(&["A", "B"], ""), [(0, true), (1, true)]);
        assert!(hits(&["A", "B"], "ab").is_empty());
        assert!(hits(&[], "a").is_empty());
    }

    #[test]
    fn the_hold_type_admits_held_lots_of_that_type_only() {
        let f = WipFilter {
            hold_type: Some(HoldType::NonQuality),
            ..WipFilter::default()
        };
        assert!(f.admits_status(Status::Hold, true));
        assert!(!f.admits_status(Status::Hold, false));
        assert!(!f.admits_status(Status::Run, true));
        let f = WipFilter {
            statuses: vec![Status::Run, Status::Queue],
            ..WipFilter::default()
        };
        assert!(f.admits_status(Status::Queue, false));
        assert!(!f.admits_status(Status::Hold, false));
        assert!(f.without_status().is_empty());
    }
}
