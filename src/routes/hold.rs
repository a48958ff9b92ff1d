//! Lots on hold as JSON: `GET /api/wip/overview/hold` (figures by reason and workcenter),
//! `GET /api/hold-overview/summary` (what the `/hold-overview` page shows) and
//! `GET /api/hold-overview/lots` (every held lot, oldest hold first, a page at a time; or all
//! of them as CSV with `?format=csv`).
//!
//! The figures are serialized once per snapshot; the list walks the snapshot's index of held
//! lots (already in oldest-first order). No database call per request.

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::NO_REASON;
use crate::cache::wip::Served;
use crate::db::wip::LotDetail;
use crate::http::csv::{self, Cell, CsvFile, Export};
use crate::http::extract::ApiQuery;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::Lang;
use crate::json::RawJson;
use crate::routes::wip::{precomputed, served, validate_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/wip/overview/hold", get(figures))
        .route("/api/hold-overview/summary", get(summary))
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

/// The hold overview's figures and its oldest hold.
async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    precomputed(&app, |s| &s.hold_summary).await
}

/// Lots one page may hold at most, and by default.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 200;
/// The longest hold reason accepted as a filter.
const MAX_REASON: usize = 100;

/// Numbers are read as text so a bad value gets a message naming its parameter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LotsQuery {
    limit: Option<String>,
    offset: Option<String>,
    /// A hold reason exactly as listed (`(no reason)` for holds without one).
    reason: Option<String>,
    workcenter: Option<String>,
}

struct Page<'q> {
    limit: usize,
    offset: usize,
    reason: Option<&'q str>,
    workcenter: Option<&'q str>,
}

fn parse_page(q: &LotsQuery) -> Result<Page<'_>, AppError> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::validation(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let offset = match q.offset.as_deref() {
        None => 0,
        Some(text) => text.trim().parse::<usize>().map_err(|_| {
            AppError::validation("offset must be a whole number, 0 or more".to_string())
        })?,
    };
    if let Some(reason) = q.reason.as_deref()
        && (reason.is_empty()
            || reason.chars().count() > MAX_REASON
            || reason.chars().any(char::is_control))
    {
        return Err(AppError::validation(format!(
            "reason must be 1 to {MAX_REASON} characters without control characters"
        )));
    }
    if let Some(wc) = q.workcenter.as_deref() {
        validate_id("workcenter", wc)?;
    }
    Ok(Page {
        limit,
        offset,
        reason: q.reason.as_deref(),
        workcenter: q.workcenter.as_deref(),
    })
}

impl Page<'_> {
    fn admits(&self, lot: &LotDetail) -> bool {
        let reason_ok = match self.reason {
            None => true,
            Some(NO_REASON) => lot.hold_reason.is_none(),
            Some(r) => lot.hold_reason.as_deref() == Some(r),
        };
        reason_ok && self.workcenter.is_none_or(|w| lot.workcenter_id == w)
    }
}

/// One held lot as the list gives it (borrowed from the snapshot).
#[derive(Serialize)]
struct HeldRow<'a> {
    lot_id: &'a str,
    product: &'a str,
    package_id: &'a str,
    workcenter_id: &'a str,
    step: &'a str,
    quantity: i64,
    priority: i64,
    hold_reason: Option<&'a str>,
    hold_at: Option<DateTime<Utc>>,
    hold_by: Option<&'a str>,
}

