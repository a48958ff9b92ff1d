//! The `/hold-overview` page: server-rendered from the in-memory WIP snapshot (the same one the
//! WIP APIs serve), never a database query per request. Before the first load it answers the
//! degraded page (503, `Retry-After`) that counts down and reloads. (`/wip-overview` is
//! `routes/wip_overview.rs`.)

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::aggregate::MAX_HELD_LOTS_LISTED;
use crate::cache::wip::Served;
use crate::http::AppError;
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

pub fn router() -> Router<AppState> {
    Router::new().route("/hold-overview", get(hold_overview))
}

/// What the page says about the data: fresh or stale, when computed, how old.
fn cache_info(served: &Served) -> Value {
    json!({
        "state": served.state.as_str(),
        "updated_at": iso8601(served.snapshot.computed_at),
        "age_seconds": served.snapshot.age().as_secs(),
    })
}

async fn hold_overview(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/hold-overview", lang).await?;
    let served = app.wip.get().await?;
    templates::render(
        "hold_overview.html",
        &layout,
        &json!({
            "hold": &served.snapshot.hold,
            "max_listed": MAX_HELD_LOTS_LISTED,
            "cache": cache_info(&served),
        }),
    )
}
