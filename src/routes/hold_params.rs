//! What the hold APIs (`/api/hold-overview/*`, `/api/hold-detail/*`) share: their parameters
//! (the WIP filters without `status`, plus `reason`, `workcenter`, `age_range`, and for the
//! lists `page`, `page_size`, `sort`, `dir`), the held-lot row with the 15 columns of the
//! hold overview's table, and the list answer (JSON page or CSV file).
//!
//! Everything is read from the in-memory WIP snapshot: no database call per request.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::AppState;
use crate::cache::aggregate::NO_REASON;
use crate::cache::hold_query::{
    AgeRange, HoldFilter, HoldSortKey, ReasonFilter, age_of, days, type_name,
};
use crate::cache::lots::{Field, Lot, LotTable, Micros, Status};
use crate::cache::wip::{Served, WipSnapshot};
use crate::http::csv::{Cell, Export};
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::Lang;
use crate::json::{RawJson, RowParts, object_with_array, put_f64_opt, put_int, put_opt, put_str};
use crate::routes::wip::validate_id;
use crate::routes::wip_params::{FILTERS, Params};

/// The WIP filters the hold APIs take: every one but `status` (they list held lots only).
pub const HOLD_FILTERS: [&str; 10] = [
    "workorder",
    "lotid",
    "package",
    "type",
    "product",
    "workflow",
    "bop",
    "function",
    "workcenter_group",
    "hold_type",
];

/// The hold APIs' own filters.
pub const HOLD_EXTRA: [&str; 3] = ["reason", "workcenter", "age_range"];
/// What a list takes beside the filters.
pub const LIST_EXTRA: [&str; 7] = [
    "reason",
    "workcenter",
    "age_range",
    "page",
    "page_size",
    "sort",
    "dir",
];

/// Lots one page holds at most, and by default.
pub const MAX_PAGE_SIZE: usize = 500;
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The longest hold reason accepted.
const MAX_REASON: usize = 100;

const _: () = assert!(HOLD_FILTERS.len() + 1 == FILTERS.len());

/// Reads the query of a hold API taking `extra` beside the filters.
pub fn parse<'q>(raw: Option<&'q str>, extra: &[&str]) -> Result<Params<'q>, AppError> {
    Params::parse_among(raw, &HOLD_FILTERS, extra)
}

/// The hold filter of a parsed query.
pub fn filter(params: &Params<'_>) -> Result<HoldFilter, AppError> {
    let mut wip = params.filter()?;
    let hold_type = wip.hold_type.take();
    let reason = match params.get("reason").map(str::trim) {
        None | Some("") => None,
        Some(reason) => {
            if reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
                return Err(AppError::validation(format!(
                    "reason: must be 1 to {MAX_REASON} characters without control characters \
                     ({NO_REASON} for holds without one)"
                )));
            }
            Some(ReasonFilter::parse(reason))
        }
    };
    let workcenter = match params.get("workcenter").map(str::trim) {
        None | Some("") => None,
        Some(wc) => {
            validate_id("workcenter:", wc)?;
            Some(wc.to_string())
        }
    };
    let age = match params.get("age_range").map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(AgeRange::parse(text).ok_or_else(|| {
            AppError::validation(format!(
                "age_range: must be one of 0-1, 1-3, 3-7, 7+ (days at station; got {:?})",
                text.chars().take(40).collect::<String>()
            ))
        })?),
    };
    Ok(HoldFilter {
        wip,
        hold_type,
        reason,
        workcenter,
        age,
    })
}

/// The instant ages are measured at: now, in whole seconds (the answers' `as_of`).
pub fn now() -> (Micros, DateTime<Utc>) {
    let seconds = Utc::now().timestamp();
    let at = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    (Micros(seconds * 1_000_000), at)
}

/// `hold_type` as the answers echo it.
pub fn hold_type_echo(filter: &HoldFilter) -> &'static str {
    filter.hold_type.map_or("all", |t| t.as_str())
}

