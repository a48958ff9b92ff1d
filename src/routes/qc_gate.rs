//! The QC-GATE report (PRODUCT §2–§3): `GET /api/qc-gate/summary` (every QC-GATE step with
//! its waiting lots by bucket), `GET /api/qc-gate/lots` (the waiting lots, longest wait first,
//! a page at a time, or every one as CSV) and the `/qc-gate` page (a stacked bar per step,
//! a segment of buckets that filters the lot table, live on `wip` events).
//!
//! Served from the in-memory WIP snapshot through its QC-GATE index ([`crate::cache::qc_gate`],
//! built once per snapshot); waits are measured at the request's instant. No database call.

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::lots::{Field, LotTable, Micros};
use crate::cache::qc_gate::{self, Bucket, QcGateIndex, Summary};
use crate::charts::{Category, Chart, ChartText, Format, Series, Stacked};
use crate::http::csv::{self, Cell, CsvFile, Export};
use crate::http::extract::ApiQuery;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::{self, Lang};
use crate::json::{RawJson, RowParts, object_with_array, put_int, put_opt, put_str};
use crate::routes::catalog;
use crate::routes::wip::served;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/qc-gate", get(page))
        .route("/api/qc-gate/summary", get(summary))
        .route(
            "/api/qc-gate/lots",
            get(lots).layer(from_fn(csv::negotiate)),
        )
}

/// Lots one page may hold at most, and by default.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 200;
/// The longest step code accepted as a filter.
const MAX_STEP: usize = 100;

/// The filters of the lot list (and of the page's table). Numbers are read as text so a bad
/// value gets a message naming its parameter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotsQuery {
    limit: Option<String>,
    offset: Option<String>,
    /// A QC-GATE step code as the summary lists it.
    step: Option<String>,
    /// `lt6h`, `6to12h`, `12to24h` or `gt24h`.
    bucket: Option<String>,
    /// The page's language switch (the language is the request's).
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

struct Filters<'q> {
    limit: usize,
    offset: usize,
    step: Option<&'q str>,
    bucket: Option<Bucket>,
}

fn parse(q: &LotsQuery) -> Result<Filters<'_>, AppError> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::validation(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let offset = match q.offset.as_deref() {
        None => 0,
        Some(text) => text.trim().parse::<usize>().map_err(|_| {
            AppError::validation("offset must be a whole number, 0 or more".to_string())
        })?,
    };
    let step = match q.step.as_deref() {
        None | Some("") => None,
        Some(step) if step.chars().count() > MAX_STEP || step.chars().any(char::is_control) => {
            return Err(AppError::validation(format!(
                "step must be at most {MAX_STEP} characters without control characters"
            )));
        }
        Some(step) => Some(step),
    };
    let bucket = match q.bucket.as_deref() {
        None | Some("") | Some("all") => None,
        Some(text) => Some(Bucket::parse(text).ok_or_else(|| {
            AppError::validation("bucket must be one of lt6h, 6to12h, 12to24h, gt24h (or all)")
        })?),
    };
    Ok(Filters {
        limit,
        offset,
        step,
        bucket,
    })
}

/// The lots the filters admit, longest wait first: the two runs of positions (with a move-in
/// time, then without) borrowed from the index.
struct Selection<'i>([&'i [u32]; 2]);

impl<'i> Selection<'i> {
    fn len(&self) -> usize {
        self.0[0].len() + self.0[1].len()
    }

    fn iter(&self) -> impl Iterator<Item = u32> + 'i {
        let [a, b] = self.0;
        a.iter().chain(b).copied()
    }
}

impl Filters<'_> {
    /// The lots the filters admit, longest wait first. An unknown step admits none.
    fn select<'i>(&self, index: &'i QcGateIndex, now: i64) -> Selection<'i> {
        let waiting = match self.step {
            None => &index.all,
            Some(step) => match index.step(step) {
                Some(gate) => &gate.waiting,
                None => return Selection([&[], &[]]),
            },
        };
        Selection(qc_gate::selected(waiting, self.bucket, now))
    }
}

/// One waiting lot as the list gives it (borrowed from the snapshot).
#[derive(Serialize)]
struct LotRow<'a> {
    lot_id: &'a str,
    workcenter_id: &'a str,
    step: &'a str,
    product: &'a str,
    package_id: &'a str,
    status: &'static str,
    quantity: i64,
    equipment_id: Option<&'a str>,
    /// Written as chrono writes a `DateTime<Utc>` (or `null`).
    move_in_at: Micros,
    /// Whole minutes since the move-in (none without a move-in time).
    waiting_minutes: Option<i64>,
    bucket: Option<Bucket>,
}

