//! `GET /api/wip/detail/{workcenter}`: one workcenter's lots — filtered, sorted and paged on
//! the server — with its status cards, its steps in route order and its totals, read from the
//! WIP snapshot through its per-workcenter index (no scan of every lot, no database call).
//!
//! Parameters: the WIP filters ([`super::wip_params::FILTERS`]), `page` (from 1),
//! `page_size` (1–500, default 100), `sort` (a [`SortKey`]) and `dir` (`asc`, `desc`). A
//! page past the end is an empty list with the total.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::wip_params::Params;
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::Tally;
use crate::cache::filter::{FilterField, WipFilter};
use crate::cache::lots::{Field, LotTable, Micros};
use crate::cache::query::{Cards, Detail, Sort};
use crate::cache::wip::WipSnapshot;
use crate::cache::wip_index::WorkcenterTotals;
use crate::config::HoldType;
use crate::http::csv::{self, Export};
use crate::http::extract::ApiPath;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::Lang;
use crate::json::{RawJson, object_with_array, put_int, put_opt, put_str};
use crate::routes::wip::{served, validate_id};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/wip/detail/{workcenter}",
        get(detail).layer(from_fn(csv::negotiate)),
    )
}

/// Lots one page holds at most, and by default.
pub const MAX_PAGE_SIZE: usize = 500;
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// One lot as the workcenter detail lists it (borrowed from the snapshot, never cloned).
#[derive(Serialize)]
pub struct DetailLot<'a> {
    lot_id: &'a str,
    lot_type: Option<&'a str>,
    equipment_id: Option<&'a str>,
    status: &'static str,
    /// `quality` or `non-quality` while held, else `null`.
    hold_type: Option<&'static str>,
    package_id: &'a str,
    product: &'a str,
    work_order: Option<&'a str>,
    /// The step holding the lot's quantity (one of the answer's `steps`).
    step: &'a str,
    quantity: i64,
    priority: i64,
    move_in_at: Micros,
    track_in_at: Micros,
    hold_reason: Option<&'a str>,
}

impl<'a> DetailLot<'a> {
    pub fn new(table: &'a LotTable, pos: u32) -> Self {
        let lot = &table.lots[pos as usize];
        let text = |f| table.text(pos, f);
        Self {
            lot_id: table.lot_id(pos),
            lot_type: text(Field::LotType),
            equipment_id: text(Field::Equipment),
            status: lot.status.as_str(),
            hold_type: lot.held().then_some(if lot.non_quality {
                HoldType::NonQuality.as_str()
            } else {
                HoldType::Quality.as_str()
            }),
            package_id: text(Field::Package).unwrap_or_default(),
            product: text(Field::Product).unwrap_or_default(),
            work_order: text(Field::WorkOrder),
            step: text(Field::Step).unwrap_or_default(),
            quantity: lot.quantity,
            priority: i64::from(lot.priority),
            move_in_at: lot.move_in_at,
            track_in_at: lot.track_in_at,
            hold_reason: text(Field::HoldReason),
        }
    }
}

#[derive(Serialize)]
struct StepColumn<'a> {
    step: &'a str,
    name: Option<&'a str>,
    /// The matching lots at this step (over every page).
    lots: u64,
    quantity: i64,
}

/// The filters applied, every one named (`null` when absent).
struct Echo<'a>(&'a WipFilter);

impl Serialize for Echo<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut map = s.serialize_map(None)?;
        for field in FilterField::ALL {
            match field {
                FilterField::WorkOrder => map.serialize_entry("workorder", &f.workorder)?,
                FilterField::LotId => map.serialize_entry("lotid", &f.lotid)?,
                other => map.serialize_entry(other.param(), &f.values(other))?,
            }
        }
        let statuses: Option<Vec<&str>> =
            (!f.statuses.is_empty()).then(|| f.statuses.iter().map(|s| s.as_str()).collect());
        map.serialize_entry("status", &statuses)?;
        map.serialize_entry("hold_type", &f.hold_type.map(HoldType::as_str))?;
        map.end()
    }
}

