//! `GET /api/wip/…`: the WIP summary, matrix, one lot and lot lookups — all served from the
//! L1 snapshot (never a database or Redis call per request), with `meta.cache_state` and
//! `meta.updated_at`. Every handler takes [`CurrentUser`]: the WIP data is for logged-in users
//! only.
//!
//! Without filters the summary and matrix are the snapshot's ready bytes; with filters
//! ([`super::wip_params::FILTERS`]) they are computed from its indexes for the request.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::wip_params::Params;
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::filter::WipFilter;
use crate::cache::lots::{Field, LotTable, Micros};
use crate::cache::wip::{NotLoaded, Served, WipSnapshot};
use crate::config::HoldType;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{AppError, Meta, RawApiResponse};
use crate::json::{RawJson, put_int, put_opt, put_str};

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

/// The unfiltered answer as ready bytes, or `compute` over the filters given.
pub(crate) async fn filtered(
    app: &AppState,
    query: Option<&str>,
    ready: fn(&WipSnapshot) -> &RawJson,
    compute: impl FnOnce(&WipSnapshot, &WipFilter) -> serde_json::Result<RawJson>,
) -> Result<RawApiResponse, AppError> {
    let filter = Params::parse(query, true, &[])?.filter()?;
    if filter.is_empty() {
        return precomputed(app, ready).await;
    }
    let served = served(app).await?;
    let data = compute(&served.snapshot, &filter).map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

/// Lots and quantity in process, by status and hold type.
async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<RawApiResponse, AppError> {
    filtered(
        &app,
        query.as_deref(),
        |s| &s.summary,
        |s, f| RawJson::from_value(&s.filtered_summary(f)),
    )
    .await
}

/// Lots and quantity by workcenter (rows, in route order) and package (columns).
async fn matrix(
    State(app): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<RawApiResponse, AppError> {
    filtered(
        &app,
        query.as_deref(),
        |s| &s.matrix,
        |s, f| RawJson::from_value(&s.filtered_matrix(f)),
    )
    .await
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

/// Everything about one lot, borrowed from the snapshot (the lot panel's sections: basic,
/// product, process, hold, remarks).
#[derive(Serialize)]
pub struct LotView<'a> {
    lot_id: &'a str,
    status: &'a str,
    /// `quality` or `non-quality` while held, else `null`.
    hold_type: Option<&'static str>,
    quantity: i64,
    priority: i64,
    lot_type: Option<&'a str>,
    work_order: Option<&'a str>,
    wafer_lot: Option<&'a str>,
    product: &'a str,
    package_id: &'a str,
    /// The package's family.
    product_line: Option<&'a str>,
    function: Option<&'a str>,
    bop: Option<&'a str>,
    workflow: Option<&'a str>,
    workcenter_id: &'a str,
    workcenter_name: Option<&'a str>,
    workcenter_group: Option<&'a str>,
    step: &'a str,
    equipment_id: Option<&'a str>,
    track_in_at: Micros,
    move_in_at: Micros,
    started_at: Micros,
    updated_at: Micros,
    hold_reason: Option<&'a str>,
    hold_at: Micros,
    hold_by: Option<&'a str>,
    hold_department: Option<&'a str>,
    hold_comment: Option<&'a str>,
    future_hold_comment: Option<&'a str>,
}

impl<'a> LotView<'a> {
    pub fn new(table: &'a LotTable, pos: u32) -> Self {
        let lot = &table.lots[pos as usize];
        let text = |f| table.text(pos, f);
        let wc = table.workcenter_of(pos);
        let package = text(Field::Package).unwrap_or_default();
        Self {
            lot_id: table.lot_id(pos),
            status: lot.status.as_str(),
            hold_type: lot.held().then(|| {
                if lot.non_quality {
                    HoldType::NonQuality.as_str()
                } else {
                    HoldType::Quality.as_str()
                }
            }),
            quantity: lot.quantity,
            priority: i64::from(lot.priority),
            lot_type: text(Field::LotType),
            work_order: text(Field::WorkOrder),
            wafer_lot: text(Field::WaferLot),
            product: text(Field::Product).unwrap_or_default(),
            package_id: package,
            product_line: table.family(package),
            function: text(Field::Function),
            bop: text(Field::Bop),
            workflow: text(Field::Workflow),
            workcenter_id: &wc.workcenter_id,
            workcenter_name: Some(&wc.name),
            workcenter_group: table.group_name(wc),
            step: text(Field::Step).unwrap_or_default(),
            equipment_id: text(Field::Equipment),
            track_in_at: lot.track_in_at,
            move_in_at: lot.move_in_at,
            started_at: lot.started_at,
            updated_at: lot.updated_at,
            hold_reason: text(Field::HoldReason),
            hold_at: lot.hold_at,
            hold_by: text(Field::HoldBy),
            hold_department: text(Field::HoldDepartment),
            hold_comment: text(Field::HoldComment),
            future_hold_comment: text(Field::FutureHoldComment),
        }
    }
}

impl LotView<'_> {
    /// The same JSON as serde writes for this struct (a unit test compares them), with the
    /// keys as literal bytes and texts copied as they are when they need no escape: serde's
    /// per-field work and its byte-by-byte escape check were about half the instructions of a
    /// lookup of a few lots (`TARGET=csrf bash bench/callgrind_summary.sh`).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"lot_id\":");
        put_str(out, self.lot_id);
        out.extend_from_slice(b",\"status\":");
        put_str(out, self.status);
        out.extend_from_slice(b",\"hold_type\":");
        put_opt(out, self.hold_type);
        out.extend_from_slice(b",\"quantity\":");
        put_int(out, self.quantity);
        out.extend_from_slice(b",\"priority\":");
        put_int(out, self.priority);
        out.extend_from_slice(b",\"lot_type\":");
        put_opt(out, self.lot_type);
        out.extend_from_slice(b",\"work_order\":");
        put_opt(out, self.work_order);
        out.extend_from_slice(b",\"wafer_lot\":");
        put_opt(out, self.wafer_lot);
        out.extend_from_slice(b",\"product\":");
        put_str(out, self.product);
        out.extend_from_slice(b",\"package_id\":");
        put_str(out, self.package_id);
        out.extend_from_slice(b",\"product_line\":");
        put_opt(out, self.product_line);
        out.extend_from_slice(b",\"function\":");
        put_opt(out, self.function);
        out.extend_from_slice(b",\"bop\":");
        put_opt(out, self.bop);
        out.extend_from_slice(b",\"workflow\":");
        put_opt(out, self.workflow);
        out.extend_from_slice(b",\"workcenter_id\":");
        put_str(out, self.workcenter_id);
        out.extend_from_slice(b",\"workcenter_name\":");
        put_opt(out, self.workcenter_name);
        out.extend_from_slice(b",\"workcenter_group\":");
        put_opt(out, self.workcenter_group);
        out.extend_from_slice(b",\"step\":");
        put_str(out, self.step);
        out.extend_from_slice(b",\"equipment_id\":");
        put_opt(out, self.equipment_id);
        out.extend_from_slice(b",\"track_in_at\":");
        self.track_in_at.write_json(out);
        out.extend_from_slice(b",\"move_in_at\":");
        self.move_in_at.write_json(out);
        out.extend_from_slice(b",\"started_at\":");
        self.started_at.write_json(out);
        out.extend_from_slice(b",\"updated_at\":");
        self.updated_at.write_json(out);
        out.extend_from_slice(b",\"hold_reason\":");
        put_opt(out, self.hold_reason);
        out.extend_from_slice(b",\"hold_at\":");
        self.hold_at.write_json(out);
        out.extend_from_slice(b",\"hold_by\":");
        put_opt(out, self.hold_by);
        out.extend_from_slice(b",\"hold_department\":");
        put_opt(out, self.hold_department);
        out.extend_from_slice(b",\"hold_comment\":");
        put_opt(out, self.hold_comment);
        out.extend_from_slice(b",\"future_hold_comment\":");
        put_opt(out, self.future_hold_comment);
        out.push(b'}');
    }
}