/// One held lot as the lists give it: the 15 columns of the hold overview's table (PRODUCT
/// §3), borrowed from the snapshot.
#[derive(Serialize)]
pub struct HeldRow<'a> {
    lot_id: &'a str,
    work_order: Option<&'a str>,
    quantity: i64,
    product: Option<&'a str>,
    package_id: Option<&'a str>,
    workcenter_id: &'a str,
    hold_reason: Option<&'a str>,
    hold_type: &'static str,
    step: Option<&'a str>,
    /// Days at the current station.
    age_days: Option<f64>,
    /// Written as chrono writes a `DateTime<Utc>` (or `null`).
    hold_at: Micros,
    /// Hours since `hold_at`.
    hold_duration_hours: Option<f64>,
    hold_by: Option<&'a str>,
    hold_department: Option<&'a str>,
    hold_comment: Option<&'a str>,
    future_hold_comment: Option<&'a str>,
}

impl<'a> HeldRow<'a> {
    pub fn new(table: &'a LotTable, pos: u32, now: Micros) -> Self {
        let lot = &table.lots[pos as usize];
        let text = |f| table.text(pos, f);
        Self {
            lot_id: table.lot_id(pos),
            work_order: text(Field::WorkOrder),
            quantity: lot.quantity,
            product: text(Field::Product),
            package_id: text(Field::Package),
            workcenter_id: &table.workcenter_of(pos).workcenter_id,
            hold_reason: text(Field::HoldReason),
            hold_type: type_name(lot.non_quality),
            step: text(Field::Step),
            age_days: age_days(lot, now),
            hold_at: lot.hold_at,
            hold_duration_hours: hold_hours(lot, now),
            hold_by: text(Field::HoldBy),
            hold_department: text(Field::HoldDepartment),
            hold_comment: text(Field::HoldComment),
            future_hold_comment: text(Field::FutureHoldComment),
        }
    }

    /// The same JSON as serde writes for this row (a unit test compares them), keys as
    /// literal bytes: its fixed parts (see [`HeldRow::write_part`]) with the two figures that
    /// change with the clock between them.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_part(0, out);
        put_f64_opt(out, self.age_days);
        self.write_part(1, out);
        put_f64_opt(out, self.hold_duration_hours);
        self.write_part(2, out);
    }

    /// One of the row's three parts that do not change with the clock (the lists write them
    /// once per snapshot: [`held_row_parts`]): 0 up to `age_days`'s value, 1 between it and
    /// `hold_duration_hours`'s, 2 after.
    pub fn write_part(&self, part: usize, out: &mut Vec<u8>) {
        match part {
            0 => {
                out.extend_from_slice(b"{\"lot_id\":");
                put_str(out, self.lot_id);
                out.extend_from_slice(b",\"work_order\":");
                put_opt(out, self.work_order);
                out.extend_from_slice(b",\"quantity\":");
                put_int(out, self.quantity);
                out.extend_from_slice(b",\"product\":");
                put_opt(out, self.product);
                out.extend_from_slice(b",\"package_id\":");
                put_opt(out, self.package_id);
                out.extend_from_slice(b",\"workcenter_id\":");
                put_str(out, self.workcenter_id);
                out.extend_from_slice(b",\"hold_reason\":");
                put_opt(out, self.hold_reason);
                out.extend_from_slice(b",\"hold_type\":");
                put_str(out, self.hold_type);
                out.extend_from_slice(b",\"step\":");
                put_opt(out, self.step);
                out.extend_from_slice(b",\"age_days\":");
            }
            1 => {
                out.extend_from_slice(b",\"hold_at\":");
                self.hold_at.write_json(out);
                out.extend_from_slice(b",\"hold_duration_hours\":");
            }
            _ => {
                out.extend_from_slice(b",\"hold_by\":");
                put_opt(out, self.hold_by);
                out.extend_from_slice(b",\"hold_department\":");
                put_opt(out, self.hold_department);
                out.extend_from_slice(b",\"hold_comment\":");
                put_opt(out, self.hold_comment);
                out.extend_from_slice(b",\"future_hold_comment\":");
                put_opt(out, self.future_hold_comment);
                out.push(b'}');
            }
        }
    }
}

/// Every held lot's row in the parts that do not change with the clock, in the order of the
/// snapshot's held positions (ascending), written on the first list request and kept with
/// the snapshot (see [`RowParts`]). `now` is any time: the parts hold no figure of it.
fn held_row_parts(snapshot: &WipSnapshot, now: Micros) -> &RowParts<3> {
    let table = &snapshot.table;
    snapshot.index.held_rows.get_or_init(|| {
        RowParts::build(
            snapshot.index.by_status[Status::Hold as usize]
                .iter()
                .copied(),
            |&pos, part, out| HeldRow::new(table, pos, now).write_part(part, out),
        )
    })
}

