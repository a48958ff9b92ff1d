//! Handlers, one module per area of the route table (DESIGN §3.0).

pub mod admin;
pub mod admin_pages;
pub mod assets;
pub mod auth;
pub mod catalog;
pub mod events;
pub mod exports;
pub mod health;
pub mod hold;
pub mod hold_detail;
pub mod hold_history;
pub mod hold_history_page;
pub mod hold_pages;
pub mod hold_params;
pub mod home_tools;
#[cfg(any(test, feature = "test-support"))]
pub mod inventory;
pub mod job_query;
pub mod jobs;
pub mod login;
pub mod metrics;
pub mod page_registry;
pub mod portal;
pub mod qc_gate;
pub mod resource;
pub mod resource_history;
pub mod resource_markup;
pub mod resource_page;
pub mod resource_params;
pub mod resource_stream;
pub mod wip;
pub mod wip_detail;
pub mod wip_detail_page;
pub mod wip_figures;
pub mod wip_meta;
pub mod wip_overview;
pub mod wip_params;

use axum::Router;

use crate::app::AppState;

/// Every route of the application, without middleware.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(portal::router())
        .merge(assets::router())
        .merge(health::router())
        .merge(resource_history::router())
        .merge(resource::router())
        .merge(events::router())
        .merge(wip::router())
        .merge(wip_detail::router())
        .merge(wip_detail_page::router())
        .merge(wip_meta::router())
        .merge(wip_overview::router())
        .merge(hold::router())
        .merge(hold_detail::router())
        .merge(hold_pages::router())
        .merge(hold_history::router())
        .merge(qc_gate::router())
        .merge(hold_history_page::router())
        .merge(jobs::router())
        .merge(job_query::router())
        .merge(metrics::router())
        .merge(admin::router())
        .merge(auth::router())
        .merge(login::router())
        .merge(admin_pages::router())
}
