//! `GET /api/wip/meta/filter-options` (the values of each filter field among the lots the
//! other filters let through, with their lot counts) and `GET /api/wip/meta/search` (values
//! of one field as the user types: those starting with the text first, then those containing
//! it). Both read the snapshot's dictionaries and indexes; no database call.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use serde::Serialize;

use super::wip::{filtered, served};
use super::wip_params::Params;
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::filter::FilterField;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::json::RawJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/wip/meta/filter-options", get(filter_options))
        .route("/api/wip/meta/search", get(search))
}

/// Most suggestions one search returns, and by default.
pub const MAX_SEARCH_LIMIT: usize = 50;
pub const DEFAULT_SEARCH_LIMIT: usize = 20;

async fn filter_options(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<RawApiResponse, AppError> {
    filtered(
        &app,
        query.as_deref(),
        |s| &s.filter_options,
        |s, f| RawJson::from_value(&s.filter_options(f)),
    )
    .await
}

#[derive(Serialize)]
struct Suggestions<'a> {
    field: &'static str,
    q: &'a str,
    limit: usize,
    /// Values starting with `q` first, then values containing it.
    values: Vec<&'a str>,
}

async fn search(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<RawApiResponse, AppError> {
    let params = Params::parse(query.as_deref(), false, &["field", "q", "limit"])?;
    let field = match params.get("field").map(str::trim) {
        Some(name) => FilterField::from_param(name),
        None => None,
    }
    .ok_or_else(|| {
        let names: Vec<&str> = FilterField::ALL.iter().map(|f| f.param()).collect();
        AppError::validation(format!("field must be one of {}", names.join(", ")))
    })?;
    let q = params.get("q").unwrap_or_default().trim();
    if q.chars().count() > 100 || q.chars().any(char::is_control) {
        return Err(AppError::validation(
            "q must be at most 100 characters without control characters",
        ));
    }
    let limit = params.number("limit", 1..=MAX_SEARCH_LIMIT, DEFAULT_SEARCH_LIMIT)?;
    let served = served(&app).await?;
    let data = RawJson::from_value(&Suggestions {
        field: field.param(),
        q,
        limit,
        values: served.snapshot.search(field, q, limit),
    })
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}
