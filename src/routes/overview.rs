//! The `/wip-overview` page (`/hold-overview` is `hold_pages.rs`): server-rendered from the in-memory WIP
//! snapshot (the same one the WIP APIs serve), never a database query per request. Before the
//! first load they answer the degraded page (503, `Retry-After`) that counts down and reloads.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::wip::{STATUSES, Served};
use crate::http::AppError;
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

pub fn router() -> Router<AppState> {
    Router::new().route("/wip-overview", get(wip_overview))
}

/// What both pages say about the data: fresh or stale, when computed, how old.
fn cache_info(served: &Served) -> Value {
    json!({
        "state": served.state.as_str(),
        "updated_at": iso8601(served.snapshot.computed_at),
        "age_seconds": served.snapshot.age().as_secs(),
    })
}

/// The pre-serialized summary and matrix, read back for the template.
fn parse(raw: &crate::json::RawJson) -> Result<Value, AppError> {
    serde_json::from_slice(&raw.0).map_err(AppError::internal)
}

async fn wip_overview(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/wip-overview", lang).await?;
    let served = app.wip.get().await?;
    templates::render(
        "wip_overview.html",
        &layout,
        &json!({
            "summary": parse(&served.snapshot.summary)?,
            "matrix": parse(&served.snapshot.matrix)?,
            "statuses": STATUSES,
            "cache": cache_info(&served),
        }),
    )
}
