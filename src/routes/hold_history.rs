//! `POST /api/hold-history/query` (PRODUCT §3 `/hold-history`): a range of shift days, today
//! or the current shift, answered at once (200: the figures and the first detail page, with
//! the `job_id` whose result API pages the rest) or, from `ASYNC_QUERY_DAYS` days on, as a
//! background job (202). Queries run on the slow pool.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::hold_history::{
    self, DetailFilter, DetailRequest, HistoryQuery, Mode, PlantClock, RawQuery, compute,
    detail_page,
};
use crate::http::extract::ApiJson;
use crate::http::{ApiResponse, AppError};
use crate::jobs::{JobContext, JobRecord, Work};
use crate::routes::jobs::{PageParams, PageRequest, accepted, done_at_once, job_error, result_url};

pub use crate::hold_history::KIND;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/hold-history/query", post(query))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    mode: Option<String>,
    from: Option<String>,
    to: Option<String>,
    hold_type: Option<String>,
    reason: Option<String>,
    record_type: Option<String>,
    /// Of the first detail page.
    page_size: Option<u32>,
    sort: Option<String>,
    dir: Option<String>,
}

fn clock(app: &AppState) -> PlantClock {
    PlantClock::new(
        app.config.pages.time_zone,
        app.config.reports.shift_day_start,
    )
}

/// The detail's page request, its sort name checked.
fn detail_request(page: &PageRequest) -> Result<DetailRequest, AppError> {
    let sort = match page.sort.as_deref() {
        None => hold_history::sort_by("hold_at"),
        Some(name) => hold_history::sort_by(name),
    }
    .ok_or_else(|| {
        AppError::validation(
            "sort: one of hold_at, release_at, duration, lot_id, reason, workcenter, quantity",
        )
    })?;
    Ok(DetailRequest {
        page: page.page,
        page_size: page.page_size,
        sort,
        descending: page.descending,
    })
}

async fn query(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, AppError> {
    let raw = RawQuery {
        mode: body.mode.as_deref(),
        from: body.from.as_deref(),
        to: body.to.as_deref(),
        hold_type: body.hold_type.as_deref(),
        reason: body.reason.as_deref(),
        record_type: body.record_type.as_deref(),
    };
    let clock = clock(&app);
    let q = HistoryQuery::resolve(&raw, &clock, Utc::now())
        .map_err(|e| AppError::validation(e.to_string()))?;
    let first = PageParams {
        page: Some(1),
        page_size: body.page_size,
        sort: body.sort,
        dir: body.dir,
        ..PageParams::default()
    }
    .validate()?;
    let first = detail_request(&first)?;
    let params = serde_json::to_value(&q).map_err(AppError::internal)?;

    if q.mode == Mode::Range && q.days() >= i64::from(app.config.reports.async_query_days) {
        let work: Work = {
            let db = app.db.clone();
            let reasons = app.config.holds.non_quality_reasons.clone();
            Box::new(move |ctx: JobContext| {
                Box::pin(async move { compute(&db.slow, &q, &clock, &reasons, &ctx).await })
            })
        };
        return accepted(&app, KIND, &user.username, params, work).await;
    }

    let reasons = &app.config.holds.non_quality_reasons;
    // The figures and the first page side by side (each statement under the slow pool's
    // limit).
    let (report, detail) = tokio::try_join!(
        async {
            compute(&app.db.slow, &q, &clock, reasons, &JobContext::detached())
                .await
                .map_err(job_error)
        },
        async {
            let all = DetailFilter::default();
            Ok(detail_page(&app.db.slow, &q, &clock, reasons, &all, first).await?)
        },
    )?;
    let record = done_at_once(&app, KIND, &user.username, params, &report).await?;
    let mut data = report;
    data["job_id"] = record.id.clone().into();
    data["result_url"] = result_url(&record.id).into();
    data["detail"] = detail;
    Ok(ApiResponse::new(data).into_response())
}

/// The query a hold-history job fixed, and the detail filters of a read checked against it.
fn job_query(
    record: &JobRecord,
    page: &PageRequest,
) -> Result<(HistoryQuery, DetailFilter), AppError> {
    let q: HistoryQuery = serde_json::from_value(record.params.clone()).map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "job {}: unreadable parameters: {e}",
            record.id
        ))
    })?;
    let filter =
        DetailFilter::parse(&page.filter, &q).map_err(|e| AppError::validation(e.to_string()))?;
    Ok((q, filter))
}

