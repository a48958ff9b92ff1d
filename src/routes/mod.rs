//! Handlers, one module per area of the route table (DESIGN §3.0).

pub mod admin;
pub mod admin_pages;
pub mod auth;
pub mod catalog;
pub mod health;
pub mod hold;
#[cfg(any(test, feature = "test-support"))]
pub mod inventory;
pub mod login;
pub mod metrics;
pub mod overview;
pub mod portal;
pub mod resource;
pub mod resource_history;
pub mod resource_stream;
pub mod wip;
pub mod wip_detail;
pub mod wip_meta;
pub mod wip_params;

use axum::Router;

use crate::app::AppState;

/// Every route of the application, without middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(portal::router())
        .merge(health::router())
        .merge(resource_history::router())
        .merge(resource::router())
        .merge(wip::router())
        .merge(wip_detail::router())
        .merge(wip_meta::router())
        .merge(hold::router())
        .merge(metrics::router())
        .merge(overview::router())
        .merge(admin::router())
        .merge(auth::router())
        .merge(login::router())
        .merge(admin_pages::router())
}
