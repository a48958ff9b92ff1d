//! The edge of every request: the one middleware that wraps the router, calling each concern
//! in a fixed order. One layer instead of one per concern because every `from_fn` layer boxes
//! the request's future once more; on the cached-data hot path that boxing was the largest
//! cost after the kernel's.
//!
//! On the way in: request id → language (`?lang=`, cookie, `Accept-Language`) → body limit (a declared body over `MAX_JSON_BODY_BYTES` is
//! refused unread) → timeout (`REQUEST_TIMEOUT_SECONDS`) → catch panic → the routes.
//! On the way out: error render (HTML page for browser paths, `details` in development, the
//! envelope for the router's bare 405; messages in the request's language) → the `lang`
//! cookie when `?lang=` chose it → security headers → `Connection: close` while draining
//! → the access log line → `X-Request-Id`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::access_log::{self, RequestId, RequestInfo, X_REQUEST_ID};
use super::{body_limit, catch_panic, drain, error_render, language, security_headers, timeout};
use crate::http::is_json_path;
use crate::i18n::Lang;

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
    /// `DEFAULT_LANGUAGE`.
    pub default_language: Lang,
    /// `PLANT_TIME_ZONE` (IANA name), for error pages.
    pub time_zone: &'static str,
}

pub async fn edge(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    let id = access_log::request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let info = RequestInfo::capture(&req);
    let json = is_json_path(info.uri.path());
    let language = language::choose(req.uri(), req.headers(), edge.default_language);
    if language.remember {
        req.extensions_mut().insert(language.lang);
        if let Some(uri) = language::without_lang(req.uri()) {
            *req.uri_mut() = uri;
        }
    }

    let response = match body_limit::check(&req, edge.max_body_bytes) {
        Some(refused) => refused,
        None => timeout::bounded(edge.request_timeout, catch_panic::guard(next.run(req))).await,
    };

    let mut response = error_render::render(
        response,
        json,
        edge.expose_details,
        language.lang,
        edge.time_zone,
    );
    if language.remember {
        language::remember(response.headers_mut(), language.lang);
    }
    security_headers::apply(response.headers_mut(), edge.hsts);
    drain::apply(response.headers_mut(), &edge.draining);
    access_log::record(&info, &id, &response);
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}