/// Checks a read's page and detail filters before anything is read (a bad one is 400 even
/// when the result is gone).
pub fn check_read(record: &JobRecord, page: &PageRequest) -> Result<(), AppError> {
    detail_request(page)?;
    job_query(record, page).map(|_| ())
}

/// A page of a hold-history job's detail, over the window the job fixed, narrowed by the
/// read's detail filters.
pub async fn result_page(
    app: &AppState,
    record: &JobRecord,
    page: &PageRequest,
) -> Result<Value, AppError> {
    let (q, filter) = job_query(record, page)?;
    let request = detail_request(page)?;
    Ok(detail_page(
        &app.db.slow,
        &q,
        &clock(app),
        &app.config.holds.non_quality_reasons,
        &filter,
        request,
    )
    .await?)
}

/// Rows fetched per statement when exporting a detail.
const EXPORT_CHUNK: u32 = 5_000;

/// The CSV header keys of a hold-history detail (catalogue `locales/*/hold.ftl`).
const CSV_COLUMNS: &[&str] = &[
    "hold-lot-col-lot",
    "hold-lot-col-product",
    "hold-lot-col-package",
    "hold-lot-col-workcenter",
    "hold-lot-col-step",
    "hold-lot-col-quantity",
    "hold-lot-col-reason",
    "hold-lot-col-type",
    "hold-lot-col-hold-at",
    "hold-lot-col-by",
    "hold-lot-col-department",
    "hold-lot-col-comment",
    "hold-hi-col-future",
    "hold-lot-col-future-comment",
    "hold-hi-col-released-at",
    "hold-hi-col-released-by",
    "hold-lot-col-duration",
];

/// Every row of a hold-history job's detail (its filters and record type, in the page's
/// order) as a CSV file, up to `CSV_EXPORT_MAX_ROWS` (read a chunk at a time on the slow pool,
/// then streamed).
pub async fn result_csv(
    app: &AppState,
    record: &JobRecord,
    page: &PageRequest,
    lang: crate::i18n::Lang,
) -> Result<Response, AppError> {
    let max = app.config.pages.csv_export_max_rows;
    let mut rows: Vec<Value> = Vec::new();
    let mut chunk = PageRequest {
        page: 1,
        page_size: EXPORT_CHUNK,
        sort: page.sort.clone(),
        descending: page.descending,
        csv: false,
        filter: page.filter.clone(),
    };
    // One row past the cap tells the file to say where it stopped.
    while rows.len() <= max {
        let found = result_page(app, record, &chunk).await?;
        let got = found["rows"].as_array().cloned().unwrap_or_default();
        let n = got.len();
        rows.extend(got);
        if n < EXPORT_CHUNK as usize {
            break;
        }
        chunk.page += 1;
    }
    let mut next = rows.into_iter();
    let file = crate::http::csv::CsvFile {
        report: "hold_history".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: max,
        columns: CSV_COLUMNS,
    };
    Ok(crate::http::csv::respond(
        file,
        move |write: &mut dyn FnMut(&[crate::http::csv::Cell<'_>])| {
            use crate::http::csv::Cell;
            let Some(row) = next.next() else {
                return false;
            };
            let text = |name: &str| row[name].as_str().map_or(Cell::Empty, Cell::Text);
            let time = |name: &str| {
                row[name]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map_or(Cell::Empty, |t| Cell::Time(t.with_timezone(&Utc)))
            };
            let hours = row["duration_seconds"]
                .as_i64()
                .map(|s| format!("{:.2}", s as f64 / 3600.0));
            let future = if row["future_hold"].as_bool() == Some(true) {
                "Y"
            } else {
                ""
            };
            write(&[
                text("lot_id"),
                text("product"),
                text("package_id"),
                text("workcenter_id"),
                text("step"),
                row["quantity"].as_i64().map_or(Cell::Empty, Cell::Int),
                text("hold_reason"),
                text("hold_type"),
                time("hold_at"),
                text("hold_by"),
                text("hold_department"),
                text("hold_comment"),
                Cell::Text(future),
                text("future_hold_comment"),
                time("release_at"),
                text("release_by"),
                hours.as_deref().map_or(Cell::Empty, Cell::Text),
            ]);
            true
        },
    ))
}
