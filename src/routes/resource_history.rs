//! `POST /api/resource/history/query` (PRODUCT §3 `/resource-history`): hours per E10 state,
//! OU % and AVAIL % of the tools a filter admits over a range of shift days, by day, week,
//! month or year. Answered at once (200: the figures, the charts in the request's language and
//! the first page of tool rows, with the `job_id` whose result API pages the rest) or, from
//! `ASYNC_QUERY_DAYS` days on, as a background job (202). Queries run on the slow pool.
//! And the `/resource-history` page, whose script calls it.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::equipment::E10_STATES;
use crate::http::csv::{self, Cell, CsvFile};
use crate::http::extract::ApiJson;
use crate::http::{ApiResponse, AppError};
use crate::i18n::Lang;
use crate::jobs::{JobContext, JobRecord, Work};
use crate::resource_history::{self, HistoryQuery, RawFilter, RawQuery, compute};
use crate::routes::catalog;
use crate::routes::jobs::{PageParams, PageRequest, accepted, done_at_once, job_error};
use crate::session::SessionHandle;
use crate::templates;

pub use crate::resource_history::KIND;

mod charts;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/resource/history/query", post(query))
        .route("/resource-history", get(page))
}

/// A flag as JSON gives it: `true`, or `"true"` as the page's URL keeps it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn as_str(&self) -> &str {
        match self {
            Flag::Bool(true) => "true",
            Flag::Bool(false) => "false",
            Flag::Text(t) => t,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    from: Option<String>,
    to: Option<String>,
    granularity: Option<String>,
    workcenter_group: Option<String>,
    location: Option<String>,
    family: Option<String>,
    tool: Option<String>,
    package_group: Option<String>,
    production: Option<Flag>,
    key: Option<Flag>,
    monitored: Option<Flag>,
    /// Of the first page of tool rows.
    page_size: Option<u32>,
}

fn clock(app: &AppState) -> crate::hold_history::PlantClock {
    crate::hold_history::PlantClock::new(
        app.config.pages.time_zone,
        app.config.reports.shift_day_start,
    )
}

async fn query(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, AppError> {
    let raw = RawQuery {
        from: body.from.as_deref(),
        to: body.to.as_deref(),
        granularity: body.granularity.as_deref(),
        filter: RawFilter {
            workcenter_group: body.workcenter_group.as_deref(),
            location: body.location.as_deref(),
            family: body.family.as_deref(),
            tool: body.tool.as_deref(),
            package_group: body.package_group.as_deref(),
            production: body.production.as_ref().map(Flag::as_str),
            key: body.key.as_ref().map(Flag::as_str),
            monitored: body.monitored.as_ref().map(Flag::as_str),
        },
    };
    let q = HistoryQuery::resolve(&raw, &clock(&app))
        .map_err(|e| AppError::validation(e.to_string()))?;
    let first = PageParams {
        page: Some(1),
        page_size: body.page_size,
        ..PageParams::default()
    }
    .validate()?;
    let params = serde_json::to_value(&q).map_err(AppError::internal)?;

    if q.days() >= i64::from(app.config.reports.async_query_days) {
        let work: Work = {
            let db = app.db.clone();
            let clock = clock(&app);
            Box::new(move |ctx: JobContext| {
                Box::pin(async move { compute(&db.slow, &clock, &q, &ctx).await })
            })
        };
        return accepted(&app, KIND, &user.username, params, work).await;
    }

    let report = compute(&app.db.slow, &clock(&app), &q, &JobContext::detached())
        .await
        .map_err(job_error)?;
    let record = done_at_once(&app, KIND, &user.username, params, &report).await?;
    let data = answer(report, &record, &first, lang);
    Ok(ApiResponse::new(data).into_response())
}

/// A stored report as the API shows it: the tool rows paged (`detail`), the charts drawn in
/// the reader's language (with the first page), the job's id and result URL.
pub fn answer(mut report: Value, record: &JobRecord, page: &PageRequest, lang: Lang) -> Value {
    let detail = crate::jobs::page_rows(
        &report,
        page.page,
        u64::from(page.page_size),
        page.sort.as_deref(),
        // Rows keep the group → family → tool order unless a sort is asked for.
        page.sort.is_some() && page.descending,
    );
    // The charts go with the first page (a page reading the other rows needs only them).
    if page.page == 1 {
        report["charts"] = charts::render(&report, lang);
    }
    if let Some(object) = report.as_object_mut() {
        object.remove("rows");
    }
    report["job_id"] = record.id.clone().into();
    report["result_url"] = crate::routes::jobs::result_url(&record.id).into();
    report["detail"] = detail;
    report
}

const CSV_COLUMNS: &[&str] = &[
    "rh-col-group",
    "rh-col-family",
    "col-tool",
    "col-workcenter",
    "rh-col-location",
    "rh-col-package-group",
    "rh-col-prd",
    "rh-col-sby",
    "rh-col-udt",
    "rh-col-sdt",
    "rh-col-egt",
    "rh-col-nst",
    "rh-col-ou",
    "rh-col-avail",
];

/// Every tool row of a stored report as CSV (hours and percentages with two decimals).
pub fn csv(app: &AppState, lang: Lang, report: Value) -> Response {
    let file = CsvFile {
        report: "resource_history".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: CSV_COLUMNS,
    };
    let rows = match report {
        Value::Object(mut o) => match o.remove("rows") {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut rows = rows.into_iter();
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(r) = rows.next() else {
            return false;
        };
        let text = |field: &str| r[field].as_str().map(str::to_string);
        let number = |field: &str| r[field].as_f64().map(|n| format!("{n:.2}"));
        let cells: Vec<Option<String>> = vec![
            text("workcenter_group"),
            text("family"),
            text("equipment_id"),
            text("workcenter_id"),
            text("location"),
            text("package_group"),
            number("prd_hours"),
            number("sby_hours"),
            number("udt_hours"),
            number("sdt_hours"),
            number("egt_hours"),
            number("nst_hours"),
            number("ou_pct"),
            number("avail_pct"),
        ];
        let cells: Vec<Cell<'_>> = cells.iter().map(|c| c.as_deref().into()).collect();
        write(&cells);
        true
    })
}

/// The equipment history page: the form (its filters read back from the URL by the script)
/// and the places the answer goes. The tools offered come from the equipment snapshot when it
/// is loaded (no query here).
async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/resource-history", lang).await?;
    let tools: Vec<String> = app
        .equipment
        .current()
        .map(|s| s.tools.iter().map(|t| t.equipment_id.clone()).collect())
        .unwrap_or_default();
    templates::render(
        "resource_history.html",
        &layout,
        &serde_json::json!({
            "tools": tools,
            "max_days": resource_history::MAX_DAYS,
            "config": {
                "query_url": "/api/resource/history/query",
                "states": E10_STATES,
                "max_days": resource_history::MAX_DAYS,
                "async_days": app.config.reports.async_query_days,
            },
        }),
    )
}
