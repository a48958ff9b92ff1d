//! `GET /api/wip/…`: the WIP summary, matrix, one lot and lot lookups — all served from the
//! L1 snapshot (never a database or Redis call per request), with `meta.cache_state` and
//! `meta.updated_at`. Every handler takes [`CurrentUser`]: the WIP data is for logged-in users
//! only.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::wip::{NotLoaded, Served, WipSnapshot};
use crate::db::wip as q;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiResponse, AppError, Meta, RawApiResponse};
use crate::json::RawJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/wip/overview/summary", get(summary))
        .route("/api/wip/overview/matrix", get(matrix))
        .route("/api/wip/lot/{lotid}", get(lot))
        .route("/api/wip/lots/lookup", post(lookup))
}

/// Seconds a client is told to wait when the first load has not finished.
const NOT_LOADED_RETRY_AFTER: u64 = 5;

impl From<NotLoaded> for AppError {
    fn from(e: NotLoaded) -> Self {
        tracing::warn!(reason = %e.reason, "WIP request before the first load");
        AppError::ServiceUnavailable {
            message: "The WIP data is still being loaded; retry shortly.".into(),
            retry_after: NOT_LOADED_RETRY_AFTER,
        }
    }
}

/// The snapshot to serve, waiting (bounded) for the first load.
pub(crate) async fn served(app: &AppState) -> Result<Served, AppError> {
    Ok(app.wip.get().await?)
}

/// One of the snapshot's pre-serialized answers, with the cache's meta.
pub(crate) async fn precomputed(
    app: &AppState,
    answer: fn(&WipSnapshot) -> &RawJson,
) -> Result<RawApiResponse, AppError> {
    let served = served(app).await?;
    Ok(RawApiResponse {
        data: answer(&served.snapshot).clone(),
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

/// Lots and quantity in process, by status.
async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    precomputed(&app, |s| &s.summary).await
}

/// Lots and quantity by workcenter (rows, in route order) and package (columns).
async fn matrix(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    precomputed(&app, |s| &s.matrix).await
}

/// The longest lot id accepted; real ids are about a dozen characters.
const MAX_LOT_ID: usize = 40;

/// Letters, digits, `.`, `_` and `-`, starting with a letter or digit.
pub fn validate_lot_id(id: &str) -> Result<(), AppError> {
    validate_id("lotid", id)
}

/// The id rules of lot ids, for any id parameter (workcenters, packages): the error names
/// `name`.
pub fn validate_id(name: &str, id: &str) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_LOT_ID
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(format!(
            "{name} must be 1 to {MAX_LOT_ID} characters: letters, digits, '.', '_' or '-', \
             starting with a letter or digit"
        )))
    }
}

async fn lot(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(lotid): ApiPath<String>,
) -> Result<ApiResponse<q::LotDetail>, AppError> {
    validate_lot_id(&lotid)?;
    let served = served(&app).await?;
    match served.snapshot.lot(&lotid) {
        Some(detail) => Ok(ApiResponse {
            data: detail.clone(),
            meta: Meta::cached(served.freshness(), &app.db.breaker),
        }),
        None => Err(AppError::not_found(format!("no lot {lotid} is in process"))),
    }
}

/// Most lots one lookup may ask for.
pub const MAX_LOOKUP: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupRequest {
    lot_ids: Vec<String>,
}

#[derive(Debug, Serialize)]
struct LookupAnswer {
    lots: Vec<q::LotDetail>,
    not_found: Vec<String>,
}

/// Many lots at once (an engineer pastes a list): the ones in process, and the ones not found.
async fn lookup(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiJson(request): ApiJson<LookupRequest>,
) -> Result<ApiResponse<LookupAnswer>, AppError> {
    if request.lot_ids.is_empty() {
        return Err(AppError::validation("lot_ids: give at least one lot id"));
    }
    if request.lot_ids.len() > MAX_LOOKUP {
        return Err(AppError::validation(format!(
            "lot_ids: at most {MAX_LOOKUP} lot ids per lookup (got {})",
            request.lot_ids.len()
        )));
    }
    for (i, id) in request.lot_ids.iter().enumerate() {
        validate_lot_id(id).map_err(|e| AppError::validation(format!("lot_ids[{i}]: {e}")))?;
    }
    let mut ids = request.lot_ids;
    ids.sort_unstable();
    ids.dedup();
    let served = served(&app).await?;
    let mut lots = Vec::with_capacity(ids.len());
    let mut not_found = Vec::new();
    for id in ids {
        match served.snapshot.lot(&id) {
            Some(detail) => lots.push(detail.clone()),
            None => not_found.push(id),
        }
    }
    Ok(ApiResponse {
        data: LookupAnswer { lots, not_found },
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

#[cfg(test)]
mod tests {
    use super::validate_lot_id;

    #[test]
    fn lot_ids_are_validated() {
        for ok in ["GA100123", "GA100123.1", "A", "lot_7-b"] {
            assert!(validate_lot_id(ok).is_ok(), "{ok}");
        }
        let long = "A".repeat(41);
        for bad in ["", ".x", "a b", "a/b", "<script>", "é1", long.as_str()] {
            assert!(validate_lot_id(bad).is_err(), "{bad}");
        }
    }
}