/// Writes the row of held lot `pos` at `now` from its ready parts: the same bytes as
/// [`HeldRow::write_json`] (a unit test compares them).
fn write_held_row(
    snapshot: &WipSnapshot,
    parts: &RowParts<3>,
    pos: u32,
    now: Micros,
    out: &mut Vec<u8>,
) {
    let held = &snapshot.index.by_status[Status::Hold as usize];
    let Ok(rank) = held.binary_search(&pos) else {
        // Not a held lot of this snapshot (never: the lists walk its held lots).
        return HeldRow::new(&snapshot.table, pos, now).write_json(out);
    };
    let lot = &snapshot.table.lots[pos as usize];
    let [head, middle, tail] = parts.row(rank);
    out.extend_from_slice(head);
    put_f64_opt(out, age_days(lot, now));
    out.extend_from_slice(middle);
    put_f64_opt(out, hold_hours(lot, now));
    out.extend_from_slice(tail);
}

/// Days at the current station, rounded for people.
fn age_days(lot: &Lot, now: Micros) -> Option<f64> {
    age_of(lot.move_in_at, now).map(|a| round2(days(a)))
}

/// Hours since the hold, rounded for people.
fn hold_hours(lot: &Lot, now: Micros) -> Option<f64> {
    age_of(lot.hold_at, now).map(|a| round2(a as f64 / 3.6e9))
}

/// Two decimals, for figures people read.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A list page's fields before its rows (`lots`, written by [`HeldRow::write_json`]).
#[derive(Serialize)]
struct LotsPage {
    as_of: DateTime<Utc>,
    hold_type: &'static str,
    /// Held lots matching the filters, over every page.
    total: usize,
    page: usize,
    page_size: usize,
    pages: usize,
    sort: &'static str,
    dir: &'static str,
}

/// About the size of one row's JSON (to size the buffer once).
const ROW_JSON_BYTES: usize = 420;

impl LotsPage {
    /// The page as JSON: its fields as serde writes them, then `"lots"` row by row.
    fn to_json(
        &self,
        snapshot: &WipSnapshot,
        positions: &[u32],
        now: Micros,
    ) -> serde_json::Result<Vec<u8>> {
        let capacity = 256 + positions.len() * ROW_JSON_BYTES;
        let parts = held_row_parts(snapshot, now);
        object_with_array(self, "lots", capacity, positions, |&pos, out| {
            write_held_row(snapshot, parts, pos, now, out)
        })
    }
}

