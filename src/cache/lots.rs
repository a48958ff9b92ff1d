//! Every lot in process as a compact table: each text column interned into its own sorted
//! dictionary (the table holds one column of codes per field, each as narrow as its
//! dictionary allows), times as microseconds, the status as one byte.
//!
//! Why: the same few hundred products, packages, steps and reasons repeat over every lot, and
//! a row of owned strings costs ~600 bytes where this costs ~85 (56 for the numbers, a byte or
//! two for most codes); with 200 000 lots that is the difference between a worker of 140 MiB
//! and one under 60. Codes are ranks in sorted dictionaries, so comparing two codes compares
//! their texts (sorting needs no string comparison), and a filter value is looked up once per
//! request, then compared as a number.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use chrono::{DateTime, Utc};

use crate::db::lots::{LotRecord, LotRow, wip_status};
use crate::db::reference::{PackageInfo, WorkcenterInfo, WorkcenterStep};

/// The text columns of a lot other than its id, each held as codes into its own dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Product,
    Package,
    Step,
    Equipment,
    HoldReason,
    HoldBy,
    HoldDepartment,
    HoldComment,
    FutureHoldComment,
    WorkOrder,
    LotType,
    Bop,
    Workflow,
    Function,
    WaferLot,
}

impl Field {
    pub const COUNT: usize = 15;
    pub const ALL: [Field; Self::COUNT] = [
        Field::Product,
        Field::Package,
        Field::Step,
        Field::Equipment,
        Field::HoldReason,
        Field::HoldBy,
        Field::HoldDepartment,
        Field::HoldComment,
        Field::FutureHoldComment,
        Field::WorkOrder,
        Field::LotType,
        Field::Bop,
        Field::Workflow,
        Field::Function,
        Field::WaferLot,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The code of an absent (null) value.
pub const NONE: u32 = u32::MAX;

/// Distinct strings in sorted order, in one buffer: a value's code is its rank.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Dict {
    text: String,
    /// `ends[i]` is where value `i` ends in `text` (it starts where the previous one ends).
    ends: Vec<u32>,
}

impl Dict {
    /// From values already sorted and distinct.
    pub fn from_sorted<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut dict = Self::default();
        for v in values {
            dict.text.push_str(v);
            dict.ends
                .push(u32::try_from(dict.text.len()).unwrap_or(u32::MAX));
        }
        dict.text.shrink_to_fit();
        dict.ends.shrink_to_fit();
        dict
    }

    /// From its two parts, as the wire form carries them; `None` when they disagree.
    pub fn from_parts(text: String, ends: Vec<u32>) -> Option<Self> {
        let mut start = 0;
        for &end in &ends {
            if end < start || end as usize > text.len() || !text.is_char_boundary(end as usize) {
                return None;
            }
            start = end;
        }
        Some(Self { text, ends })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn ends(&self) -> &[u32] {
        &self.ends
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Where value `code` lies in [`Self::text`].
    pub fn span(&self, code: u32) -> std::ops::Range<usize> {
        let i = code as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        start..self.ends[i] as usize
    }

    /// The value of `code`; `None` for [`NONE`] (or a code out of range).
    pub fn get(&self, code: u32) -> Option<&str> {
        if (code as usize) < self.ends.len() {
            Some(&self.text[self.span(code)])
        } else {
            None
        }
    }

    /// The code of `value`, if any lot has it.
    pub fn find(&self, value: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.ends.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.text[self.span(mid as u32)].cmp(value) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len() as u32).map(|c| &self.text[self.span(c)])
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }
}

/// A lot's WIP status (PRODUCT §2), in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Run = 0,
    Queue = 1,
    Hold = 2,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Run, Status::Queue, Status::Hold];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "RUN",
            Self::Queue => "QUEUE",
            Self::Hold => "HOLD",
        }
    }

    /// `RUN`, `QUEUE` or `HOLD`, case-insensitive.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    pub fn from_u8(n: u8) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }
}

/// An instant as microseconds since the Unix epoch, [`Micros::NONE`] for none: 8 bytes where
/// `Option<DateTime<Utc>>` takes 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub i64);

impl Micros {
    pub const NONE: Self = Self(i64::MIN);

    pub fn from_time(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(Self::NONE, |t| Self(t.timestamp_micros()))
    }

