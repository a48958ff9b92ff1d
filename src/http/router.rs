//! The router with its middleware stack, composed in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;

use crate::app::AppState;
use crate::http::AppError;
use crate::http::middleware::{
    access_log, body_limit, catch_panic, csrf, drain, error_render, security_headers, session,
    timeout,
};
use crate::routes;

/// The whole application as one `Router`. Layers run top to bottom on the way in:
///
/// 1. access log — outermost, so it times and records every answer, even a panic's;
/// 2. drain — `Connection: close` while the server drains;
/// 3. security headers — on every response, error pages included;
/// 4. error render — error contexts become HTML pages (browser paths) or gain `details`
///    (development), and the router's bare 405 gets the envelope;
/// 5. catch panic — a panicking handler becomes a 500 the layers above can render;
/// 6. timeout — handlers that take longer than `REQUEST_TIMEOUT_SECONDS` are cut;
/// 7. body limit — declared bodies over `MAX_JSON_BODY_BYTES` are refused unread;
/// 8. session — puts the request's session handle in its extensions (loaded lazily, from the
///    in-process cache on the hot path) and writes the session cookie on the way out;
/// 9. CSRF — every method but GET/HEAD/OPTIONS must pass the origin checks and carry the
///    session's token; it needs the session (so it sits inside it) and must run before any
///    handler (so a rejection creates no session and sets no cookie);
/// 10. routes.
pub fn build(state: AppState) -> Router {
    let routes = routes::router()
        .fallback(not_found)
        .with_state(state.clone());
    with_middleware(routes, &state)
}

/// Wraps `routes` in the production middleware stack (tests wrap extra routes with it).
pub fn with_middleware(routes: Router, state: &AppState) -> Router {
    let config = &state.config;
    let stack = ServiceBuilder::new()
        .layer(from_fn(access_log::access_log))
        .layer(from_fn_with_state(state.draining.clone(), drain::drain))
        .layer(from_fn_with_state(
            config.mode.is_production_like(),
            security_headers::security_headers,
        ))
        .layer(from_fn_with_state(
            config.mode.exposes_error_details(),
            error_render::render_errors,
        ))
        .layer(from_fn(catch_panic::catch_panic))
        .layer(from_fn_with_state(
            config.http.request_timeout,
            timeout::timeout,
        ))
        .layer(from_fn_with_state(
            config.http.max_body_bytes,
            body_limit::body_limit,
        ))
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
        .layer(from_fn_with_state(state.clone(), session::session))
        .layer(from_fn_with_state(state.clone(), csrf::csrf));

    routes.layer(stack)
}

async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::not_found(format!("nothing is served at {}", uri.path()))
}