/// Answers a held-lot list (`report` names its CSV file): the filters, sorted (default:
/// oldest hold first), a page of it or every row as CSV.
pub async fn lots(
    app: &AppState,
    served: &Served,
    params: &Params<'_>,
    filter: &HoldFilter,
    export: Export,
    lang: Lang,
    report: &str,
) -> Result<Response, AppError> {
    let page = params.number("page", 1..=1_000_000, 1)?;
    let page_size = params.number("page_size", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let key = match params.get("sort").map(str::trim) {
        None | Some("") => HoldSortKey::HoldAt,
        Some(text) => HoldSortKey::parse(text).ok_or_else(|| {
            let keys: Vec<&str> = HoldSortKey::ALL.iter().map(|k| k.as_str()).collect();
            AppError::validation(format!(
                "sort must be one of {} (got {:?})",
                keys.join(", "),
                text.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let descending = match params.get("dir").map(str::trim) {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(AppError::validation("dir must be asc or desc")),
    };
    let (now, as_of) = now();
    let snapshot = &served.snapshot;
    if export == Export::Csv {
        let positions = snapshot.held_in_order(filter, now, key, descending);
        return Ok(super::exports::held_lots(
            app, lang, served, report, positions, now,
        ));
    }
    // The page's rows straight from the snapshot's ready order (see `WipSnapshot::held_page`).
    let found = snapshot.held_page(
        filter,
        now,
        key,
        descending,
        (page - 1).saturating_mul(page_size),
        page_size,
    );
    let total = found.total;
    let json = LotsPage {
        as_of,
        hold_type: hold_type_echo(filter),
        total,
        page,
        page_size,
        pages: total.div_ceil(page_size),
        sort: key.as_str(),
        dir: if descending { "desc" } else { "asc" },
    }
    .to_json(snapshot, &found.positions, now)
    .map_err(AppError::internal)?;
    Ok(respond(app, served, RawJson(json.into())))
}

/// The envelope of a snapshot answer.
pub fn respond(app: &AppState, served: &Served, data: RawJson) -> Response {
    RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    }
    .into_response()
}

/// The CSV cells of one held lot, in the order of [`CSV_COLUMNS`].
pub fn csv_row<'a>(table: &'a LotTable, pos: u32, now: Micros, write: &mut dyn FnMut(&[Cell<'_>])) {
    let lot = &table.lots[pos as usize];
    let text = |f| table.text(pos, f);
    let age = age_of(lot.move_in_at, now).map(|a| format!("{:.2}", days(a)));
    let duration = age_of(lot.hold_at, now).map(|a| format!("{:.2}", a as f64 / 3.6e9));
    write(&[
        table.lot_id(pos).into(),
        text(Field::WorkOrder).into(),
        lot.quantity.into(),
        text(Field::Product).into(),
        text(Field::Package).into(),
        table.workcenter_of(pos).workcenter_id.as_str().into(),
        text(Field::HoldReason).into(),
        type_name(lot.non_quality).into(),
        text(Field::Step).into(),
        age.as_deref().into(),
        lot.hold_at.get().into(),
        duration.as_deref().into(),
        text(Field::HoldBy).into(),
        text(Field::HoldDepartment).into(),
        text(Field::HoldComment).into(),
        text(Field::FutureHoldComment).into(),
    ]);
}

/// The CSV header keys (catalogue `locales/*/hold.ftl`).
pub const CSV_COLUMNS: &[&str] = &[
    "hold-lot-col-lot",
    "hold-lot-col-work-order",
    "hold-lot-col-quantity",
    "hold-lot-col-product",
    "hold-lot-col-package",
    "hold-lot-col-workcenter",
    "hold-lot-col-reason",
    "hold-lot-col-type",
    "hold-lot-col-step",
    "hold-lot-col-age",
    "hold-lot-col-hold-at",
    "hold-lot-col-duration",
    "hold-lot-col-by",
    "hold-lot-col-department",
    "hold-lot-col-comment",
    "hold-lot-col-future-comment",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> Result<HoldFilter, String> {
        parse(Some(raw), &LIST_EXTRA)
            .and_then(|p| filter(&p))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn hold_parameters_are_read_and_bad_ones_named() {
        let f = read("hold_type=non-quality&reason=(no%20reason)&workcenter=WB&age_range=7%2B")
            .unwrap();
        assert_eq!(f.hold_type, Some(crate::config::HoldType::NonQuality));
        assert_eq!(f.reason, Some(ReasonFilter::None));
        assert_eq!(f.workcenter.as_deref(), Some("WB"));
        assert_eq!(f.age, Some(AgeRange::Over7));
        let all = read("hold_type=all&package=QFN").unwrap();
        assert_eq!(all.hold_type, None);
        for (raw, named) in [
            ("status=HOLD", "status"),
            ("colour=red", "colour"),
            ("age_range=2-5", "age_range"),
            ("hold_type=some", "hold_type"),
            ("workcenter=a%20b", "workcenter"),
            ("reason=a%0Ab", "reason"),
            ("reason=x&reason=y", "reason"),
        ] {
            let error = read(raw).unwrap_err();
            assert!(error.contains(named), "{raw}: {error}");
        }
    }

    fn held_table() -> LotTable {
        use crate::cache::lots::LotTableBuilder;
        use crate::db::lots::LotRecord;
        use crate::db::reference::WorkcenterInfo;
        let wc = |id: &str| WorkcenterInfo {
            workcenter_id: id.into(),
            name: "焊線".into(),
            sequence: 1,
            workcenter_group: None,
            group_sequence: None,
        };
        let mut builder = LotTableBuilder::new(&[wc("WB"), wc("DA")], &[], Vec::new());
        let base = 1_765_000_123_456_000_i64;
        let tricky = "quote \" back \\ newline \n tab \t \u{1} 中文 </script>";
        for i in 0..60_i64 {
            let at = |offset: i64| chrono::DateTime::from_timestamp_micros(base - offset);
            let some = |text: &str| (i % 3 != 0).then(|| text.to_string());
            builder.push(LotRecord {
                product: if i % 7 == 0 {
                    tricky.into()
                } else {
                    format!("P{}", i % 4)
                },
                package_id: format!("PKG{}", i % 5),
                quantity: 1000 - i * 7,
                priority: 1,
                hold_reason: some(if i % 5 == 0 { tricky } else { "QC" }),
                hold_at: (i % 4 != 0).then(|| at(i * 3_600_000_123)).flatten(),
                hold_by: some("王"),
                work_order: some("WO-1"),
                move_in_at: (i % 6 != 0).then(|| at(i * 86_400_000_000 / 5)).flatten(),
                hold_department: some("QA"),
                hold_comment: some(tricky),
                ..LotRecord::for_tests(
                    &format!("L{:03}", (i * 37) % 60),
                    if i % 2 == 0 { "WB" } else { "DA" },
                    &format!("S{}", i % 6),
                    "HOLD",
                    at(0).unwrap(),
                )
            });
        }
        builder.finish()
    }

    #[test]
    fn a_list_page_is_written_byte_for_byte_as_serde_writes_it() {
        #[derive(Serialize)]
        struct SerdePage<'a> {
            #[serde(flatten)]
            page: &'a LotsPage,
            lots: Vec<HeldRow<'a>>,
        }
        let snapshot = held_snapshot();
        let table = &snapshot.table;
        let now = Micros(1_765_100_000_000_000);
        let page = LotsPage {
            as_of: Micros(now.0).get().unwrap(),
            hold_type: "all",
            total: table.len(),
            page: 1,
            page_size: 100,
            pages: 1,
            sort: "hold_at",
            dir: "asc",
        };
        // Every held lot, in an order unlike the positions' (the ready parts are found by
        // position), then a few.
        let every: Vec<u32> = (0..table.len() as u32).rev().collect();
        for positions in [every.clone(), vec![7, 3, 59], vec![0]] {
            let fast = page.to_json(&snapshot, &positions, now).unwrap();
            let serde = serde_json::to_vec(&SerdePage {
                page: &page,
                lots: positions
                    .iter()
                    .map(|&p| HeldRow::new(table, p, now))
                    .collect(),
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
        assert_eq!(held_row_parts(&snapshot, now).len(), table.len());
        let empty = page.to_json(&snapshot, &[], now).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(value["lots"], serde_json::json!([]));
    }

    fn held_snapshot() -> WipSnapshot {
        use crate::config::NonQualityReasons;
        use crate::db::wip::Freshness;
        let stamp = Freshness {
            latest: None,
            lots: 60,
        };
        WipSnapshot::build(held_table(), &NonQualityReasons::new(["QC"]), stamp).unwrap()
    }

    #[test]
    fn a_page_from_the_ready_order_is_the_page_of_the_sorted_selection() {
        use crate::cache::hold_query;
        let snapshot = held_snapshot();
        let (table, rank) = (&snapshot.table, &snapshot.index.step_rank);
        let now = Micros(1_765_100_000_000_000);
        let filters = [
            "",
            "hold_type=quality",
            "hold_type=non-quality",
            "workcenter=WB&age_range=7%2B",
            "package=PKG1",
            "reason=QC&age_range=1-3",
            "reason=(no%20reason)",
            "workcenter=NOPE",
        ];
        for raw in filters {
            let filter = read(raw).unwrap();
            let selected = snapshot.held(&filter, now).positions;
            assert!(!selected.is_empty() || raw.contains("NOPE"), "{raw}");
            for key in HoldSortKey::ALL {
                for descending in [false, true] {
                    let mut sorted = selected.clone();
                    hold_query::sort(table, rank, &mut sorted, key, descending);
                    let all = snapshot.held_in_order(&filter, now, key, descending);
                    assert_eq!(all, sorted, "{raw} {key:?} {descending}");
                    for (skip, take) in [(0, 100), (0, 7), (7, 7), (56, 7), (60, 5), (100, 1)] {
                        let page = snapshot.held_page(&filter, now, key, descending, skip, take);
                        let want: Vec<u32> = sorted.iter().skip(skip).take(take).copied().collect();
                        assert_eq!(page.total, sorted.len(), "{raw} {key:?}");
                        assert_eq!(page.positions, want, "{raw} {key:?} {skip} {take}");
                    }
                }
            }
        }
    }
}