    pub fn get(self) -> Option<DateTime<Utc>> {
        if self == Self::NONE {
            None
        } else {
            DateTime::from_timestamp_micros(self.0)
        }
    }

    pub fn is_some(self) -> bool {
        self != Self::NONE
    }
}

/// Written as chrono writes a `DateTime<Utc>` (RFC 3339, `Z`, as many fraction digits as
/// needed: 0, 3 or 6), or `null`, by [`crate::timefmt::Stamp`]'s digit writer.
impl serde::Serialize for Micros {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(t) = self.get() else {
            return s.serialize_none();
        };
        match crate::timefmt::Stamp::new(self.0, b'T', true) {
            Some(stamp) => s.serialize_str(stamp.as_str()),
            None => s.collect_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        }
    }
}

impl Micros {
    /// The same JSON as its `Serialize` writes, appended to `out` without serde (the lists of
    /// lots write hundreds per page: the digits need no escape check).
    pub fn write_json(self, out: &mut Vec<u8>) {
        if self == Self::NONE {
            out.extend_from_slice(b"null");
            return;
        }
        match crate::timefmt::Stamp::new(self.0, b'T', true) {
            Some(stamp) => {
                out.push(b'"');
                out.extend_from_slice(stamp.as_bytes());
                out.push(b'"');
            }
            // Years outside 0–9999: chrono's text, through serde (never in plant data).
            None => {
                let _ = serde_json::to_writer(&mut *out, &self);
            }
        }
    }
}

/// One field's code for every lot (parallel to [`LotTable::lots`]), each as narrow as the
/// field's dictionary allows: one byte for up to 254 values, two for up to 65 534, four
/// beyond; the largest number of each width stands for [`NONE`].
///
/// Why by column rather than a `[u32; 15]` in each lot: packages, lot types, reasons and
/// departments have a few dozen values and products, steps and tools a few thousand, so a
/// plant's codes take about half the bytes (measured: 200 000 lots, 60 → 29 bytes a lot),
/// and no field has a limit on its values (a field with more only takes wider codes).
#[derive(Debug, Clone, PartialEq)]
pub enum Codes {
    Byte(Vec<u8>),
    Short(Vec<u16>),
    Word(Vec<u32>),
}

impl Default for Codes {
    fn default() -> Self {
        Self::Byte(Vec::new())
    }
}

impl Codes {
    /// An empty column with room for `lots` codes into a dictionary of `values` values.
    pub fn for_values(values: usize, lots: usize) -> Self {
        if values < usize::from(u8::MAX) {
            Self::Byte(Vec::with_capacity(lots))
        } else if values < usize::from(u16::MAX) {
            Self::Short(Vec::with_capacity(lots))
        } else {
            Self::Word(Vec::with_capacity(lots))
        }
    }

    /// Appends `code`: [`NONE`] or below the length of the dictionary the column was made
    /// for (the builder's ranks and the wire form's checked codes always are).
    pub fn push(&mut self, code: u32) {
        match self {
            Self::Byte(v) => v.push(u8::try_from(code).unwrap_or(u8::MAX)),
            Self::Short(v) => v.push(u16::try_from(code).unwrap_or(u16::MAX)),
            Self::Word(v) => v.push(code),
        }
    }

    /// The code of the lot at `pos`, [`NONE`] when null.
    #[inline]
    pub fn get(&self, pos: usize) -> u32 {
        match self {
            Self::Byte(v) => match v[pos] {
                u8::MAX => NONE,
                c => u32::from(c),
            },
            Self::Short(v) => match v[pos] {
                u16::MAX => NONE,
                c => u32::from(c),
            },
            Self::Word(v) => v[pos],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Byte(v) => v.len(),
            Self::Short(v) => v.len(),
            Self::Word(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Byte(v) => v.capacity(),
            Self::Short(v) => v.capacity() * 2,
            Self::Word(v) => v.capacity() * 4,
        }
    }
}

/// One lot's numbers, fixed width (56 bytes); its texts' codes are the table's
/// [`LotTable::codes`] at the same position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lot {
    pub quantity: i64,
    pub track_in_at: Micros,
    pub hold_at: Micros,
    pub move_in_at: Micros,
    pub started_at: Micros,
    pub updated_at: Micros,
    pub priority: i32,
    /// Index into [`LotTable::workcenters`].
    pub workcenter: u16,
    pub status: Status,
    /// A non-quality hold (`NON_QUALITY_HOLD_REASONS`); set by the snapshot, never stored.
    pub non_quality: bool,
}

