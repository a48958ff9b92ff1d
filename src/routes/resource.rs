//! `GET /api/resource/status…`: the live status of every tool, served from the L1 snapshot the
//! equipment sync keeps (pre-serialized answers; a request filters or copies bytes), and its
//! event stream; and the `/resource` page, which renders the same snapshot and follows the
//! stream. Logged-in users only.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::equipment::query::LoadError;
use crate::equipment::{E10_STATES, EquipmentSnapshot, StatusFilter};
use crate::http::csv::{self, Cell, CsvFile, Export};
use crate::http::extract::ApiQuery;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::routes::resource_history::validate_workcenter;
use crate::routes::resource_stream as stream;
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/resource/status",
            get(status).layer(from_fn(csv::negotiate)),
        )
        .route("/api/resource/status/summary", get(summary))
        .route("/api/resource/status/matrix", get(matrix))
        .route("/api/resource/status/stream", get(events))
        .route("/resource", get(page))
}

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Db(db) => db.into(),
            other => AppError::internal(other),
        }
    }
}

async fn snapshot(app: &AppState) -> Result<Arc<EquipmentSnapshot>, AppError> {
    match app.equipment.current() {
        Some(current) => Ok(current),
        None => Ok(app.equipment_sync().first_snapshot().await?),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// A workcenter id.
    workcenter: Option<String>,
    /// One E10 state or several, comma-separated.
    state: Option<String>,
}

fn validate(q: StatusQuery) -> Result<StatusFilter, AppError> {
    if let Some(wc) = &q.workcenter {
        validate_workcenter(wc)?;
    }
    let mut states = Vec::new();
    if let Some(list) = &q.state {
        for state in list.split(',') {
            let state = state.trim().to_ascii_uppercase();
            if !E10_STATES.contains(&state.as_str()) {
                return Err(AppError::validation(format!(
                    "state: {:?} is not an E10 state; use {} (comma-separated for several)",
                    truncate(&state),
                    E10_STATES.join(", ")
                )));
            }
            if !states.contains(&state) {
                states.push(state);
            }
        }
    }
    Ok(StatusFilter {
        workcenter: q.workcenter,
        states,
    })
}

/// Echoing user input in a message: at most a few characters of it.
fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

/// Every tool (or those of a workcenter and/or in some states) with its lots.
async fn status(
    State(app): State<AppState>,
    _user: CurrentUser,
    export: Export,
    lang: Lang,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Response, AppError> {
    let filter = validate(q)?;
    let snapshot = snapshot(&app).await?;
    if export == Export::Csv {
        return Ok(status_csv(&app, lang, snapshot, filter));
    }
    Ok(RawApiResponse {
        data: snapshot.status_for(&filter),
        meta: Meta::cached(app.equipment.freshness(&snapshot)),
    }
    .into_response())
}

/// The tools the filter admits, as CSV.
fn status_csv(
    app: &AppState,
    lang: Lang,
    snapshot: Arc<EquipmentSnapshot>,
    filter: StatusFilter,
) -> Response {
    let mut at = 0;
    let file = CsvFile {
        report: "equipment_status".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "col-tool",
            "col-workcenter",
            "col-model",
            "col-state",
            "col-reason",
            "col-since",
            "col-lots",
            "col-quantity",
        ],
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(t) = snapshot.tools.get(at..).and_then(|rest| {
            let skipped = rest.iter().take_while(|t| !filter.admits(t)).count();
            at += skipped + 1;
            rest.get(skipped)
        }) else {
            return false;
        };
        write(&[
            t.equipment_id.as_str().into(),
            t.workcenter_id.as_str().into(),
            t.model.as_str().into(),
            t.e10_state.as_str().into(),
            t.state_reason.as_deref().into(),
            Some(t.state_since).into(),
            (t.lots.len() as i64).into(),
            t.track_in_quantity.into(),
        ]);
        true
    })
}

/// Tools per E10 state, availability and utilization.
async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    let snapshot = snapshot(&app).await?;
    Ok(RawApiResponse {
        data: snapshot.summary.clone(),
        meta: Meta::cached(app.equipment.freshness(&snapshot)),
    })
}

/// Tools per workcenter × E10 state.
async fn matrix(
    State(app): State<AppState>,
    _user: CurrentUser,
) -> Result<RawApiResponse, AppError> {
    let snapshot = snapshot(&app).await?;
    Ok(RawApiResponse {
        data: snapshot.matrix.clone(),
        meta: Meta::cached(app.equipment.freshness(&snapshot)),
    })
}

/// Server-sent events: each change as it is applied.
async fn events(
    State(app): State<AppState>,
    _user: CurrentUser,
    session: SessionHandle,
) -> Result<Response, AppError> {
    let session = session.get().await?.filter(|s| !s.anonymous);
    stream::open(&app, session.as_ref().map(|s| s.id.as_str()))
}

/// The live equipment page: the table rendered from the snapshot, then kept current by the
/// event stream (the script only ever sets `textContent`).
async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/resource", lang).await?;
    let snapshot = snapshot(&app).await?;
    let summary: serde_json::Value =
        serde_json::from_slice(&snapshot.summary.0).map_err(AppError::internal)?;
    templates::render(
        "resource.html",
        &layout,
        &serde_json::json!({
            "tools": &snapshot.tools,
            "summary": summary,
            "states": E10_STATES,
            "updated_at": iso8601(snapshot.computed_at),
            "stream": {
                "stream_url": "/api/resource/status/stream",
                "states": E10_STATES,
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(workcenter: Option<&str>, state: Option<&str>) -> StatusQuery {
        StatusQuery {
            workcenter: workcenter.map(str::to_string),
            state: state.map(str::to_string),
        }
    }

    #[test]
    fn filters_are_validated_and_name_their_parameter() {
        let f = validate(q(Some("WB"), Some("udt, SDT,UDT"))).unwrap();
        assert_eq!(f.workcenter.as_deref(), Some("WB"));
        assert_eq!(f.states, ["UDT", "SDT"]);
        for (wc, state, parameter) in [
            (None, Some("RUN"), "state"),
            (None, Some(""), "state"),
            (None, Some("PRD,"), "state"),
            (Some(""), None, "workcenter"),
            (Some("W B"), None, "workcenter"),
            (Some("<script>"), None, "workcenter"),
        ] {
            let error = validate(q(wc, state)).unwrap_err();
            assert_eq!(error.code().as_str(), "VALIDATION_ERROR");
            assert!(
                error.to_string().starts_with(&format!("{parameter}:")),
                "{error}"
            );
        }
    }
}
