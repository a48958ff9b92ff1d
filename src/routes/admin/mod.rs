//! `/admin/api/…`: administration APIs, and the `/admin/performance` page.

pub mod audit;
pub mod performance;
pub mod system;
pub mod workers;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(workers::router())
        .merge(system::router())
        .merge(audit::router())
        .merge(performance::router())
}