impl Lot {
    pub fn held(&self) -> bool {
        self.status == Status::Hold
    }
}

/// A workcenter as the snapshot knows it: from the route table, or met only in lots.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkcenterMeta {
    pub workcenter_id: String,
    pub name: String,
    /// Index into [`LotTable::groups`].
    pub group: Option<u16>,
    /// Its steps in route order (then any met only in lots, by name).
    pub steps: Vec<StepInfo>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepInfo {
    pub step: String,
    pub name: Option<String>,
}

/// Every lot in process, sorted by lot id, with the dictionaries of their texts and the
/// reference data they point into.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LotTable {
    pub lots: Vec<Lot>,
    /// One column per [`Field`], parallel to `lots`.
    pub codes: [Codes; Field::COUNT],
    /// Lot ids, sorted: position `i` in `lots` has id `ids.get(i)`.
    pub ids: Dict,
    pub dicts: [Dict; Field::COUNT],
    /// In route order: the reference workcenters, then any met only in lots.
    pub workcenters: Vec<WorkcenterMeta>,
    /// Workcenter groups in route order.
    pub groups: Vec<String>,
    /// Packages in matrix-column order (family, then id) as the reference table lists them.
    pub packages: Vec<PackageInfo>,
}

impl LotTable {
    pub fn len(&self) -> usize {
        self.lots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lots.is_empty()
    }

    pub fn dict(&self, field: Field) -> &Dict {
        &self.dicts[field.index()]
    }

    /// The code of `field` for the lot at `pos`, [`NONE`] when null.
    #[inline]
    pub fn code(&self, pos: u32, field: Field) -> u32 {
        self.codes[field.index()].get(pos as usize)
    }

    /// The codes of `field`, parallel to the lots.
    pub fn column(&self, field: Field) -> &Codes {
        &self.codes[field.index()]
    }

    /// The text of `field` for the lot at `pos`.
    pub fn text(&self, pos: u32, field: Field) -> Option<&str> {
        self.dict(field).get(self.code(pos, field))
    }

    pub fn lot_id(&self, pos: u32) -> &str {
        self.ids.get(pos).unwrap_or_default()
    }

    /// The position of a lot by id.
    pub fn position(&self, lot_id: &str) -> Option<u32> {
        self.ids.find(lot_id)
    }

    pub fn workcenter_of(&self, pos: u32) -> &WorkcenterMeta {
        &self.workcenters[self.lots[pos as usize].workcenter as usize]
    }

    pub fn group_name(&self, wc: &WorkcenterMeta) -> Option<&str> {
        wc.group.map(|g| self.groups[g as usize].as_str())
    }

    /// The family of a package (the product line), when the reference table has it.
    pub fn family(&self, package: &str) -> Option<&str> {
        self.packages
            .iter()
            .find(|p| p.package_id == package)
            .map(|p| p.family.as_str())
    }

    /// Approximate bytes held (for the load log and the memory benchmark).
    pub fn heap_bytes(&self) -> usize {
        self.lots.capacity() * std::mem::size_of::<Lot>()
            + self.codes.iter().map(Codes::heap_bytes).sum::<usize>()
            + self.ids.heap_bytes()
            + self.dicts.iter().map(Dict::heap_bytes).sum::<usize>()
    }
}

/// Builds a [`LotTable`] one database row at a time, interning each text as it arrives (no
/// list of owned rows is ever held).
pub struct LotTableBuilder {
    lots: Vec<Lot>,
    /// Per field, each lot's provisional code (narrowed by [`Self::finish`]).
    codes: Vec<Vec<u32>>,
    ids: String,
    id_ends: Vec<u32>,
    /// Per field, each distinct text met so far and its provisional code (order of arrival).
    /// Fx rather than std's SipHash: ~20 lookups a row, over texts from our own database.
    interned: Vec<FxHashMap<Box<str>, u32>>,
    workcenters: Vec<WorkcenterMeta>,
    workcenter_index: HashMap<String, u16>,
    groups: Vec<String>,
    packages: Vec<PackageInfo>,
}

