//! The hold overview's APIs: `GET /api/wip/overview/hold` (figures by reason and workcenter,
//! serialized once per snapshot), and per request from the snapshot, with the hold filters of
//! [`super::hold_params`]: `GET /api/hold-overview/summary` (KPIs, both types' counts, reasons,
//! workcenters, packages, days at station), `GET /api/hold-overview/matrix` (workcenter ×
//! package) and `GET /api/hold-overview/lots` (sorted, paged, or CSV). No database call per
//! request.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::middleware::from_fn;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::{Matrix, Tally, matrix};
use crate::cache::hold_query::{self, HoldFigures};
use crate::http::csv::{self, Export};
use crate::http::{AppError, RawApiResponse};
use crate::i18n::Lang;
use crate::json::RawJson;
use crate::routes::hold_params::{self as hp, HOLD_EXTRA, LIST_EXTRA};
use crate::routes::wip::{precomputed, served};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/wip/overview/hold", get(figures))
        .route("/api/hold-overview/summary", get(summary))
        .route("/api/hold-overview/matrix", get(hold_matrix))
        .route(
            "/api/hold-overview/lots",
            get(lots).layer(from_fn(csv::negotiate)),
        )
}

/// Held lots: totals, by reason and by workcenter (most quantity first).
async fn figures(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    precomputed(&app, |s| &s.hold_figures).await
}

/// Lots and quantity of each hold type under the other filters (the type segment's counts).
#[derive(Serialize)]
pub struct ByType {
    quality: Tally,
    #[serde(rename = "non-quality")]
    non_quality: Tally,
}

impl ByType {
    pub fn new([quality, non_quality]: [Tally; 2]) -> Self {
        Self {
            quality,
            non_quality,
        }
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    as_of: DateTime<Utc>,
    hold_type: &'static str,
    by_type: ByType,
    #[serde(flatten)]
    figures: HoldFigures<'a>,
}

async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &HOLD_EXTRA)?;
    let filter = hp::filter(&params)?;
    let served = served(&app).await?;
    let (now, as_of) = hp::now();
    let table = &served.snapshot.table;
    let held = served.snapshot.held(&filter, now);
    let data = RawJson::from_value(&Summary {
        as_of,
        hold_type: hp::hold_type_echo(&filter),
        by_type: ByType::new(hold_query::by_type(table, &held.any_type)),
        figures: hold_query::figures(table, &held.positions, now),
    })
    .map_err(AppError::internal)?;
    Ok(hp::respond(&app, &served, data))
}

#[derive(Serialize)]
struct HoldMatrix {
    as_of: DateTime<Utc>,
    hold_type: &'static str,
    #[serde(flatten)]
    matrix: Matrix,
}

/// Workcenter (route order) × package of the held lots: only rows and columns with a lot.
async fn hold_matrix(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &HOLD_EXTRA)?;
    let filter = hp::filter(&params)?;
    let served = served(&app).await?;
    let (now, as_of) = hp::now();
    let held = served.snapshot.held(&filter, now);
    let data = RawJson::from_value(&HoldMatrix {
        as_of,
        hold_type: hp::hold_type_echo(&filter),
        matrix: held_matrix(&served.snapshot.table, &held.positions),
    })
    .map_err(AppError::internal)?;
    Ok(hp::respond(&app, &served, data))
}

/// The WIP matrix of `positions` without its empty rows and columns.
pub fn held_matrix(table: &crate::cache::lots::LotTable, positions: &[u32]) -> Matrix {
    let mut m = matrix(table, positions.iter().copied());
    m.rows.retain(|r| r.total.lots > 0);
    m.packages.retain(|p| m.package_totals.contains_key(p));
    m
}

async fn lots(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
    export: Export,
    lang: Lang,
) -> Result<Response, AppError> {
    let params = hp::parse(query.as_deref(), &LIST_EXTRA)?;
    let filter = hp::filter(&params)?;
    let served = served(&app).await?;
    hp::lots(&app, &served, &params, &filter, export, lang, "hold_lots").await
}
