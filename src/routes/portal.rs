//! `/`: the portal, the start page that leads to every report the user may open.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::http::AppError;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/").await?;
    let descriptions: HashMap<&str, &str> = catalog::PAGES
        .iter()
        .map(|p| (p.route, p.description))
        .collect();
    templates::render(
        "portal.html",
        &layout,
        &json!({ "descriptions": descriptions }),
    )
}