impl LotTableBuilder {
    /// `route` in route order; `steps` in route order within each workcenter.
    pub fn new(
        route: &[WorkcenterInfo],
        steps: &[WorkcenterStep],
        packages: Vec<PackageInfo>,
    ) -> Self {
        // Groups by their sequence, then by first appearance along the route.
        let mut ordered: Vec<(&WorkcenterInfo, usize)> =
            route.iter().enumerate().map(|(i, w)| (w, i)).collect();
        ordered.sort_by_key(|(w, i)| (w.group_sequence.unwrap_or(i64::MAX), *i));
        let mut groups: Vec<String> = Vec::new();
        for (w, _) in &ordered {
            if let Some(g) = &w.workcenter_group
                && !groups.contains(g)
            {
                groups.push(g.clone());
            }
        }
        let workcenters: Vec<WorkcenterMeta> = route
            .iter()
            .map(|w| WorkcenterMeta {
                workcenter_id: w.workcenter_id.clone(),
                name: w.name.clone(),
                group: w
                    .workcenter_group
                    .as_ref()
                    .and_then(|g| groups.iter().position(|x| x == g))
                    .map(|g| g as u16),
                steps: steps
                    .iter()
                    .filter(|s| s.workcenter_id == w.workcenter_id)
                    .map(|s| StepInfo {
                        step: s.step.clone(),
                        name: s.name.clone(),
                    })
                    .collect(),
            })
            .collect();
        let workcenter_index = workcenters
            .iter()
            .enumerate()
            .map(|(i, w)| (w.workcenter_id.clone(), i as u16))
            .collect();
        Self {
            lots: Vec::new(),
            codes: vec![Vec::new(); Field::COUNT],
            ids: String::new(),
            id_ends: Vec::new(),
            interned: (0..Field::COUNT).map(|_| FxHashMap::default()).collect(),
            workcenters,
            workcenter_index,
            groups,
            packages,
        }
    }

    /// Reserves room for `lots` lots (the freshness stamp's count): the table is then never
    /// copied while it grows, which would briefly hold it twice.
    pub fn reserve(&mut self, lots: usize) {
        self.lots.reserve_exact(lots);
        for column in &mut self.codes {
            column.reserve_exact(lots);
        }
        self.id_ends.reserve_exact(lots);
    }

    fn intern(&mut self, field: Field, value: Option<&str>) -> u32 {
        let Some(value) = value else { return NONE };
        let map = &mut self.interned[field.index()];
        if let Some(&code) = map.get(value) {
            return code;
        }
        let code = map.len() as u32;
        map.insert(value.into(), code);
        code
    }

    fn workcenter(&mut self, id: &str) -> u16 {
        if let Some(&i) = self.workcenter_index.get(id) {
            return i;
        }
        // A workcenter missing from the route table still counts, after the route's.
        let i = u16::try_from(self.workcenters.len()).unwrap_or(u16::MAX);
        self.workcenters.push(WorkcenterMeta {
            workcenter_id: id.to_string(),
            name: id.to_string(),
            group: None,
            steps: Vec::new(),
        });
        self.workcenter_index.insert(id.to_string(), i);
        i
    }

    /// One owned lot (tests and callers that already hold records).
    pub fn push(&mut self, r: LotRecord) {
        self.push_row(r.as_row());
    }

    /// One lot as the database row holds it: each text is copied only the first time it is
    /// met (a new dictionary value or a lot id).
    pub fn push_row(&mut self, r: LotRow<'_>) {
        let status = Status::parse(r.status).unwrap_or_else(|| {
            // Not one of the three: the rule decides (docs/SCHEMA.md).
            Status::parse(wip_status(r.equipment_id.is_some(), r.hold_at.is_some()))
                .unwrap_or(Status::Queue)
        });
        let texts = [
            (Field::Product, Some(r.product)),
            (Field::Package, Some(r.package_id)),
            (Field::Step, Some(r.step)),
            (Field::Equipment, r.equipment_id),
            (Field::HoldReason, r.hold_reason),
            (Field::HoldBy, r.hold_by),
            (Field::HoldDepartment, r.hold_department),
            (Field::HoldComment, r.hold_comment),
            (Field::FutureHoldComment, r.future_hold_comment),
            (Field::WorkOrder, r.work_order),
            (Field::LotType, r.lot_type),
            (Field::Bop, r.bop),
            (Field::Workflow, r.workflow),
            (Field::Function, r.function),
            (Field::WaferLot, r.wafer_lot),
        ];
        for (field, value) in texts {
            let code = self.intern(field, value);
            self.codes[field.index()].push(code);
        }
        let workcenter = self.workcenter(r.workcenter_id);
        self.ids.push_str(r.lot_id);
        self.id_ends
            .push(u32::try_from(self.ids.len()).unwrap_or(u32::MAX));
        self.lots.push(Lot {
            quantity: r.quantity,
            track_in_at: Micros::from_time(r.track_in_at),
            hold_at: Micros::from_time(r.hold_at),
            move_in_at: Micros::from_time(r.move_in_at),
            started_at: Micros::from_time(Some(r.started_at)),
            updated_at: Micros::from_time(Some(r.updated_at)),
            priority: i32::try_from(r.priority).unwrap_or(i32::MAX),
            workcenter,
            status,
            non_quality: false,
        });
    }