impl<'a> LotRow<'a> {
    fn new(table: &'a LotTable, pos: u32, now: i64) -> Self {
        let lot = &table.lots[pos as usize];
        let text = |f| table.text(pos, f);
        let wait = qc_gate::wait_micros(lot.move_in_at, now);
        Self {
            lot_id: table.lot_id(pos),
            workcenter_id: &table.workcenter_of(pos).workcenter_id,
            step: text(Field::Step).unwrap_or_default(),
            product: text(Field::Product).unwrap_or_default(),
            package_id: text(Field::Package).unwrap_or_default(),
            status: lot.status.as_str(),
            quantity: lot.quantity,
            equipment_id: text(Field::Equipment),
            move_in_at: lot.move_in_at,
            waiting_minutes: wait.map(|w| w / 60_000_000),
            bucket: wait.map(Bucket::of_wait),
        }
    }
}

impl LotRow<'_> {
    /// The same JSON as serde writes for this row (a unit test compares them), keys as
    /// literal bytes: its part that does not change with the clock, then the wait.
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_fixed(out);
        write_wait(out, self.waiting_minutes, self.bucket);
    }

    /// The row up to the wait's value (the list writes it once per snapshot:
    /// [`row_parts`]).
    fn write_fixed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"lot_id\":");
        put_str(out, self.lot_id);
        out.extend_from_slice(b",\"workcenter_id\":");
        put_str(out, self.workcenter_id);
        out.extend_from_slice(b",\"step\":");
        put_str(out, self.step);
        out.extend_from_slice(b",\"product\":");
        put_str(out, self.product);
        out.extend_from_slice(b",\"package_id\":");
        put_str(out, self.package_id);
        out.extend_from_slice(b",\"status\":");
        put_str(out, self.status);
        out.extend_from_slice(b",\"quantity\":");
        put_int(out, self.quantity);
        out.extend_from_slice(b",\"equipment_id\":");
        put_opt(out, self.equipment_id);
        out.extend_from_slice(b",\"move_in_at\":");
        self.move_in_at.write_json(out);
        out.extend_from_slice(b",\"waiting_minutes\":");
    }
}

/// The end of a row: the wait in whole minutes and its bucket.
fn write_wait(out: &mut Vec<u8>, minutes: Option<i64>, bucket: Option<Bucket>) {
    match minutes {
        Some(m) => put_int(out, m),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"bucket\":");
    put_opt(out, bucket.map(Bucket::as_str));
    out.push(b'}');
}

/// Every QC-GATE lot's row up to its wait, in the order of `index.positions`, written on the
/// list's first request and kept with the index (see [`RowParts`]): a page of 200 rows was
/// over the 100 µs of an answer from memory when each was written field by field.
fn row_parts<'i>(index: &'i QcGateIndex, table: &LotTable, now: i64) -> &'i RowParts<1> {
    index.rows.get_or_init(|| {
        RowParts::build(index.positions.iter().copied(), |&pos, _, out| {
            LotRow::new(table, pos, now).write_fixed(out)
        })
    })
}

/// Writes the row of QC-GATE lot `pos` at `now` from its ready part: the same bytes as
/// [`LotRow::write_json`] (a unit test compares them).
fn write_row(index: &QcGateIndex, table: &LotTable, pos: u32, now: i64, out: &mut Vec<u8>) {
    let Ok(rank) = index.positions.binary_search(&pos) else {
        // Not a QC-GATE lot of this index (never: the list walks its lots).
        return LotRow::new(table, pos, now).write_json(out);
    };
    let [fixed] = row_parts(index, table, now).row(rank);
    out.extend_from_slice(fixed);
    let wait = qc_gate::wait_micros(table.lots[pos as usize].move_in_at, now);
    write_wait(out, wait.map(|w| w / 60_000_000), wait.map(Bucket::of_wait));
}

/// A list page's fields before its rows (`lots`, written by [`LotRow::write_json`]).
#[derive(Serialize)]
struct LotsPage<'a> {
    /// Lots matching the filters, over every page.
    total: usize,
    limit: usize,
    offset: usize,
    step: Option<&'a str>,
    bucket: Option<Bucket>,
    as_of: DateTime<Utc>,
}

