//! `GET /api/resource/status…` and `/api/resource/jobs/open`: the live status of every tool and
//! the open maintenance jobs, served from the L1 snapshot the equipment sync keeps
//! (pre-serialized answers and per-value tool sets: a request combines bit sets and copies
//! bytes, no database call), and its event stream. The filters are `resource_params`; the
//! `/resource` page is `resource_page`. Logged-in users only.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::equipment::filter::OptionValue;
use crate::equipment::query::LoadError;
use crate::equipment::{EquipmentSnapshot, Field, StatusFilter};
use crate::http::csv::{self, Cell, CsvFile, Export};
use crate::http::envelope::json_response;
use crate::http::extract::ApiQuery;
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::Lang;
use crate::json::RawJson;
use crate::routes::resource_page as page;
use crate::routes::resource_params::{self as params, Accept};
use crate::routes::resource_stream as stream;
use crate::session::SessionHandle;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/resource/status",
            get(status).layer(from_fn(csv::negotiate)),
        )
        .route("/api/resource/status/summary", get(summary))
        .route("/api/resource/status/matrix", get(matrix))
        .route("/api/resource/status/options", get(status_options))
        .route("/api/resource/status/charts", get(charts))
        .route("/api/resource/jobs/open", get(open_jobs))
        .route(stream::STATUS_STREAM, get(events))
        .route("/resource", get(page::page))
}

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Db(db) => db.into(),
            other => AppError::internal(other),
        }
    }
}

pub(crate) async fn snapshot(app: &AppState) -> Result<Arc<EquipmentSnapshot>, AppError> {
    match app.equipment.current() {
        Some(current) => Ok(current),
        None => Ok(app.equipment_sync().first_snapshot().await?),
    }
}

/// The filters of a request (400 naming the parameter when one is bad).
fn filters(pairs: &[(String, String)]) -> Result<StatusFilter, AppError> {
    Ok(params::parse(pairs, Accept::Filters)?.filter)
}

/// Every tool the filters admit, with its attributes and lots.
async fn status(
    State(app): State<AppState>,
    _user: CurrentUser,
    export: Export,
    lang: Lang,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let filter = filters(&q)?;
    let snapshot = snapshot(&app).await?;
    if export == Export::Csv {
        return Ok(status_csv(&app, lang, snapshot, filter));
    }
    let meta = Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker);
    if filter.is_empty() {
        return Ok(RawApiResponse {
            data: snapshot.status_for(&filter),
            meta,
        }
        .into_response());
    }
    Ok(json_response(filtered_status(&snapshot, &filter, &meta)))
}

/// The whole envelope of a filtered status answer, `{"success":true,"data":{"count":N,
/// "tools":[…]},"meta":…}` (the bytes `RawApiResponse` writes for `status_for`), written once
/// into a buffer of its exact size from the tools' pre-serialized JSON: the answer is mostly
/// those bytes, and growing a buffer for them, then copying it into the envelope, was most of
/// the request's own cost.
fn filtered_status(snapshot: &EquipmentSnapshot, filter: &StatusFilter, meta: &Meta) -> Bytes {
    let set = snapshot.select(filter);
    let tools: Vec<&Bytes> = snapshot
        .tool_json()
        .enumerate()
        .filter(|(i, _)| set.contains(*i))
        .map(|(_, (_, json))| json)
        .collect();
    let size = tools.iter().map(|j| j.len() + 1).sum::<usize>();
    let mut out = BytesMut::with_capacity(size + 400);
    out.put_slice(b"{\"success\":true,\"data\":{\"count\":");
    out.put_slice(itoa::Buffer::new().format(tools.len()).as_bytes());
    out.put_slice(b",\"tools\":[");
    for (n, json) in tools.iter().enumerate() {
        if n > 0 {
            out.put_u8(b',');
        }
        out.put_slice(json);
    }
    out.put_slice(b"]},\"meta\":");
    meta.write_json(&mut out);
    out.put_u8(b'}');
    out.freeze()
}

