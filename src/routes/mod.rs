//! Handlers, one module per area of the route table (DESIGN §3.0).

pub mod admin;
pub mod portal;
pub mod wip;

use axum::Router;

use crate::app::AppState;

/// Every route of the application, without middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(portal::router())
        .merge(wip::router())
        .merge(admin::router())
}