/// About the size of one row's JSON (to size the buffer once).
const ROW_JSON_BYTES: usize = 260;

impl LotsPage<'_> {
    /// The page as JSON: its fields as serde writes them, then `"lots"` row by row.
    fn to_json(
        &self,
        index: &QcGateIndex,
        table: &LotTable,
        rows: impl Iterator<Item = u32>,
        now: i64,
    ) -> serde_json::Result<Vec<u8>> {
        let shown = self.limit.min(self.total.saturating_sub(self.offset));
        let capacity = 256 + shown * ROW_JSON_BYTES;
        object_with_array(self, "lots", capacity, rows, |pos, out| {
            write_row(index, table, pos, now, out)
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryQuery {
    /// `1`: add the page's chart (SVG and its table, in the request's language), for the
    /// page's live redraw.
    chart: Option<String>,
    /// The page's language switch (the language is the request's).
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

/// The chart's markup, safe to place in the page as is.
#[derive(Serialize)]
struct ChartMarkup {
    svg: String,
    table: String,
}

#[derive(Serialize)]
struct SummaryAnswer<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<ChartMarkup>,
}

async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(query): ApiQuery<SummaryQuery>,
    lang: Lang,
) -> Result<RawApiResponse, AppError> {
    let with_chart = match query.chart.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(AppError::validation("chart must be 0 or 1")),
    };
    let served = served(&app).await?;
    let index = app.qc_gate.get(&served.snapshot);
    let summary = index.summary(Utc::now());
    let chart = with_chart.then(|| {
        let (svg, table) = chart(&summary, lang);
        ChartMarkup { svg, table }
    });
    let data =
        RawJson::from_value(&SummaryAnswer { summary, chart }).map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

async fn lots(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(query): ApiQuery<LotsQuery>,
    export: Export,
    lang: Lang,
) -> Result<Response, AppError> {
    let filters = parse(&query)?;
    let served = served(&app).await?;
    let index = app.qc_gate.get(&served.snapshot);
    let now = Utc::now();
    let selection = filters.select(&index, now.timestamp_micros());
    if export == Export::Csv {
        return Ok(export_csv(
            &app,
            lang,
            served.snapshot.clone(),
            selection.iter().collect(),
            now,
        ));
    }
    let table = &served.snapshot.table;
    let rows = selection.iter().skip(filters.offset).take(filters.limit);
    let json = LotsPage {
        total: selection.len(),
        limit: filters.limit,
        offset: filters.offset,
        step: filters.step,
        bucket: filters.bucket,
        as_of: now,
    }
    .to_json(&index, table, rows, now.timestamp_micros())
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data: RawJson(json.into()),
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    }
    .into_response())
}

/// The CSV columns (catalogue keys), as [`LotRow`] has them.
const CSV_COLUMNS: &[&str] = &[
    "col-lot",
    "col-workcenter",
    "col-step",
    "col-product",
    "col-package",
    "col-status",
    "col-quantity",
    "col-tool",
    "qc-col-move-in",
    "qc-col-waiting-hours",
    "qc-col-bucket",
];

fn export_csv(
    app: &AppState,
    lang: Lang,
    snapshot: std::sync::Arc<crate::cache::WipSnapshot>,
    positions: Vec<u32>,
    now: DateTime<Utc>,
) -> Response {
    let mut next = positions.into_iter();
    let now = now.timestamp_micros();
    let labels: Vec<String> = Bucket::ALL
        .iter()
        .map(|b| i18n::t(lang, &format!("qc-bucket-{}", b.as_str())).into_owned())
        .collect();
    let file = CsvFile {
        report: "qc_gate_lots".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: CSV_COLUMNS,
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(p) = next.next() else { return false };
        let row = LotRow::new(&snapshot.table, p, now);
        let hours = row
            .waiting_minutes
            .map(|m| format!("{:.1}", m as f64 / 60.0));
        let bucket = row
            .bucket
            .and_then(|b| Bucket::ALL.iter().position(|x| *x == b))
            .map(|i| labels[i].as_str());
        write(&[
            row.lot_id.into(),
            row.workcenter_id.into(),
            row.step.into(),
            row.product.into(),
            row.package_id.into(),
            row.status.into(),
            row.quantity.into(),
            row.equipment_id.into(),
            row.move_in_at.get().into(),
            hours.as_deref().into(),
            bucket.into(),
        ]);
        true
    })
}