impl<'a> From<&'a LotDetail> for HeldRow<'a> {
    fn from(l: &'a LotDetail) -> Self {
        Self {
            lot_id: &l.lot_id,
            product: &l.product,
            package_id: &l.package_id,
            workcenter_id: &l.workcenter_id,
            step: &l.step,
            quantity: l.quantity,
            priority: l.priority,
            hold_reason: l.hold_reason.as_deref(),
            hold_at: l.hold_at,
            hold_by: l.hold_by.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct LotsPage<'a> {
    /// Held lots matching the filters, over every page.
    total: usize,
    limit: usize,
    offset: usize,
    reason: Option<&'a str>,
    workcenter: Option<&'a str>,
    /// Oldest hold first (a hold without a time last).
    lots: Vec<HeldRow<'a>>,
}

async fn lots(
    State(app): State<AppState>,
    _user: CurrentUser,
    export: Export,
    lang: Lang,
    ApiQuery(query): ApiQuery<LotsQuery>,
) -> Result<Response, AppError> {
    let page = parse_page(&query)?;
    let served = served(&app).await?;
    if export == Export::Csv {
        return Ok(lots_csv(&app, lang, &served, &page));
    }
    let snapshot = &served.snapshot;
    let mut total = 0;
    let mut rows = Vec::with_capacity(page.limit.min(snapshot.index.held.len()));
    for lot in snapshot
        .index
        .held
        .iter()
        .map(|&p| &snapshot.lots[p as usize])
    {
        if !page.admits(lot) {
            continue;
        }
        if total >= page.offset && rows.len() < page.limit {
            rows.push(HeldRow::from(lot));
        }
        total += 1;
    }
    let data = RawJson::from_value(&LotsPage {
        total,
        limit: page.limit,
        offset: page.offset,
        reason: page.reason,
        workcenter: page.workcenter,
        lots: rows,
    })
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness()),
    }
    .into_response())
}

/// Every held lot the filters admit (paging does not apply), oldest hold first, as CSV.
fn lots_csv(app: &AppState, lang: Lang, served: &Served, page: &Page<'_>) -> Response {
    let snapshot = served.snapshot.clone();
    let positions: Vec<u32> = snapshot
        .index
        .held
        .iter()
        .copied()
        .filter(|&p| page.admits(&snapshot.lots[p as usize]))
        .collect();
    let mut next = positions.into_iter();
    let file = CsvFile {
        report: "hold_lots".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "col-lot",
            "col-product",
            "col-package",
            "col-workcenter",
            "col-step",
            "col-quantity",
            "col-priority",
            "col-reason",
            "hold-col-since",
            "hold-col-by",
        ],
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(p) = next.next() else { return false };
        let l = &snapshot.lots[p as usize];
        write(&[
            l.lot_id.as_str().into(),
            l.product.as_str().into(),
            l.package_id.as_str().into(),
            l.workcenter_id.as_str().into(),
            l.step.as_str().into(),
            l.quantity.into(),
            l.priority.into(),
            l.hold_reason.as_deref().into(),
            l.hold_at.into(),
            l.hold_by.as_deref().into(),
        ]);
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, offset: Option<&str>, reason: Option<&str>) -> LotsQuery {
        LotsQuery {
            limit: limit.map(Into::into),
            offset: offset.map(Into::into),
            reason: reason.map(Into::into),
            workcenter: None,
        }
    }

    #[test]
    fn paging_parameters_are_validated_and_named() {
        let q = query(None, None, None);
        let page = parse_page(&q).unwrap();
        assert_eq!((page.limit, page.offset), (DEFAULT_LIMIT, 0));
        let q = query(Some("1000"), Some("40"), Some("QC"));
        let page = parse_page(&q).unwrap();
        assert_eq!((page.limit, page.offset), (1000, 40));
        assert_eq!(page.reason, Some("QC"));
        for (limit, offset, reason, named) in [
            (Some("0"), None, None, "limit"),
            (Some("1001"), None, None, "limit"),
            (Some("ten"), None, None, "limit"),
            (None, Some("-1"), None, "offset"),
            (None, Some("x"), None, "offset"),
            (None, None, Some(""), "reason"),
            (None, None, Some("a\nb"), "reason"),
        ] {
            let error = parse_page(&query(limit, offset, reason)).err().unwrap();
            assert!(error.to_string().contains(named), "{named}: {error}");
        }
    }
}