/// About the size of one lot's JSON (to size the buffer once).
const LOT_JSON_BYTES: usize = 700;

async fn lot(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiPath(lotid): ApiPath<String>,
) -> Result<RawApiResponse, AppError> {
    validate_lot_id(&lotid)?;
    let served = served(&app).await?;
    let snapshot = &served.snapshot;
    match snapshot.lot(&lotid) {
        Some(pos) => {
            let mut out = Vec::with_capacity(LOT_JSON_BYTES);
            LotView::new(&snapshot.table, pos).write_json(&mut out);
            Ok(RawApiResponse {
                data: RawJson(out.into()),
                meta: Meta::cached(served.freshness(), &app.db.breaker),
            })
        }
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

/// `{"lots":[…],"not_found":[…]}`: the lots in process, and the ids that are not.
fn lookup_answer(lots: &[LotView<'_>], not_found: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + lots.len() * LOT_JSON_BYTES + not_found.len() * 24);
    out.extend_from_slice(b"{\"lots\":[");
    for (i, lot) in lots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        lot.write_json(&mut out);
    }
    out.extend_from_slice(b"],\"not_found\":[");
    for (i, id) in not_found.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(&mut out, id);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Many lots at once (an engineer pastes a list): the ones in process, and the ones not found.
async fn lookup(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiJson(request): ApiJson<LookupRequest>,
) -> Result<RawApiResponse, AppError> {
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
    let table = &served.snapshot.table;
    let mut lots = Vec::with_capacity(ids.len());
    let mut not_found = Vec::new();
    for id in ids {
        match table.position(&id) {
            Some(pos) => lots.push(LotView::new(table, pos)),
            None => not_found.push(id),
        }
    }
    Ok(RawApiResponse {
        data: RawJson(lookup_answer(&lots, &not_found).into()),
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

#[cfg(test)]
mod tests {
    use super::{LotView, lookup_answer, validate_lot_id};
    use crate::cache::lots::LotTableBuilder;
    use crate::db::lots::LotRecord;
    use crate::db::reference::WorkcenterInfo;

    fn record(id: &str, text: Option<&str>, status: &str) -> LotRecord {
        let at = chrono::DateTime::from_timestamp_micros(1_765_000_123_456_000).unwrap();
        let owned = || text.map(str::to_string);
        LotRecord {
            quantity: -1_234_567,
            priority: 3,
            equipment_id: owned(),
            track_in_at: owned().map(|_| at),
            hold_reason: owned(),
            hold_at: owned().map(|_| at),
            hold_by: owned(),
            work_order: owned(),
            lot_type: owned(),
            bop: owned(),
            workflow: owned(),
            function: owned(),
            wafer_lot: owned(),
            move_in_at: Some(at),
            hold_department: owned(),
            hold_comment: owned(),
            future_hold_comment: owned(),
            ..LotRecord::for_tests(id, "WB", "WB-01", status, at)
        }
    }

    #[test]
    fn a_lot_and_a_lookup_are_written_byte_for_byte_as_serde_writes_them() {
        let wc = WorkcenterInfo {
            workcenter_id: "WB".into(),
            name: "焊線 \"A\"".into(),
            sequence: 1,
            workcenter_group: None,
            group_sequence: None,
        };
        let mut builder = LotTableBuilder::new(&[wc], &[], Vec::new());
        builder.push(record("A1", None, "RUN"));
        builder.push(record(
            "A2",
            Some("quote \" back \\ newline \n tab \t \u{1} 中文 </script>"),
            "HOLD",
        ));
        builder.push(record("A3", Some("plain"), "QUEUE"));
        let table = builder.finish();
        let lots: Vec<LotView> = (0..table.len() as u32)
            .map(|pos| LotView::new(&table, pos))
            .collect();
        for (pos, lot) in lots.iter().enumerate() {
            let mut fast = Vec::new();
            lot.write_json(&mut fast);
            let serde = serde_json::to_vec(lot).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(serde).unwrap(),
                "lot {pos}"
            );
        }
        for (lots, not_found) in [
            (&lots[..], vec!["NOPE".to_string(), "x\"y".to_string()]),
            (&lots[..0], vec!["ONLY".to_string()]),
            (&lots[1..2], vec![]),
        ] {
            let serde = serde_json::json!({ "lots": lots, "not_found": not_found });
            let fast: serde_json::Value =
                serde_json::from_slice(&lookup_answer(lots, &not_found)).unwrap();
            assert_eq!(fast, serde);
        }
    }

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