/// One page of a workcenter's detail: the API's `data` and what the `/wip-detail` page shows.
#[derive(Serialize)]
pub struct DetailPage<'a> {
    pub workcenter: &'a str,
    pub name: &'a str,
    pub workcenter_group: Option<&'a str>,
    /// Every lot of the workcenter counted, whatever the filters.
    totals: &'a WorkcenterTotals,
    filters: Echo<'a>,
    /// RUN, QUEUE, quality hold, non-quality hold under every filter but the status ones.
    pub cards: Cards,
    /// The workcenter's steps in route order, with the matching lots at each.
    steps: Vec<StepColumn<'a>>,
    /// Lots matching the filters, over every page.
    pub total: usize,
    /// Their quantity.
    pub quantity: i64,
    pub page: usize,
    pub page_size: usize,
    pub pages: usize,
    sort: &'static str,
    dir: &'static str,
    /// How many lots `lots` holds.
    count: usize,
    /// The page's lots: written after the rest by [`DetailPage::to_json`] (and given to the
    /// page's template on their own).
    #[serde(skip)]
    pub lots: Vec<DetailLot<'a>>,
}

/// What one request asks of the detail: its filters, its page and its order.
pub struct DetailQuery {
    pub filter: WipFilter,
    pub page: usize,
    pub page_size: usize,
    pub sort: Sort,
}

impl DetailQuery {
    /// The detail's own parameters beside the filters.
    pub const PARAMS: [&'static str; 4] = ["page", "page_size", "sort", "dir"];

    /// Reads (and checks) the filters, the page and the order from `params`.
    pub fn read(params: &Params<'_>) -> Result<Self, AppError> {
        Ok(Self {
            filter: params.filter()?,
            page: params.number("page", 1..=1_000_000, 1)?,
            page_size: params.number("page_size", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?,
            sort: params.sort()?,
        })
    }

    /// How many leading lots must be in order to serve the page.
    pub fn ordered(&self) -> usize {
        self.page.saturating_mul(self.page_size)
    }
}

/// The workcenter `id` of `snapshot`, or 404 `NOT_FOUND`.
pub fn find_workcenter(snapshot: &WipSnapshot, id: &str) -> Result<u16, AppError> {
    snapshot.workcenter(id).ok_or_else(|| {
        AppError::not_found(format!(
            "no workcenter {id}: GET /api/wip/overview/matrix lists them"
        ))
    })
}

impl<'a> DetailPage<'a> {
    /// The page `query` asks for of the lots `found` (the matching lots of workcenter `wc`,
    /// sorted).
    pub fn new(
        snapshot: &'a WipSnapshot,
        wc: u16,
        query: &'a DetailQuery,
        found: &'a Detail,
    ) -> Self {
        let table = &snapshot.table;
        let info = &table.workcenters[wc as usize];
        let total = found.positions.len();
        let (page, page_size) = (query.page, query.page_size);
        let start = (page - 1).saturating_mul(page_size).min(total);
        let end = start.saturating_add(page_size).min(total);
        let lots: Vec<DetailLot<'_>> = found.positions[start..end]
            .iter()
            .map(|&pos| DetailLot::new(table, pos))
            .collect();
        let steps = info
            .steps
            .iter()
            .zip(&found.step_tallies)
            .map(|(s, t): (_, &Tally)| StepColumn {
                step: &s.step,
                name: s.name.as_deref(),
                lots: t.lots,
                quantity: t.quantity,
            })
            .collect();
        Self {
            workcenter: &info.workcenter_id,
            name: &info.name,
            workcenter_group: table.group_name(info),
            totals: &snapshot.index.workcenters[wc as usize].totals,
            filters: Echo(&query.filter),
            cards: found.cards,
            steps,
            total,
            quantity: found.quantity,
            page,
            page_size,
            pages: total.div_ceil(page_size),
            sort: query.sort.key.as_str(),
            dir: if query.sort.descending { "desc" } else { "asc" },
            count: lots.len(),
            lots,
        }
    }
}

impl DetailPage<'_> {
    /// The API's `data`: the page's fields as serde writes them, then `"lots"` written by
    /// [`DetailLot::write_json`] — the bulk of the answer, and most of its serialization cost
    /// when serde writes it (a profile of the filtered detail page put it second, after the
    /// filtering).
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let capacity = 1024 + self.lots.len() * LOT_JSON_BYTES;
        object_with_array(self, "lots", capacity, &self.lots, DetailLot::write_json)
    }
}

/// About the size of one lot's JSON (to size the buffer once).
const LOT_JSON_BYTES: usize = 360;

