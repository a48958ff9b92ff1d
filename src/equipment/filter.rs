//! The filters of the resource status APIs and the indexes that answer them without a scan.
//!
//! Built once with each snapshot: for every value of every attribute (workcenter group,
//! location, family, package group, the three flags), for every workcenter and every E10
//! state, the set of tools holding it, one bit per tool in the snapshot's order. A filter is
//! then a few dozen word-wise ORs (values of one field) and ANDs (fields) over 32 words for
//! 2 000 tools: well under a microsecond, whatever the fleet's size within reason. The tool
//! field needs no set of its own: the snapshot's id index gives the bit.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::snapshot::{E10_STATES, ToolStatus};

/// The attributes a request may filter on, in the order the options answer lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    WorkcenterGroup,
    Location,
    Family,
    Tool,
    PackageGroup,
    Production,
    Key,
    Monitored,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::WorkcenterGroup,
        Field::Location,
        Field::Family,
        Field::Tool,
        Field::PackageGroup,
        Field::Production,
        Field::Key,
        Field::Monitored,
    ];

    /// The query parameter.
    pub fn name(self) -> &'static str {
        match self {
            Field::WorkcenterGroup => "workcenter_group",
            Field::Location => "location",
            Field::Family => "family",
            Field::Tool => "tool",
            Field::PackageGroup => "package_group",
            Field::Production => "production",
            Field::Key => "key",
            Field::Monitored => "monitored",
        }
    }

    /// A yes/no flag: its values are `true` and `false`.
    pub fn is_flag(self) -> bool {
        matches!(self, Field::Production | Field::Key | Field::Monitored)
    }

    fn position(self) -> usize {
        Field::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    /// The tool's value of this field; `None` for an attribute the tool lacks.
    pub fn value(self, tool: &ToolStatus) -> Option<&str> {
        let flag = |b: bool| Some(if b { "true" } else { "false" });
        match self {
            Field::WorkcenterGroup => tool.workcenter_group.as_deref(),
            Field::Location => tool.location.as_deref(),
            Field::Family => tool.family.as_deref(),
            Field::Tool => Some(tool.equipment_id.as_str()),
            Field::PackageGroup => tool.package_group.as_deref(),
            Field::Production => flag(tool.production),
            Field::Key => flag(tool.key),
            Field::Monitored => flag(tool.monitored),
        }
    }
}

/// What a status request filters on (validated by the route). Empty lists admit everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFilter {
    pub workcenter: Option<String>,
    /// E10 states.
    pub states: Vec<String>,
    /// Each field given, with the values it admits (flags: `true` / `false`).
    pub fields: Vec<(Field, Vec<String>)>,
}

impl StatusFilter {
    pub fn is_empty(&self) -> bool {
        self.workcenter.is_none() && self.states.is_empty() && self.fields.is_empty()
    }

    /// The filter on `field` alone, if any.
    pub fn values(&self, field: Field) -> Option<&[String]> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_slice())
    }

    /// One tool, without the indexes (a test's independent check, and single-tool paths).
    pub fn admits(&self, tool: &ToolStatus) -> bool {
        self.workcenter
            .as_ref()
            .is_none_or(|w| *w == tool.workcenter_id)
            && (self.states.is_empty() || self.states.contains(&tool.e10_state))
            && self.fields.iter().all(|(field, values)| {
                field
                    .value(tool)
                    .is_some_and(|v| values.iter().any(|x| x == v))
            })
    }
}

/// A set of tools of one snapshot: bit `i` is the snapshot's tool `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSet {
    words: Vec<u64>,
    len: usize,
}

