//! `/admin/performance`: the deep health report (`/health/deep`) as a page for administrators —
//! pools, circuit breaker, cache, Redis, workers and restart policy, alerts and the recovery
//! recommendation. A fresh report per request (it is what an administrator came to see).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::http::AppError;
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/performance", get(page))
}

async fn page(
    State(app): State<AppState>,
    AdminUser(user): AdminUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/admin/performance", lang).await?;
    let report = crate::health::deep(&app).await;
    let report = serde_json::to_value(&report).map_err(AppError::internal)?;
    templates::render(
        "admin_performance.html",
        &layout,
        &json!({ "report": report }),
    )
}
