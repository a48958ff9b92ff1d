//! Bounds the body of a request without a valid session cookie by `MAX_ANONYMOUS_BODY_BYTES`,
//! puts the request's [`SessionHandle`] in its extensions (nothing is loaded yet), refuses the
//! APIs of dev pages to non-administrators ([`super::page_access`]), runs the CSRF check
//! ([`super::csrf`]) in the same layer, and writes the handle's cookie decision on the
//! response. The HTTP side of sessions lives here: `session/` reads cookie values and says
//! which `Set-Cookie` value to send; this layer takes them from and puts them on the request
//! and response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::session::SessionHandle;

pub async fn session(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let cookies = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let cookie = app.sessions.keys().from_cookie_headers(cookies);
    if cookie.is_none() && super::request_body::declares_body(req.headers()) {
        // No session at all: the anonymous limit at once (the CSRF check applies it again to
        // anonymous sessions once it has loaded them).
        let limit = app.config.http.max_anonymous_body_bytes;
        if let Some(refused) = super::body_limit::check(&req, limit) {
            return refused;
        }
        req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    }
    let handle = SessionHandle::new(app.sessions.clone(), cookie);
    req.extensions_mut().insert(handle.clone());
    // A dev page's APIs are refused before the CSRF check reads any body.
    let refused = match super::page_access::check(&app, &req, &handle) {
        Some(refusal) => refusal.await,
        None => None,
    };
    let mut response = match refused {
        Some(refused) => refused,
        None => super::csrf::guard(&app, req, next).await,
    };
    let success = !response.status().is_client_error() && !response.status().is_server_error();
    if let Some(value) = handle.set_cookie(success) {
        // Base64url and ASCII attributes only (`CookiePolicy`): always a valid header value.
        let value = HeaderValue::try_from(value).expect("a session cookie is a valid header");
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
