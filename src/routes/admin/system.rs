//! `GET /admin/api/system-status`: database, Redis, breaker, pools, cache, workers and the
//! resilience block in one answer for the admin page — the deep health report, in the API
//! envelope.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::health::{self, DeepReport};
use crate::http::ApiResponse;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/system-status", get(system_status))
}

async fn system_status(State(app): State<AppState>, _admin: AdminUser) -> ApiResponse<DeepReport> {
    ApiResponse::new(health::deep(&app).await)
}
