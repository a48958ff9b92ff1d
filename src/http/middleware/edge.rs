//! The edge of every request: the one middleware that wraps the router, calling each concern
//! in a fixed order. One layer instead of one per concern because every `from_fn` layer boxes
//! the request's future once more; on the cached-data hot path that boxing was the largest
//! cost after the kernel's.
//!
//! On the way in: request id → language (`?lang=`, cookie, `Accept-Language`) → connection
//! limit (a connection over `MAX_CONNECTIONS` gets the health probes only) → body limit (a
//! declared body over `MAX_JSON_BODY_BYTES` is refused unread) → the body watched
//! (`BODY_READ_TIMEOUT`; read to its end or not) → timeout (`REQUEST_TIMEOUT_SECONDS`) → catch
//! panic → the routes.
//! On the way out: error render (HTML page for browser paths, `details` in development, the
//! envelope for the router's bare 405; messages in the request's language) → the `lang` cookie
//! when `?lang=` chose it → security headers → `Connection: close` while draining or when the
//! request's body was not read to its end → the access log line → `X-Request-Id`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::access_log::{self, RequestId, RequestInfo, X_REQUEST_ID};
use super::{
    body_limit, catch_panic, drain, error_render, language, request_body, security_headers, timeout,
};
use crate::http::server::OverConnectionLimit;
use crate::http::{AppError, is_json_path};
use crate::i18n::Lang;

/// A connection accepted over `MAX_CONNECTIONS` is served for the health probes only.
fn over_connection_limit(req: &Request) -> Option<Response> {
    req.extensions().get::<OverConnectionLimit>()?;
    let path = req.uri().path();
    if path == "/health" || path == "/health/live" {
        return None;
    }
    crate::http::server::REQUESTS_REFUSED_AT_LIMIT
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(
        AppError::ServiceUnavailable {
            message: "this server is at its connection limit (MAX_CONNECTIONS); try again".into(),
            retry_after: 1,
        }
        .into_response(),
    )
}

/// What the edge needs, fixed at start-up.
#[derive(Clone)]
pub struct Edge {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// `BODY_READ_TIMEOUT`.
    pub body_read_timeout: Duration,
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

    let has_body = request_body::declares_body(req.headers());
    let mut body_read = None;
    let response = if let Some(refused) = over_connection_limit(&req) {
        refused
    } else if let Some(refused) = body_limit::check(&req, edge.max_body_bytes) {
        refused
    } else {
        if has_body {
            let (watched, done) = request_body::watch(req, info.started, edge.body_read_timeout);
            req = watched;
            body_read = Some(done);
        }
        timeout::bounded(edge.request_timeout, catch_panic::guard(next.run(req))).await
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
    if has_body && !body_read.is_some_and(|done| done.load(Ordering::Relaxed)) {
        // Answered without reading the body: hyper will not reuse the connection, so say so.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    log_and_tag(&info, id, response)
}

/// The last step of every answer, through the router or below it: its access log line, then
/// its `X-Request-Id`.
fn log_and_tag(info: &RequestInfo, id: HeaderValue, mut response: Response) -> Response {
    access_log::record(info, &id, &response);
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}

impl Edge {
    /// `headers` with the security headers [`edge`] puts on every answer.
    pub fn with_security_headers(&self, mut headers: HeaderMap) -> HeaderMap {
        security_headers::apply(&mut headers, self.hsts);
        headers
    }
}

/// The way out of an answer made below the router ([`crate::http::probe`]) whose headers
/// already hold [`Edge::with_security_headers`]: what [`edge`] does to the answer of a request
/// that has no body and no `?lang=` — `Connection: close` while draining, the access log line,
/// `X-Request-Id`. `peer`: the client's address (not in the request's extensions, which the
/// router's requests get).
pub fn finish_below_router(
    edge: &Edge,
    req: &Request,
    peer: SocketAddr,
    mut response: Response,
) -> Response {
    let id = access_log::request_id(req);
    let info = RequestInfo::from_peer(req, Some(peer));
    drain::apply(response.headers_mut(), &edge.draining);
    log_and_tag(&info, id, response)
}
