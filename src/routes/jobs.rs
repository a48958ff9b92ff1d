//! The background-job API (PRODUCT §4), shared by every report: a job's state, its result
//! page by page (or whole as CSV with `?format=csv`, for the reports that write one), and its
//! cancel. The runner and the store are `jobs/`; how each report pages
//! its result is decided here, by the job's kind.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::auth::User;
use crate::auth::extract::is_admin;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::{ApiResponse, AppError};
use crate::i18n::Lang;
use crate::jobs::{self, JobError, JobRecord, JobState, StoreError, SubmitError, Work};
use crate::routes::{hold_history, resource_history};

/// How long a cancel waits for the job's worker to confirm (it acts within a beat).
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/{id}", get(status))
        .route("/api/jobs/{id}/result", get(result))
        .route("/api/jobs/{id}/cancel", post(cancel))
}

pub fn status_url(id: &str) -> String {
    format!("/api/jobs/{id}")
}

pub fn result_url(id: &str) -> String {
    format!("/api/jobs/{id}/result")
}

/// A job as the API shows it.
pub fn view(r: &JobRecord) -> Value {
    json!({
        "job_id": r.id,
        "kind": r.kind,
        "owner": r.owner,
        "state": r.state,
        "progress": r.progress,
        "error": r.error,
        "cancel_requested": r.cancel_requested,
        "created_at": crate::timefmt::iso8601(r.created_at),
        "started_at": r.started_at.map(crate::timefmt::iso8601),
        "finished_at": r.finished_at.map(crate::timefmt::iso8601),
        "expires_at": crate::timefmt::iso8601(r.expires_at),
        "expired": r.state == JobState::Done && r.is_expired(Utc::now()),
        "status_url": status_url(&r.id),
        "result_url": (r.state == JobState::Done).then(|| result_url(&r.id)),
    })
}

pub fn store_error(e: StoreError) -> AppError {
    match e {
        StoreError::Db(e) => AppError::Db(e),
        StoreError::Redis(e) => AppError::ServiceUnavailable {
            message: format!("the job store is unavailable: {e}"),
            retry_after: 5,
        },
        StoreError::Corrupt(detail) => AppError::internal(anyhow::anyhow!(detail)),
    }
}

pub fn submit_error(e: SubmitError) -> AppError {
    match e {
        SubmitError::QueueFull { retry_after, .. } => AppError::TooManyRequests {
            message: format!("{e}; retry in {retry_after} seconds"),
            retry_after,
        },
        SubmitError::ShuttingDown => AppError::ServiceUnavailable {
            message: "the server is shutting down; retry on another".into(),
            retry_after: 5,
        },
        SubmitError::Store(e) => store_error(e),
    }
}

/// A report's work that failed while answering at once.
pub fn job_error(e: JobError) -> AppError {
    match e {
        JobError::Db(e) => AppError::Db(e),
        other => AppError::internal(anyhow::anyhow!(other.to_string())),
    }
}

/// Submits a report's `work` as a background job: 202 with `{job_id, state, status_url,
/// result_url}` (PRODUCT §4), the answer of every report past `ASYNC_QUERY_DAYS`.
pub async fn accepted(
    app: &AppState,
    kind: &str,
    owner: &str,
    params: Value,
    work: Work,
) -> Result<Response, AppError> {
    let record = app
        .jobs
        .submit(kind, owner, params, work)
        .await
        .map_err(submit_error)?;
    let data = json!({
        "job_id": record.id,
        "state": record.state,
        "status_url": status_url(&record.id),
        "result_url": result_url(&record.id),
    });
    Ok((StatusCode::ACCEPTED, ApiResponse::new(data)).into_response())
}

/// Keeps a report answered at once as a finished job, so its pages (and its CSV) are read
/// through the result API like a background job's.
pub async fn done_at_once(
    app: &AppState,
    kind: &str,
    owner: &str,
    params: Value,
    report: &Value,
) -> Result<JobRecord, AppError> {
    app.jobs
        .record_done(kind, owner, params, report)
        .await
        .map_err(store_error)
}

