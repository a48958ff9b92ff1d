//! `GET /api/wip/detail/{workcenter}`: one workcenter's lots and totals, read from the WIP
//! snapshot through its per-workcenter index (no scan of every lot, no database call).

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::STATUSES;
use crate::cache::wip_index::WorkcenterTotals;
use crate::db::wip::LotDetail;
use crate::http::csv::{self, Export};

use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::{AppError, Meta, RawApiResponse};
use crate::json::RawJson;
use crate::routes::exports;
use crate::routes::wip::{served, validate_id};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/wip/detail/{workcenter}",
        get(detail).layer(from_fn(csv::negotiate)),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailQuery {
    /// RUN, QUEUE or HOLD.
    status: Option<String>,
    /// A package id.
    package: Option<String>,
}

/// One lot as the workcenter detail lists it (borrowed from the snapshot, never cloned).
#[derive(Serialize)]
struct DetailLot<'a> {
    lot_id: &'a str,
    product: &'a str,
    package_id: &'a str,
    step: &'a str,
    status: &'a str,
    quantity: i64,
    priority: i64,
    equipment_id: Option<&'a str>,
    track_in_at: Option<DateTime<Utc>>,
    hold_reason: Option<&'a str>,
}

impl<'a> From<&'a LotDetail> for DetailLot<'a> {
    fn from(l: &'a LotDetail) -> Self {
        Self {
            lot_id: &l.lot_id,
            product: &l.product,
            package_id: &l.package_id,
            step: &l.step,
            status: &l.status,
            quantity: l.quantity,
            priority: l.priority,
            equipment_id: l.equipment_id.as_deref(),
            track_in_at: l.track_in_at,
            hold_reason: l.hold_reason.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct Detail<'a> {
    workcenter: &'a str,
    name: &'a str,
    /// Every lot of the workcenter counted, whatever the filters.
    totals: &'a WorkcenterTotals,
    /// The filters applied to `lots` (`null` when absent).
    filters: Filters<'a>,
    /// How many lots `lots` holds.
    count: usize,
    /// In lot-id order.
    lots: Vec<DetailLot<'a>>,
}

#[derive(Serialize)]
struct Filters<'a> {
    status: Option<&'a str>,
    package: Option<&'a str>,
}

/// The status filter: one of [`STATUSES`], case-insensitive.
fn parse_status(status: Option<&str>) -> Result<Option<&'static str>, AppError> {
    let Some(status) = status else {
        return Ok(None);
    };
    STATUSES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(status.trim()))
        .map(|s| Some(*s))
        .ok_or_else(|| AppError::validation("status must be one of RUN, QUEUE or HOLD"))
}

async fn detail(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(workcenter): ApiPath<String>,
    ApiQuery(query): ApiQuery<DetailQuery>,
    export: Export,
    lang: crate::i18n::Lang,
) -> Result<Response, AppError> {
    validate_id("workcenter", &workcenter)?;
    let status = parse_status(query.status.as_deref())?;
    if let Some(package) = &query.package {
        validate_id("package", package)?;
    }
    let served = served(&app).await?;
    let snapshot = &served.snapshot;
    let Some(wc) = snapshot.index.workcenter(&workcenter) else {
        return Err(AppError::not_found(format!(
            "no workcenter {workcenter}: GET /api/wip/overview/matrix lists them"
        )));
    };
    let lots: Vec<DetailLot<'_>> = wc
        .lots
        .iter()
        .map(|&pos| &snapshot.lots[pos as usize])
        .filter(|l| status.is_none_or(|s| l.status == s))
        .filter(|l| query.package.as_ref().is_none_or(|p| &l.package_id == p))
        .map(DetailLot::from)
        .collect();
    if export == Export::Csv {
        let ids = lots.iter().map(|l| l.lot_id);
        return Ok(exports::wip_detail(&app, lang, &served, &workcenter, ids));
    }
    // Serialized straight from the snapshot's lots: no copy of a lot is made.
    let data = RawJson::from_value(&Detail {
        workcenter: &wc.workcenter_id,
        name: &wc.name,
        totals: &wc.totals,
        filters: Filters {
            status,
            package: query.package.as_deref(),
        },
        count: lots.len(),
        lots,
    })
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness()),
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_status;

    #[test]
    fn the_status_filter_accepts_the_three_statuses_only() {
        assert_eq!(parse_status(None).unwrap(), None);
        assert_eq!(parse_status(Some("hold")).unwrap(), Some("HOLD"));
        assert_eq!(parse_status(Some("RUN")).unwrap(), Some("RUN"));
        for bad in ["", "DONE", "RUN,HOLD"] {
            assert!(parse_status(Some(bad)).is_err(), "{bad}");
        }
    }
}