/// The colour of a bucket: green to red as the wait grows (the palette's own classes).
fn bucket_class(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Lt6h => "c-run",
        Bucket::H6to12 => "c-sby",
        Bucket::H12to24 => "c-cat-1",
        Bucket::Gt24h => "c-udt",
    }
}

/// The stacked bar: one column per QC-GATE step, its lots split by bucket; a segment
/// carries `data-filter-step` and `data-filter-bucket`.
pub fn chart(summary: &Summary<'_>, lang: Lang) -> (String, String) {
    let t = |key: &str| i18n::t(lang, key).into_owned();
    let title = t("qc-chart-title");
    let desc = t("qc-chart-desc");
    let empty = t("qc-none");
    let category_label = t("col-step");
    let value_label = t("col-lots");
    let bucket_names: Vec<String> = Bucket::ALL
        .iter()
        .map(|b| t(&format!("qc-bucket-{}", b.as_str())))
        .collect();
    let chart = Stacked {
        text: ChartText {
            id: "qc-gate-chart",
            title: &title,
            desc: &desc,
            empty: &empty,
        },
        categories: summary
            .steps
            .iter()
            .map(|s| Category::new(s.step).filter("step", s.step))
            .collect(),
        series: Bucket::ALL
            .iter()
            .zip(&bucket_names)
            .map(|(b, name)| {
                let values = summary
                    .steps
                    .iter()
                    .map(|s| s.buckets.get(*b).lots as f64)
                    .collect();
                Series::new(name.as_str(), values)
                    .class(bucket_class(*b))
                    .filter("bucket", b.as_str())
            })
            .collect(),
        total_labels: true,
        category_label: &category_label,
        value_label: &value_label,
        format: Format::default(),
    };
    (chart.svg(), chart.table())
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    step: Option<String>,
    bucket: Option<String>,
    lang: Option<String>,
    kiosk: Option<String>,
}

async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/qc-gate", lang).await?;
    let _ = (&query.lang, &query.kiosk);
    let lots_query = LotsQuery {
        step: query.step,
        bucket: query.bucket,
        ..LotsQuery::default()
    };
    let filters = parse(&lots_query)?;
    let served = served(&app).await?;
    let index = app.qc_gate.get(&served.snapshot);
    let now = Utc::now();
    let summary = index.summary(now);
    let (svg, table) = chart(&summary, lang);
    let selection = filters.select(&index, now.timestamp_micros());
    let lots = &served.snapshot.table;
    let bucket_labels = Bucket::ALL.map(|b| i18n::t(lang, &format!("qc-bucket-{}", b.as_str())));
    let zone = app.config.pages.time_zone;
    let rows: Vec<PageRow<'_>> = selection
        .iter()
        .take(PAGE_ROWS)
        .map(|p| {
            let row = LotRow::new(lots, p, now.timestamp_micros());
            PageRow {
                move_in: row.move_in_at.get().map(|t| plant_time_of(t, zone)),
                waiting: row.waiting_minutes.map(|m| i18n::duration(lang, m * 60)),
                bucket_label: row.bucket.map(|b| &*bucket_labels[b as usize]),
                row,
            }
        })
        .collect();
    let buckets: Vec<_> = Bucket::ALL
        .iter()
        .map(|b| {
            json!({
                "key": b.as_str(),
                "label": bucket_labels[*b as usize],
                "lots": summary.total.buckets.get(*b).lots,
            })
        })
        .collect();
    templates::render(
        "qc_gate.html",
        &layout,
        &PageData {
            // Our own markup (the charts module escapes every text it writes): a template
            // value marked safe, which `json!` would turn back into an escaped string.
            chart_svg: minijinja::Value::from_safe_string(svg),
            chart_table: minijinja::Value::from_safe_string(table),
            data: json!({
            "summary": &summary,
            "buckets": buckets,
            "lots": rows,
            "total": selection.len(),
            "limit": PAGE_ROWS,
            "max_limit": MAX_LIMIT,
            "filter": {"step": filters.step, "bucket": filters.bucket.map(Bucket::as_str)},
            "version": &served.snapshot.version,
            "updated_at": &served.snapshot.updated_at,
            "state": served.state.as_str(),
            }),
        },
    )
}

/// Lots the page shows at first (and loads per "more"): the rest come from the lot API.
pub const PAGE_ROWS: usize = 50;

