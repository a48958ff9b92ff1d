//! `/`: the portal, the start page that leads to every report the user may open.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::http::AppError;
use crate::i18n::Lang;
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
    lang: Lang,
) -> Result<Response, AppError> {
    // The cards are the drawers' entries, with their descriptions.
    let layout = catalog::open_page(&app, &session, &user, "/", lang).await?;
    templates::render("portal.html", &layout, &())
}
