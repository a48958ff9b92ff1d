//! The maintenance job query (PRODUCT §3 `/job-query`): the jobs of chosen tools open at some
//! time within a range of shift days, each with its transactions.
//!
//! - `GET /api/jobs-maintenance/tools?q=` — tool ids containing `q` (any case), at most 50,
//!   from the equipment snapshot (no query), for the search as you type;
//! - `POST /api/jobs-maintenance/query` `{tools, from, to}` — the jobs, on the slow pool; the
//!   same as `GET …/query?tools=&from=&to=`, which with `format=csv` is the export;
//! - `GET /api/jobs-maintenance/{job_id}/transactions` — one job's transactions, in order.

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db::maintenance::{self, MaintenanceJob};
use crate::hold_history::PlantClock;
use crate::http::csv::{self, Cell, CsvFile, Export};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiResponse, AppError};
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

/// Most tool ids a search answers.
pub const MAX_MATCHES: usize = 50;
/// Most tools one query names.
pub const MAX_TOOLS: usize = 200;
/// The longest range, in shift days.
pub const MAX_DAYS: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/jobs-maintenance/tools", get(tools))
        .route(
            "/api/jobs-maintenance/query",
            get(query_get)
                .post(query_post)
                .layer(from_fn(csv::negotiate)),
        )
        .route(
            "/api/jobs-maintenance/{job_id}/transactions",
            get(transactions),
        )
        .route("/job-query", get(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    q: Option<String>,
}

async fn tools(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(search): ApiQuery<Search>,
) -> Result<ApiResponse<serde_json::Value>, AppError> {
    let needle = search.q.unwrap_or_default().trim().to_lowercase();
    if needle.chars().count() > 64 || needle.chars().any(char::is_control) {
        return Err(AppError::validation(
            "q: at most 64 characters without control characters",
        ));
    }
    let snapshot = app.equipment.current();
    let matches: Vec<&str> = snapshot
        .iter()
        .flat_map(|s| s.tools.iter())
        .map(|t| t.equipment_id.as_str())
        .filter(|id| needle.is_empty() || id.to_lowercase().contains(&needle))
        .take(MAX_MATCHES)
        .collect();
    Ok(ApiResponse::new(json!({ "tools": matches })))
}

/// A query as JSON or the URL give it: tools as a list or a comma list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    tools: Option<Tools>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tools {
    List(Vec<String>),
    Text(String),
}

/// A validated query: the tools and the window `[start, end)` of shift days `from..=to`.
struct Resolved {
    tools: Vec<String>,
    from: NaiveDate,
    to: NaiveDate,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
}

fn date(text: Option<&str>, field: &str) -> Result<NaiveDate, AppError> {
    let text =
        text.ok_or_else(|| AppError::validation(format!("{field}: required (YYYY-MM-DD)")))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::validation(format!("{field}: {text:?} is not a date (YYYY-MM-DD)")))
}

fn resolve(app: &AppState, body: Body) -> Result<Resolved, AppError> {
    let mut tools: Vec<String> = match body.tools {
        None => Vec::new(),
        Some(Tools::List(list)) => list,
        Some(Tools::Text(text)) => text.split(',').map(str::to_string).collect(),
    };
    tools = tools
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    tools.sort_unstable();
    tools.dedup();
    if tools.is_empty() {
        return Err(AppError::validation("tools: choose at least one tool"));
    }
    if tools.len() > MAX_TOOLS {
        return Err(AppError::validation(format!(
            "tools: at most {MAX_TOOLS} tools"
        )));
    }
    if tools
        .iter()
        .any(|t| t.chars().count() > 64 || t.chars().any(char::is_control))
    {
        return Err(AppError::validation(
            "tools: each 1 to 64 characters without control characters",
        ));
    }
    let from = date(body.from.as_deref(), "from")?;
    let to = date(body.to.as_deref(), "to")?;
    if to < from {
        return Err(AppError::validation(format!(
            "to: {to} is before from ({from})"
        )));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(AppError::validation(format!(
            "to: the range covers {days} days; at most {MAX_DAYS}"
        )));
    }
    let clock = PlantClock::new(
        app.config.pages.time_zone,
        app.config.reports.shift_day_start,
    );
    Ok(Resolved {
        start: clock.day_begins(from),
        end: clock.day_begins(to + Days::new(1)),
        tools,
        from,
        to,
    })
}

