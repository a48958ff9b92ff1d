//! The edge of every request: the one middleware that wraps the router, calling each concern
//! in a fixed order. One layer instead of one per concern because every `from_fn` layer boxes
//! the request's future once more; on the cached-data hot path that boxing was the largest
//! cost after the kernel's.
//!
//! On the way in: request id → body limit (a declared body over `MAX_JSON_BODY_BYTES` is
//! refused unread) → timeout (`REQUEST_TIMEOUT_SECONDS`) → catch panic → the routes.
//! On the way out: error render (HTML page for browser paths, `details` in development, the
//! envelope for the router's bare 405) → security headers → `Connection: close` while draining
//! → the access log line → `X-Request-Id`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::access_log::{self, RequestId, RequestInfo, X_REQUEST_ID};
use super::{body_limit, catch_panic, drain, error_render, security_headers, timeout};
use crate::http::is_json_path;

/// What the edge needs, fixed at start-up.
#[derive(Clone)]
pub struct Edge {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Development mode: error responses carry `details`.
    pub expose_details: bool,
    /// Staging and production: `Strict-Transport-Security`.
    pub hsts: bool,
    pub draining: Arc<AtomicBool>,
}

pub async fn edge(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    let id = access_log::request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let info = RequestInfo::capture(&req);
    let json = is_json_path(info.uri.path());

    let response = match body_limit::check(&req, edge.max_body_bytes) {
        Some(refused) => refused,
        None => timeout::bounded(edge.request_timeout, catch_panic::guard(next.run(req))).await,
    };

    let mut response = error_render::render(response, json, edge.expose_details);
    security_headers::apply(response.headers_mut(), edge.hsts);
    drain::apply(response.headers_mut(), &edge.draining);
    access_log::record(&info, &id, &response);
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}