/// The job `id` when `user` may see it (its owner or an administrator).
pub(crate) async fn load(app: &AppState, user: &User, id: &str) -> Result<JobRecord, AppError> {
    let not_found = || AppError::not_found(format!("no job {id}"));
    if !jobs::valid_id(id) {
        return Err(not_found());
    }
    let record = app
        .jobs
        .status(id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    if record.owner != user.username && !is_admin(app, user) {
        return Err(AppError::Forbidden(format!(
            "job {id} belongs to {}; only its owner or an administrator may see or cancel it",
            record.owner
        )));
    }
    Ok(record)
}

async fn status(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiResponse<Value>, AppError> {
    let record = load(&app, &user, &id).await?;
    Ok(ApiResponse::new(view(&record)))
}

/// `page`, `page_size`, `sort`, `dir` of a result read, and the hold history's detail
/// filters (`day`, `reason`, `duration_bucket`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub page: Option<u64>,
    pub page_size: Option<u32>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub format: Option<String>,
    pub day: Option<String>,
    pub reason: Option<String>,
    pub duration_bucket: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u32,
    pub sort: Option<String>,
    pub descending: bool,
    /// Every row as CSV instead (`format=csv`), for the reports that export one.
    pub csv: bool,
    /// The detail's own filters, checked by the report that has them.
    pub filter: crate::hold_history::RawDetailFilter,
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

impl PageParams {
    pub fn validate(self) -> Result<PageRequest, AppError> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(AppError::validation("page: pages count from 1"));
        }
        let page_size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(AppError::validation(format!(
                "page_size: 1 to {MAX_PAGE_SIZE}"
            )));
        }
        let descending = match self.dir.as_deref() {
            None => None,
            Some("asc") => Some(false),
            Some("desc") => Some(true),
            Some(other) => {
                return Err(AppError::validation(format!(
                    "dir: {other:?} is not asc or desc"
                )));
            }
        };
        let csv = match self.format.as_deref() {
            None | Some("json") => false,
            Some("csv") => true,
            Some(format) => {
                return Err(AppError::validation(format!(
                    "format: {format:?} is not csv or json"
                )));
            }
        };
        Ok(PageRequest {
            page,
            page_size,
            // Newest first unless asked otherwise, when sorting by the default.
            descending: descending.unwrap_or(self.sort.is_none()),
            sort: self.sort,
            csv,
            filter: crate::hold_history::RawDetailFilter {
                day: self.day,
                reason: self.reason,
                duration_bucket: self.duration_bucket,
            },
        })
    }
}

async fn result(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Response, AppError> {
    let page = params.validate()?;
    let record = load(&app, &user, &id).await?;
    if let Some(field) = page.filter.first_field()
        && record.kind != hold_history::KIND
    {
        return Err(AppError::validation(format!(
            "{field}: the result of a {} job has no detail filters",
            record.kind
        )));
    }
    if record.kind == hold_history::KIND {
        hold_history::check_read(&record, &page)?;
    }
    if page.csv && record.kind != resource_history::KIND && record.kind != hold_history::KIND {
        return Err(AppError::validation(format!(
            "format: the result of a {} job is served as json only",
            record.kind
        )));
    }
    match record.state {
        JobState::Done => {}
        JobState::Queued | JobState::Running => {
            return Err(AppError::Conflict {
                message: format!(
                    "job {id} is still {} ({} %): poll {} until it is done",
                    record.state.as_str(),
                    record.progress,
                    status_url(&id)
                ),
                code: None,
            });
        }
        JobState::Failed | JobState::Cancelled => {
            return Err(AppError::Conflict {
                message: format!(
                    "job {id} {} and has no result: {}",
                    record.state.as_str(),
                    record.error.as_deref().unwrap_or("no reason recorded")
                ),
                code: None,
            });
        }
    }
    let expired = || {
        AppError::JobExpired(format!(
            "the result of job {id} expired at {} (JOB_RESULT_TTL); run the query again",
            crate::timefmt::iso8601(record.expires_at)
        ))
    };
    if record.is_expired(Utc::now()) {
        return Err(expired());
    }
    let text = app
        .jobs
        .result(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(expired)?;
    if page.csv && record.kind == hold_history::KIND {
        return hold_history::result_csv(&app, &record, &page, lang).await;
    }
    let mut stored: Value = serde_json::from_str(&text)
        .map_err(|e| AppError::internal(anyhow::anyhow!("job {id}: unreadable result: {e}")))?;
    let detail = match record.kind.as_str() {
        hold_history::KIND => hold_history::result_page(&app, &record, &page).await?,
        resource_history::KIND if page.csv => {
            return Ok(resource_history::csv(&app, lang, stored));
        }
        resource_history::KIND => {
            let data = resource_history::answer(stored, &record, &page, lang);
            return Ok(ApiResponse::new(data).into_response());
        }
        _ => {
            let rows = jobs::page_rows(
                &stored,
                page.page,
                u64::from(page.page_size),
                page.sort.as_deref(),
                page.descending,
            );
            if let Some(object) = stored.as_object_mut() {
                object.remove("rows");
            }
            rows
        }
    };
    stored["job_id"] = id.clone().into();
    stored["detail"] = detail;
    Ok(ApiResponse::new(stored).into_response())
}

async fn cancel(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiResponse<Value>, AppError> {
    let record = load(&app, &user, &id).await?;
    if record.state.is_final() {
        return Err(AppError::Conflict {
            message: format!("job {id} already finished: {}", record.state.as_str()),
            code: None,
        });
    }
    let seen = app
        .jobs
        .cancel(&record, &user.username, CANCEL_WAIT)
        .await
        .map_err(store_error)?;
    Ok(ApiResponse::new(view(&seen)))
}