/// The tools the filter admits, as CSV.
fn status_csv(
    app: &AppState,
    lang: Lang,
    snapshot: Arc<EquipmentSnapshot>,
    filter: StatusFilter,
) -> Response {
    let selected: Vec<usize> = snapshot.select(&filter).iter().collect();
    let mut at = 0;
    let file = CsvFile {
        report: "equipment_status".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "col-tool",
            "res-col-group",
            "col-workcenter",
            "res-col-family",
            "col-model",
            "res-col-location",
            "res-col-package-group",
            "col-state",
            "col-reason",
            "col-since",
            "col-lots",
            "col-quantity",
        ],
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(t) = selected.get(at).map(|i| &snapshot.tools[*i]) else {
            return false;
        };
        at += 1;
        write(&[
            t.equipment_id.as_str().into(),
            t.workcenter_group.as_deref().into(),
            t.workcenter_id.as_str().into(),
            t.family.as_deref().into(),
            t.model.as_str().into(),
            t.location.as_deref().into(),
            t.package_group.as_deref().into(),
            t.e10_state.as_str().into(),
            t.state_reason.as_deref().into(),
            Some(t.state_since).into(),
            (t.lots.len() as i64).into(),
            t.track_in_quantity.into(),
        ]);
        true
    })
}

/// Tools per E10 state, OU % and AVAIL %, of the tools the filters admit.
async fn summary(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<RawApiResponse, AppError> {
    let filter = filters(&q)?;
    let snapshot = snapshot(&app).await?;
    Ok(RawApiResponse {
        data: snapshot.summary_for(&filter).map_err(AppError::internal)?,
        meta: Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker),
    })
}

/// Tools per workcenter × E10 state and per workcenter group → family × E10 state.
async fn matrix(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<RawApiResponse, AppError> {
    let filter = filters(&q)?;
    let snapshot = snapshot(&app).await?;
    Ok(RawApiResponse {
        data: snapshot.matrix_for(&filter).map_err(AppError::internal)?,
        meta: Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker),
    })
}

/// The `/resource` page's charts block (OU ring per workcenter group, OU heatmap) for the
/// filters, in the request's language, as the page renders it: `{updated_at, html}`. The
/// page's script swaps it in on each `equipment` event.
async fn charts(
    State(app): State<AppState>,
    _user: CurrentUser,
    lang: Lang,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<RawApiResponse, AppError> {
    let filter = filters(&q)?;
    let snapshot = snapshot(&app).await?;
    #[derive(Serialize)]
    struct Answer {
        updated_at: String,
        html: String,
    }
    let data = RawJson::from_value(&Answer {
        updated_at: crate::timefmt::iso8601(snapshot.computed_at),
        html: crate::routes::resource_markup::charts_of(&snapshot, &filter, lang),
    })
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker),
    })
}

/// The values of each filter field among the tools the other filters admit.
#[derive(Serialize)]
pub(crate) struct Options<'a> {
    workcenter_group: Vec<OptionValue<'a>>,
    location: Vec<OptionValue<'a>>,
    family: Vec<OptionValue<'a>>,
    /// Tool ids, in route order.
    pub(crate) tool: Vec<&'a str>,
    package_group: Vec<OptionValue<'a>>,
    production: Vec<OptionValue<'a>>,
    key: Vec<OptionValue<'a>>,
    monitored: Vec<OptionValue<'a>>,
}

pub(crate) fn options<'a>(snapshot: &'a EquipmentSnapshot, filter: &StatusFilter) -> Options<'a> {
    let mut out = Options {
        workcenter_group: Vec::new(),
        location: Vec::new(),
        family: Vec::new(),
        tool: Vec::new(),
        package_group: Vec::new(),
        production: Vec::new(),
        key: Vec::new(),
        monitored: Vec::new(),
    };
    for (field, values) in snapshot.indexes().options(&snapshot.tools, filter) {
        match field {
            Field::WorkcenterGroup => out.workcenter_group = values,
            Field::Location => out.location = values,
            Field::Family => out.family = values,
            Field::Tool => out.tool = values.into_iter().map(|v| v.value).collect(),
            Field::PackageGroup => out.package_group = values,
            Field::Production => out.production = values,
            Field::Key => out.key = values,
            Field::Monitored => out.monitored = values,
        }
    }
    out
}