impl ToolSet {
    pub fn empty(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn full(len: usize) -> Self {
        let mut set = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        if let Some(last) = set.words.last_mut()
            && !len.is_multiple_of(64)
        {
            *last = (1u64 << (len % 64)) - 1;
        }
        set
    }

    pub fn insert(&mut self, i: usize) {
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    fn and(&mut self, other: &ToolSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    fn or(&mut self, other: &ToolSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Does it share a tool with `other`?
    fn meets(&self, other: &ToolSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }

    /// The tools in snapshot order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let bit = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

/// The values of one field, in the order they first appear in the snapshot (route order),
/// each with its tools.
#[derive(Debug, Default)]
struct FieldIndex {
    values: Vec<(Arc<str>, ToolSet)>,
    by_value: HashMap<Arc<str>, usize>,
}

impl FieldIndex {
    fn add(&mut self, value: &str, tool: usize, len: usize) {
        let i = match self.by_value.get(value) {
            Some(i) => *i,
            None => {
                let value: Arc<str> = Arc::from(value);
                self.values.push((value.clone(), ToolSet::empty(len)));
                self.by_value.insert(value, self.values.len() - 1);
                self.values.len() - 1
            }
        };
        self.values[i].1.insert(tool);
    }

    fn set(&self, value: &str) -> Option<&ToolSet> {
        self.by_value.get(value).map(|i| &self.values[*i].1)
    }
}

/// The indexes of one snapshot.
#[derive(Debug, Default)]
pub struct Indexes {
    len: usize,
    /// Per field of [`Field::ALL`]; the tool field's stays empty (the snapshot's id index).
    fields: Vec<FieldIndex>,
    workcenters: FieldIndex,
    states: Vec<ToolSet>,
    ids: HashMap<String, usize>,
}

/// One value of a field in the options answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OptionValue<'a> {
    pub value: &'a str,
    /// Tools with it among those the other filters admit.
    pub tools: usize,
}

impl Indexes {
    pub fn build(tools: &[ToolStatus]) -> Self {
        let len = tools.len();
        let mut fields: Vec<FieldIndex> =
            Field::ALL.iter().map(|_| FieldIndex::default()).collect();
        let mut workcenters = FieldIndex::default();
        let mut states = vec![ToolSet::empty(len); E10_STATES.len()];
        let mut ids = HashMap::with_capacity(len);
        for (i, tool) in tools.iter().enumerate() {
            for field in Field::ALL {
                if field == Field::Tool {
                    continue;
                }
                if let Some(value) = field.value(tool) {
                    fields[field.position()].add(value, i, len);
                }
            }
            workcenters.add(&tool.workcenter_id, i, len);
            if let Some(s) = E10_STATES.iter().position(|s| *s == tool.e10_state) {
                states[s].insert(i);
            }
            ids.insert(tool.equipment_id.clone(), i);
        }
        Self {
            len,
            fields,
            workcenters,
            states,
            ids,
        }
    }

    /// The position of a tool in the snapshot.
    pub fn position(&self, equipment_id: &str) -> Option<usize> {
        self.ids.get(equipment_id).copied()
    }

    /// The tools that have one of `values` of `field`.
    fn any_of(&self, field: Field, values: &[String]) -> ToolSet {
        let mut set = ToolSet::empty(self.len);
        for value in values {
            if field == Field::Tool {
                if let Some(i) = self.ids.get(value) {
                    set.insert(*i);
                }
            } else if let Some(tools) = self.fields[field.position()].set(value) {
                set.or(tools);
            }
        }
        set
    }

    /// The tools `filter` admits, leaving out its condition on `except`.
    fn select_except(&self, filter: &StatusFilter, except: Option<Field>) -> ToolSet {
        let mut set = ToolSet::full(self.len);
        if let Some(wc) = &filter.workcenter {
            match self.workcenters.set(wc) {
                Some(tools) => set.and(tools),
                None => return ToolSet::empty(self.len),
            }
        }
        if !filter.states.is_empty() {
            let mut any = ToolSet::empty(self.len);
            for state in &filter.states {
                if let Some(s) = E10_STATES.iter().position(|s| s == state) {
                    any.or(&self.states[s]);
                }
            }
            set.and(&any);
        }
        for (field, values) in &filter.fields {
            if Some(*field) != except {
                set.and(&self.any_of(*field, values));
            }
        }
        set
    }

    /// The tools `filter` admits.
    pub fn select(&self, filter: &StatusFilter) -> ToolSet {
        self.select_except(filter, None)
    }

    /// For each field, the values the tools admitted by the *other* conditions have (so a
    /// selection can be widened as well as narrowed), with their tool counts. The tool field
    /// lists tool ids in snapshot order.
    pub fn options<'a>(
        &'a self,
        tools: &'a [ToolStatus],
        filter: &StatusFilter,
    ) -> Vec<(Field, Vec<OptionValue<'a>>)> {
        Field::ALL
            .iter()
            .map(|&field| {
                let admitted = self.select_except(filter, Some(field));
                let values = if field == Field::Tool {
                    admitted
                        .iter()
                        .map(|i| OptionValue {
                            value: tools[i].equipment_id.as_str(),
                            tools: 1,
                        })
                        .collect()
                } else {
                    self.fields[field.position()]
                        .values
                        .iter()
                        .filter(|(_, set)| set.meets(&admitted))
                        .map(|(value, set)| OptionValue {
                            value,
                            tools: set
                                .words
                                .iter()
                                .zip(&admitted.words)
                                .map(|(a, b)| (a & b).count_ones() as usize)
                                .sum(),
                        })
                        .collect()
                };
                (field, values)
            })
            .collect()
    }
}