impl DetailLot<'_> {
    /// The same JSON as serde writes for this struct (a unit test compares them), with the
    /// keys as literal bytes and texts copied as they are when they need no escape.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"lot_id\":");
        put_str(out, self.lot_id);
        out.extend_from_slice(b",\"lot_type\":");
        put_opt(out, self.lot_type);
        out.extend_from_slice(b",\"equipment_id\":");
        put_opt(out, self.equipment_id);
        out.extend_from_slice(b",\"status\":");
        put_str(out, self.status);
        out.extend_from_slice(b",\"hold_type\":");
        put_opt(out, self.hold_type);
        out.extend_from_slice(b",\"package_id\":");
        put_str(out, self.package_id);
        out.extend_from_slice(b",\"product\":");
        put_str(out, self.product);
        out.extend_from_slice(b",\"work_order\":");
        put_opt(out, self.work_order);
        out.extend_from_slice(b",\"step\":");
        put_str(out, self.step);
        out.extend_from_slice(b",\"quantity\":");
        put_int(out, self.quantity);
        out.extend_from_slice(b",\"priority\":");
        put_int(out, self.priority);
        out.extend_from_slice(b",\"move_in_at\":");
        self.move_in_at.write_json(out);
        out.extend_from_slice(b",\"track_in_at\":");
        self.track_in_at.write_json(out);
        out.extend_from_slice(b",\"hold_reason\":");
        put_opt(out, self.hold_reason);
        out.push(b'}');
    }
}

async fn detail(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(workcenter): ApiPath<String>,
    RawQuery(query): RawQuery,
    export: Export,
    lang: Lang,
) -> Result<Response, AppError> {
    validate_id("workcenter", &workcenter)?;
    let params = Params::parse(query.as_deref(), true, &DetailQuery::PARAMS)?;
    let query = DetailQuery::read(&params)?;
    let served = served(&app).await?;
    let snapshot = &served.snapshot;
    let wc = find_workcenter(snapshot, &workcenter)?;
    // Every matching lot, sorted: a page is a slice of it (and a CSV export the whole).
    let ordered = if export == Export::Csv {
        usize::MAX
    } else {
        query.ordered()
    };
    let found = snapshot.detail(wc, &query.filter, query.sort, ordered);
    if export == Export::Csv {
        let info = &snapshot.table.workcenters[wc as usize];
        return Ok(super::exports::wip_detail(
            &app,
            lang,
            &served,
            &info.workcenter_id,
            found.positions,
        ));
    }
    // Serialized straight from the snapshot: no copy of a lot is made.
    let page = DetailPage::new(snapshot, wc, &query, &found);
    let data = RawJson(page.to_json().map_err(AppError::internal)?.into());
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::lots::LotTableBuilder;
    use crate::db::lots::LotRecord;
    use crate::db::reference::WorkcenterInfo;

    fn record(id: &str, text: Option<&str>, status: &str) -> LotRecord {
        let at = chrono::DateTime::from_timestamp_micros(1_765_000_123_456_000).unwrap();
        LotRecord {
            product: text.unwrap_or("P").into(),
            package_id: "QFN-32".into(),
            quantity: -1_234_567,
            priority: 1,
            equipment_id: text.map(str::to_string),
            track_in_at: text.map(|_| at),
            hold_reason: text.map(str::to_string),
            work_order: text.map(str::to_string),
            move_in_at: Some(at),
            ..LotRecord::for_tests(id, "WB", text.unwrap_or("WB-01"), status, at)
        }
    }

    #[test]
    fn a_lot_is_written_byte_for_byte_as_serde_writes_it() {
        let wc = WorkcenterInfo {
            workcenter_id: "WB".into(),
            name: "焊線".into(),
            sequence: 1,
            workcenter_group: None,
            group_sequence: None,
        };
        let mut builder = LotTableBuilder::new(&[wc], &[], Vec::new());
        builder.push(record("A1", None, "RUN"));
        builder.push(record(
            "A2",
            Some("quote \" back \\ newline \n tab \t \u{1} 中文 </script>"),
            "HOLD",
        ));
        builder.push(record("A3", Some("plain"), "QUEUE"));
        let table = builder.finish();
        for pos in 0..table.len() as u32 {
            let lot = DetailLot::new(&table, pos);
            let mut fast = Vec::new();
            lot.write_json(&mut fast);
            let serde = serde_json::to_vec(&lot).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(serde).unwrap(),
                "lot {pos}"
            );
        }
    }
}
