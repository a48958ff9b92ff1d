//! One hold reason's APIs (`/hold-detail?reason=`), per request from the WIP snapshot with the
//! hold filters of [`super::hold_params`] (`reason` required): `GET /api/hold-detail/summary`
//! (the reason's type and its cards), `GET /api/hold-detail/distribution` (days at station,
//! by workcenter, by package) and `GET /api/hold-detail/lots` (sorted, paged, or CSV).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::middleware::from_fn;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::Tally;
use crate::cache::hold_query::{self, Group, HoldFilter, ReasonFilter};
use crate::http::AppError;
use crate::http::csv::{self, Export};
use crate::i18n::Lang;
use crate::json::RawJson;
use crate::routes::hold_params::{self as hp, HOLD_EXTRA, LIST_EXTRA};
use crate::routes::wip::served;
use crate::routes::wip_params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hold-detail/summary", get(summary))
        .route("/api/hold-detail/distribution", get(distribution))
        .route(
            "/api/hold-detail/lots",
            get(lots).layer(from_fn(csv::negotiate)),
        )
}

/// The filter, which must name a reason.
fn reason_filter(params: &Params<'_>) -> Result<HoldFilter, AppError> {
    let filter = hp::filter(params)?;
    if filter.reason.is_none() {
        return Err(AppError::validation(
            "reason: required, the hold reason as listed by /api/hold-overview/summary",
        ));
    }
    Ok(filter)
}

/// The reason as given and its hold type (from `NON_QUALITY_HOLD_REASONS`).
fn reason_of(app: &AppState, filter: &HoldFilter) -> (String, &'static str) {
    match &filter.reason {
        Some(ReasonFilter::Named(r)) => (
            r.clone(),
            app.config
                .holds
                .non_quality_reasons
                .hold_type(Some(r))
                .as_str(),
        ),
        _ => (
            crate::cache::aggregate::NO_REASON.to_string(),
            crate::config::HoldType::Quality.as_str(),
        ),
    }
}

#[derive(Serialize)]
struct Summary {
    as_of: DateTime<Utc>,
    reason: String,
    /// `quality` or `non-quality`: the reason's type.
    reason_type: &'static str,
    total: Tally,
    average_age_days: Option<f64>,
    longest_age_days: Option<f64>,
    workcenter_groups: usize,
    workcenters: usize,
    packages: usize,
}

async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &HOLD_EXTRA)?;
    let filter = reason_filter(&params)?;
    let served = served(&app).await?;
    let (now, as_of) = hp::now();
    let table = &served.snapshot.table;
    let held = served.snapshot.held(&filter, now);
    let figures = hold_query::figures(table, &held.positions, now);
    let (reason, reason_type) = reason_of(&app, &filter);
    let data = RawJson::from_value(&Summary {
        as_of,
        reason,
        reason_type,
        total: figures.total,
        average_age_days: figures.average_age_days.map(hp::round2),
        longest_age_days: figures.longest_age_days.map(hp::round2),
        workcenter_groups: figures.workcenter_groups,
        workcenters: figures.by_workcenter.len(),
        packages: figures.by_package.len(),
    })
    .map_err(AppError::internal)?;
    Ok(hp::respond(&app, &served, data))
}

#[derive(Serialize)]
struct Distribution<'a> {
    as_of: DateTime<Utc>,
    reason: String,
    total: Tally,
    /// Every range in order (0-1, 1-3, 3-7, 7+), empty ones included.
    by_age: Vec<Group<'a>>,
    /// Route order.
    by_workcenter: Vec<Group<'a>>,
    by_package: Vec<Group<'a>>,
}

async fn distribution(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &HOLD_EXTRA)?;
    let filter = reason_filter(&params)?;
    let served = served(&app).await?;
    let (now, as_of) = hp::now();
    let table = &served.snapshot.table;
    let held = served.snapshot.held(&filter, now);
    let figures = hold_query::figures(table, &held.positions, now);
    let (reason, _) = reason_of(&app, &filter);
    let data = RawJson::from_value(&Distribution {
        as_of,
        reason,
        total: figures.total,
        by_age: figures.by_age,
        by_workcenter: figures.by_workcenter,
        by_package: figures.by_package,
    })
    .map_err(AppError::internal)?;
    Ok(hp::respond(&app, &served, data))
}

async fn lots(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
    export: Export,
    lang: Lang,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &LIST_EXTRA)?;
    let filter = reason_filter(&params)?;
    let served = served(&app).await?;
    hp::lots(&app, &served, &params, &filter, export, lang, "hold_detail").await
}