async fn status_options(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<RawApiResponse, AppError> {
    let filter = filters(&q)?;
    let snapshot = snapshot(&app).await?;
    Ok(RawApiResponse {
        data: RawJson::from_value(&options(&snapshot, &filter)).map_err(AppError::internal)?,
        meta: Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker),
    })
}

/// The open maintenance jobs of the tools the filters admit, longest open first.
async fn open_jobs(
    State(app): State<AppState>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<RawApiResponse, AppError> {
    let params = params::parse(&q, Accept::WithLimit)?;
    let snapshot = snapshot(&app).await?;
    let jobs = snapshot.jobs_for(&params.filter);
    Ok(RawApiResponse {
        data: snapshot.jobs_answer(&jobs, params.limit.unwrap_or(params::LIMIT_DEFAULT)),
        meta: Meta::cached(app.equipment.freshness(&snapshot), &app.db.breaker),
    })
}

/// Server-sent events: each change as it is applied.
async fn events(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
) -> Result<Response, AppError> {
    let session = session.get().await?.filter(|s| !s.anonymous);
    let admin = crate::auth::extract::is_admin(&app, &user);
    stream::open(&app, session.as_ref().map(|s| s.id.as_str()), admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equipment::ToolStatus;

    #[test]
    fn a_filtered_status_is_the_envelope_of_the_snapshot_answer_byte_for_byte() {
        let at = chrono::Utc::now();
        let tool = |id: &str, state: &str, family: &str| ToolStatus {
            equipment_id: id.into(),
            workcenter_id: "WB".into(),
            model: "M \"x\" </script>".into(),
            e10_state: state.into(),
            state_reason: Some("中文".into()),
            state_since: at,
            lots: vec!["L1".into()],
            track_in_quantity: 5,
            last_track_in_at: None,
            updated_at: at,
            workcenter_group: Some("G".into()),
            family: Some(family.into()),
            location: None,
            package_group: None,
            vendor: None,
            production: true,
            key: false,
            monitored: false,
        };
        let tools = (0..150)
            .map(|i| {
                let state = ["PRD", "UDT", "SBY"][i % 3];
                tool(&format!("T{i:03}"), state, ["F1", "F2"][i % 2])
            })
            .collect();
        let snapshot = EquipmentSnapshot::build(tools, vec![], vec![]).unwrap();
        let mut meta = Meta::now();
        meta.cache_state = Some("fresh");
        meta.updated_at = Some("2026-12-06T10:00:00.000Z".into());
        meta.age_seconds = Some(3);
        for filter in [
            StatusFilter {
                states: vec!["UDT".into()],
                ..StatusFilter::default()
            },
            StatusFilter {
                fields: vec![(Field::Family, vec!["F2".into()])],
                states: vec!["PRD".into(), "SBY".into()],
                ..StatusFilter::default()
            },
            StatusFilter {
                fields: vec![(Field::Family, vec!["none".into()])],
                ..StatusFilter::default()
            },
        ] {
            let fast = filtered_status(&snapshot, &filter, &meta);
            let mut want = BytesMut::new();
            want.put_slice(b"{\"success\":true,\"data\":");
            want.put_slice(&snapshot.status_for(&filter).0);
            want.put_slice(b",\"meta\":");
            meta.write_json(&mut want);
            want.put_u8(b'}');
            assert_eq!(
                std::str::from_utf8(&fast).unwrap(),
                std::str::from_utf8(&want).unwrap(),
                "{filter:?}"
            );
        }
    }
}