    /// The table: dictionaries sorted (codes renumbered to ranks), lots sorted by id, steps met
    /// only in lots added to their workcenters.
    pub fn finish(self) -> LotTable {
        let Self {
            lots,
            codes,
            ids,
            id_ends,
            interned,
            mut workcenters,
            groups,
            packages,
            ..
        } = self;
        let id_of = |i: usize| {
            let start = if i == 0 { 0 } else { id_ends[i - 1] as usize };
            &ids[start..id_ends[i] as usize]
        };
        let sorted = (1..lots.len()).all(|i| id_of(i - 1) <= id_of(i));
        // The database's collation need not be byte order: sort here when it differs.
        let order: Option<Vec<u32>> = (!sorted).then(|| {
            let mut order: Vec<u32> = (0..lots.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| id_of(a as usize).cmp(id_of(b as usize)));
            order
        });
        let (mut lots, ids) = match &order {
            None => (lots, Dict::from_parts(ids, id_ends).unwrap_or_default()),
            Some(order) => (
                order.iter().map(|&i| lots[i as usize]).collect(),
                Dict::from_sorted(order.iter().map(|&i| id_of(i as usize))),
            ),
        };
        lots.shrink_to_fit();
        // Each field: its dictionary sorted, its codes renumbered to ranks, put in lot-id
        // order and narrowed (one field at a time: the provisional column goes as it is done).
        let mut dicts: [Dict; Field::COUNT] = Default::default();
        let mut columns: [Codes; Field::COUNT] = Default::default();
        for (f, (map, provisional)) in interned.into_iter().zip(codes).enumerate() {
            let mut values: Vec<(Box<str>, u32)> = map.into_iter().collect();
            values.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut rank = vec![0u32; values.len()];
            for (r, (_, arrived)) in values.iter().enumerate() {
                rank[*arrived as usize] = r as u32;
            }
            let ranked = |c: u32| if c == NONE { NONE } else { rank[c as usize] };
            let mut column = Codes::for_values(values.len(), lots.len());
            match &order {
                None => provisional.iter().for_each(|&c| column.push(ranked(c))),
                Some(order) => order
                    .iter()
                    .for_each(|&i| column.push(ranked(provisional[i as usize]))),
            }
            columns[f] = column;
            dicts[f] = Dict::from_sorted(values.iter().map(|(v, _)| &**v));
        }
        // Steps met in lots but missing from the route's steps: after the route's, by name.
        let step_dict = &dicts[Field::Step.index()];
        let mut met: Vec<Vec<u32>> = vec![Vec::new(); workcenters.len()];
        let step_column = &columns[Field::Step.index()];
        for (pos, lot) in lots.iter().enumerate() {
            let codes = &mut met[lot.workcenter as usize];
            let step = step_column.get(pos);
            if !codes.contains(&step) {
                codes.push(step);
            }
        }
        for (wc, mut codes) in workcenters.iter_mut().zip(met) {
            codes.sort_unstable();
            for code in codes {
                let step = step_dict.get(code).unwrap_or_default();
                if !wc.steps.iter().any(|s| s.step == step) {
                    wc.steps.push(StepInfo {
                        step: step.to_string(),
                        name: None,
                    });
                }
            }
        }
        LotTable {
            lots,
            codes: columns,
            ids,
            dicts,
            workcenters,
            groups,
            packages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(id: &str, wc: &str, package: &str, status: &str) -> LotRecord {
        let now = Utc::now();
        LotRecord {
            package_id: package.into(),
            quantity: 10,
            work_order: Some("WO1".into()),
            move_in_at: Some(now),
            ..LotRecord::for_tests(id, wc, &format!("{wc}-010"), status, now)
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for micros in [
            0,
            1_764_979_200_000_000,
            1_764_979_200_123_000,
            1_764_979_200_123_456,
            1_764_979_200_000_001,
            -86_400_000_000,
        ] {
            let t = DateTime::from_timestamp_micros(micros).unwrap();
            assert_eq!(
                serde_json::to_string(&Micros(micros)).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
        assert_eq!(serde_json::to_string(&Micros::NONE).unwrap(), "null");
    }

    #[test]
    fn a_lot_is_56_bytes() {
        assert_eq!(std::mem::size_of::<Lot>(), 56);
    }

    #[test]
    fn codes_are_as_narrow_as_their_dictionary_and_keep_none() {
        for (values, width) in [(1usize, 1), (254, 1), (255, 2), (65_534, 2), (65_535, 4)] {
            let top = values as u32 - 1;
            let mut column = Codes::for_values(values, 3);
            for code in [0, top, NONE] {
                column.push(code);
            }
            let bytes = match &column {
                Codes::Byte(_) => 1,
                Codes::Short(_) => 2,
                Codes::Word(_) => 4,
            };
            assert_eq!(bytes, width, "{values} values");
            assert_eq!(
                (column.get(0), column.get(1), column.get(2)),
                (0, top, NONE)
            );
            assert_eq!(column.len(), 3);
        }
    }

    #[test]
    fn lots_out_of_id_order_keep_their_codes() {
        let mut b = LotTableBuilder::new(&[], &[], Vec::new());
        // 300 packages: the package column needs two bytes; ids arrive in reverse.
        for i in (0..300).rev() {
            b.push(record(
                &format!("L{i:03}"),
                "DB",
                &format!("P{i:03}"),
                "RUN",
            ));
        }
        let t = b.finish();
        assert!(matches!(t.column(Field::Package), Codes::Short(_)));
        assert!(matches!(t.column(Field::LotType), Codes::Byte(_)));
        for pos in [0u32, 1, 150, 299] {
            let id = t.lot_id(pos);
            assert_eq!(
                t.text(pos, Field::Package),
                Some(&*id.replacen('L', "P", 1))
            );
            assert_eq!(t.text(pos, Field::WorkOrder), Some("WO1"));
            assert_eq!(t.text(pos, Field::HoldReason), None);
        }
    }

    #[test]
    fn texts_are_interned_into_sorted_dictionaries_and_lots_sorted_by_id() {
        let route = [WorkcenterInfo {
            workcenter_id: "DB".into(),
            name: "Die bond".into(),
            sequence: 1,
            workcenter_group: Some("G".into()),
            group_sequence: Some(1),
        }];
        let mut b = LotTableBuilder::new(&route, &[], Vec::new());
        b.push(record("B2", "DB", "SOP", "RUN"));
        b.push(record("A1", "DB", "QFN", "hold"));
        b.push(record("C3", "XX", "QFN", "???"));
        let t = b.finish();
        let ids: Vec<_> = (0..3).map(|p| t.lot_id(p)).collect();
        assert_eq!(ids, ["A1", "B2", "C3"]);
        assert_eq!(
            t.dict(Field::Package).iter().collect::<Vec<_>>(),
            ["QFN", "SOP"]
        );
        assert_eq!(t.text(1, Field::Package), Some("SOP"));
        assert_eq!(t.code(0, Field::Package), 0);
        assert_eq!(t.lots[0].status, Status::Hold);
        // An unknown status falls back to the rule: no tool, no hold → QUEUE.
        assert_eq!(t.lots[2].status, Status::Queue);
        assert_eq!(t.text(0, Field::HoldReason), None);
        assert_eq!(t.position("B2"), Some(1));
        assert_eq!(t.position("B"), None);
        assert_eq!(t.workcenter_of(2).workcenter_id, "XX");
        assert_eq!(t.group_name(t.workcenter_of(0)), Some("G"));
        assert_eq!(t.workcenters[0].steps[0].step, "DB-010");
        let back = Micros::from_time(Some(Utc::now()));
        assert_eq!(Micros::from_time(back.get()), back);
        assert_eq!(Micros::NONE.get(), None);
    }
}
