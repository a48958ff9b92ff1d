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
    self, DetailRequest, HistoryQuery, Mode, PlantClock, RawQuery, compute, detail_page,
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
        format: None,
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
        async { Ok(detail_page(&app.db.slow, &q, reasons, first).await?) },
    )?;
    let record = done_at_once(&app, KIND, &user.username, params, &report).await?;
    let mut data = report;
    data["job_id"] = record.id.clone().into();
    data["result_url"] = result_url(&record.id).into();
    data["detail"] = detail;
    Ok(ApiResponse::new(data).into_response())
}

/// A page of a hold-history job's detail, over the window the job fixed.
pub async fn result_page(
    app: &AppState,
    record: &JobRecord,
    page: &PageRequest,
) -> Result<Value, AppError> {
    let q: HistoryQuery = serde_json::from_value(record.params.clone()).map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "job {}: unreadable parameters: {e}",
            record.id
        ))
    })?;
    let request = detail_request(page)?;
    Ok(detail_page(
        &app.db.slow,
        &q,
        &app.config.holds.non_quality_reasons,
        request,
    )
    .await?)
}