async fn query_get(
    State(app): State<AppState>,
    _user: CurrentUser,
    export: Export,
    lang: Lang,
    ApiQuery(body): ApiQuery<Body>,
) -> Result<Response, AppError> {
    answer(&app, export, lang, body).await
}

async fn query_post(
    State(app): State<AppState>,
    _user: CurrentUser,
    export: Export,
    lang: Lang,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, AppError> {
    answer(&app, export, lang, body).await
}

async fn answer(
    app: &AppState,
    export: Export,
    lang: Lang,
    body: Body,
) -> Result<Response, AppError> {
    let q = resolve(app, body)?;
    let jobs = maintenance::jobs_between(&app.db.slow, q.start, q.end, &q.tools).await?;
    if export == Export::Csv {
        return Ok(jobs_csv(app, lang, jobs));
    }
    Ok(ApiResponse::new(json!({
        "window": {
            "from": q.from,
            "to": q.to,
            "start": crate::timefmt::iso8601(q.start),
            "end": crate::timefmt::iso8601(q.end),
        },
        "tools": q.tools,
        "total": jobs.len(),
        "jobs": jobs,
    }))
    .into_response())
}

fn jobs_csv(app: &AppState, lang: Lang, jobs: Vec<MaintenanceJob>) -> Response {
    let file = CsvFile {
        report: "maintenance_jobs".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "jq-col-job",
            "jq-col-order",
            "jq-col-status",
            "jq-col-model",
            "jq-col-stage",
            "col-tool",
            "jq-col-created",
            "jq-col-completed",
            "jq-col-symptom",
            "jq-col-cause",
            "jq-col-repair",
            "jq-col-technician",
        ],
    };
    let mut jobs = jobs.into_iter();
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(j) = jobs.next() else {
            return false;
        };
        write(&[
            j.job_id.as_str().into(),
            j.job_order.as_deref().into(),
            j.status.as_str().into(),
            j.model.as_deref().into(),
            j.stage.as_deref().into(),
            j.equipment_id.as_str().into(),
            Some(j.created_at).into(),
            j.completed_at.into(),
            j.symptom_code.as_deref().into(),
            j.cause_code.as_deref().into(),
            j.repair_code.as_deref().into(),
            j.technician.as_deref().into(),
        ]);
        true
    })
}

async fn transactions(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(job_id): ApiPath<String>,
) -> Result<ApiResponse<serde_json::Value>, AppError> {
    let plain = !job_id.is_empty()
        && job_id.len() <= 64
        && job_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plain {
        return Err(AppError::validation(
            "job_id: 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    let Some(job) = maintenance::job(&app.db.slow, &job_id).await? else {
        return Err(AppError::not_found(format!("no maintenance job {job_id}")));
    };
    let transactions = maintenance::transactions(&app.db.slow, &job_id).await?;
    Ok(ApiResponse::new(json!({
        "job": job,
        "transactions": transactions,
    })))
}

/// The job query page: the form (tools searched as you type, the range) and the job table.
async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/job-query", lang).await?;
    templates::render(
        "job_query.html",
        &layout,
        &json!({
            "max_days": MAX_DAYS,
            "config": {
                "query_url": "/api/jobs-maintenance/query",
                "tools_url": "/api/jobs-maintenance/tools",
                "transactions_url": "/api/jobs-maintenance/{job_id}/transactions",
                "max_tools": MAX_TOOLS,
            },
        }),
    )
}