/// One row of the page's table: the API's row and what people read of it.
#[derive(Serialize)]
struct PageRow<'a> {
    #[serde(flatten)]
    row: LotRow<'a>,
    /// The move-in in the plant's time zone.
    move_in: Option<String>,
    waiting: Option<String>,
    bucket_label: Option<&'a str>,
}

/// `2026-12-06 14:05:09` in `zone` (what `|when` writes, without parsing the time back).
fn plant_time_of(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The page's context: its data, and the chart as markup.
#[derive(Serialize)]
struct PageData {
    #[serde(flatten)]
    data: serde_json::Value,
    chart_svg: minijinja::Value,
    chart_table: minijinja::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> LotsQuery {
        let mut q = LotsQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_string());
            match *k {
                "limit" => q.limit = v,
                "offset" => q.offset = v,
                "step" => q.step = v,
                "bucket" => q.bucket = v,
                _ => unreachable!(),
            }
        }
        q
    }

    #[test]
    fn filters_are_validated_and_named() {
        let q = query(&[]);
        let f = parse(&q).unwrap();
        assert_eq!(
            (f.limit, f.offset, f.step, f.bucket),
            (DEFAULT_LIMIT, 0, None, None)
        );
        let q = query(&[
            ("bucket", "12to24h"),
            ("step", "WB-QC-GATE"),
            ("limit", "5"),
        ]);
        let f = parse(&q).unwrap();
        assert_eq!(f.bucket, Some(Bucket::H12to24));
        assert_eq!(f.step, Some("WB-QC-GATE"));
        for (pairs, named) in [
            (&[("bucket", "7h")][..], "bucket"),
            (&[("limit", "0")][..], "limit"),
            (&[("limit", "1001")][..], "limit"),
            (&[("offset", "-1")][..], "offset"),
            (&[("step", "a\u{0}b")][..], "step"),
        ] {
            let error = parse(&query(pairs)).err().unwrap();
            assert!(error.to_string().contains(named), "{named}: {error}");
        }
    }

    #[test]
    fn a_lot_page_is_written_byte_for_byte_as_serde_writes_it() {
        use crate::cache::lots::LotTableBuilder;
        use crate::db::lots::LotRecord;
        use crate::db::reference::WorkcenterInfo;
        #[derive(Serialize)]
        struct SerdePage<'a> {
            #[serde(flatten)]
            page: &'a LotsPage<'a>,
            lots: Vec<LotRow<'a>>,
        }
        let wc = WorkcenterInfo {
            workcenter_id: "WB".into(),
            name: "焊線".into(),
            sequence: 1,
            workcenter_group: None,
            group_sequence: None,
        };
        let tricky = "quote \" back \\ newline \n \u{1} 中文 </script>";
        let now = DateTime::from_timestamp_micros(1_765_100_000_123_456).unwrap();
        let mut builder = LotTableBuilder::new(&[wc], &[], Vec::new());
        for i in 0..12_i64 {
            let at = (i % 4 != 0).then(|| now - chrono::Duration::minutes(i * 397 - 30));
            builder.push(LotRecord {
                product: if i % 3 == 0 {
                    tricky.into()
                } else {
                    "P".into()
                },
                package_id: "QFN".into(),
                quantity: -5 + i * 1000,
                priority: 1,
                equipment_id: (i % 2 == 0).then(|| tricky.to_string()),
                move_in_at: at,
                ..LotRecord::for_tests(&format!("L{i:02}"), "WB", "WB-QC-GATE", "QUEUE", now)
            });
        }
        let table = builder.finish();
        let page = LotsPage {
            total: 12,
            limit: 200,
            offset: 0,
            step: Some(tricky),
            bucket: Some(Bucket::H6to12),
            as_of: now,
        };
        let index = QcGateIndex::build(&table);
        let micros = now.timestamp_micros();
        // Every lot in an order unlike the positions' (the ready parts are found by
        // position), then a few.
        for positions in [(0..12).rev().collect::<Vec<u32>>(), vec![5, 2], vec![]] {
            let fast = page
                .to_json(&index, &table, positions.iter().copied(), micros)
                .unwrap();
            let serde = serde_json::to_vec(&SerdePage {
                page: &page,
                lots: positions
                    .iter()
                    .map(|&p| LotRow::new(&table, p, micros))
                    .collect(),
            })
            .unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
        assert_eq!(index.rows.get().map(RowParts::len), Some(12));
    }
}
