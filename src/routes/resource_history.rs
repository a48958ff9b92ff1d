//! `POST /api/resource/history/query`: hours per E10 state, availability and utilization of
//! each tool over a time range — a long report, so it runs on the slow pool and its
//! concurrency limit (busy → 503 `SERVICE_UNAVAILABLE` with `Retry-After`); and the
//! `/resource-history` page, a form whose script calls that API and renders its answer.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db::history::{self, E10Hours};
use crate::equipment::E10_STATES;
use crate::http::extract::ApiJson;
use crate::http::{ApiResponse, AppError};
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

/// The longest range one query may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/resource/history/query", post(query))
        .route("/resource-history", get(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    #[serde(default)]
    workcenter: Option<String>,
    /// `equipment` (default: one row per tool) or `workcenter`.
    #[serde(default)]
    group_by: GroupBy,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum GroupBy {
    #[default]
    Equipment,
    Workcenter,
}

#[derive(Debug, Serialize)]
struct Row {
    /// The tool id, or the workcenter id when grouped by workcenter.
    id: String,
    workcenter: String,
    hours: E10Hours,
    availability_pct: Option<f64>,
    utilization_pct: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Answer {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: &'static str,
    rows: Vec<Row>,
    total: Row,
}

fn validate(q: &HistoryQuery) -> Result<(), AppError> {
    if q.to <= q.from {
        return Err(AppError::validation("to: must be after from"));
    }
    if (q.to - q.from).num_days() > MAX_RANGE_DAYS {
        return Err(AppError::validation(format!(
            "to: the range may cover at most {MAX_RANGE_DAYS} days"
        )));
    }
    if let Some(wc) = &q.workcenter {
        validate_workcenter(wc)?;
    }
    Ok(())
}

fn row(id: String, workcenter: String, hours: &E10Hours) -> Row {
    Row {
        id,
        workcenter,
        availability_pct: hours.availability_pct(),
        utilization_pct: hours.utilization_pct(),
        hours: hours.rounded(),
    }
}

async fn query(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiJson(q): ApiJson<HistoryQuery>,
) -> Result<ApiResponse<Answer>, AppError> {
    validate(&q)?;
    let spans = history::state_seconds(&app.db.slow, q.from, q.to, q.workcenter.as_deref()).await?;

    // (id, workcenter) → hours, in workcenter then id order.
    let mut groups: BTreeMap<(String, String), E10Hours> = BTreeMap::new();
    let mut total = E10Hours::default();
    for s in &spans {
        let id = match q.group_by {
            GroupBy::Equipment => s.equipment_id.clone(),
            GroupBy::Workcenter => s.workcenter_id.clone(),
        };
        let hours = s.seconds.max(0.0) / 3600.0;
        groups
            .entry((s.workcenter_id.clone(), id))
            .or_default()
            .add(&s.e10_state, hours);
        total.add(&s.e10_state, hours);
    }
    let rows = groups
        .into_iter()
        .map(|((workcenter, id), hours)| row(id, workcenter, &hours))
        .collect();
    Ok(ApiResponse::new(Answer {
        from: q.from,
        to: q.to,
        group_by: match q.group_by {
            GroupBy::Equipment => "equipment",
            GroupBy::Workcenter => "workcenter",
        },
        rows,
        total: row("total".into(), q.workcenter.unwrap_or_default(), &total),
    }))
}

/// The equipment history page: the form and, once submitted, the answer as a table. The
/// workcenters offered come from the equipment snapshot when it is loaded (no query here).
async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/resource-history", lang).await?;
    let mut workcenters: Vec<String> = app
        .equipment
        .current()
        .map(|s| s.tools.iter().map(|t| t.workcenter_id.clone()).collect())
        .unwrap_or_default();
    workcenters.sort_unstable();
    workcenters.dedup();
    templates::render(
        "resource_history.html",
        &layout,
        &serde_json::json!({
            "workcenters": workcenters,
            "max_range_days": MAX_RANGE_DAYS,
            "config": {
                "query_url": "/api/resource/history/query",
                "states": E10_STATES,
                "max_range_days": MAX_RANGE_DAYS,
            },
        }),
    )
}

/// A workcenter filter: 1 to 32 letters, digits, '-' or '_' (400 naming `workcenter` otherwise).
pub(crate) fn validate_workcenter(wc: &str) -> Result<(), AppError> {
    let plain = !wc.is_empty()
        && wc.len() <= 32
        && wc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(AppError::validation(
            "workcenter: 1 to 32 letters, digits, '-' or '_'",
        ))
    }
}
