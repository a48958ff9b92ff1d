//! `/health` and `/health/live` answered below the router, in the connection's service
//! function. Load balancers probe at a high rate, and for these answers the router's layers
//! (routing, the middleware's boxed futures, the session layer, the extensions) cost more than
//! everything else together: callgrind counted about 20 k of the 30.5 k instructions of a
//! `/health/live` request under `RouteFuture` (`TARGET=live bash bench/callgrind_summary.sh`).
//!
//! The answer is the router's: the same status, body and headers (content type,
//! `Cache-Control: no-store`, the security headers, `Connection: close` while draining,
//! `X-Request-Id`) and the same access log line; only `Date` and a new request id differ from
//! one answer to the next, as they do through the router. Only a plain `GET` — no query, no
//! body — qualifies, and `/health` only while its memo is fresh: `HEAD`, `?lang=`, a memo that
//! needs a check and every other path go through the router as before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;

use crate::app::AppState;
use crate::http::middleware::access_log::X_REQUEST_ID;
use crate::http::middleware::edge::{self, Edge};
use crate::http::middleware::request_body;
use crate::routes::health;

pub struct Probes {
    app: AppState,
    edge: Arc<Edge>,
    /// A probe answer's headers with the edge's security headers, made once.
    headers: HeaderMap,
    answered: AtomicU64,
}

impl Probes {
    pub fn new(app: AppState, edge: Arc<Edge>) -> Self {
        let mut headers = edge.with_security_headers(health::probe_headers());
        // A slot for the request id, which every answer's way out sets: a clone of the map
        // has room for exactly what it holds, so an id added to it would grow it (a
        // reallocation and a copy of every header per probe).
        headers.insert(X_REQUEST_ID.clone(), HeaderValue::from_static(""));
        Self {
            app,
            edge,
            headers,
            answered: AtomicU64::new(0),
        }
    }

    /// The answer when `req` (from `peer`) is a probe that can be answered at once; `None`
    /// sends it to the router.
    pub fn answer(&self, req: &Request, peer: SocketAddr) -> Option<Response> {
        if req.method() != Method::GET
            || req.uri().query().is_some()
            || request_body::declares_body(req.headers())
        {
            return None;
        }
        let (status, body) = health::ready_answer(&self.app, req.uri().path())?;
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = self.headers.clone();
        self.answered.fetch_add(1, Ordering::Relaxed);
        Some(edge::finish_below_router(&self.edge, req, peer, response))
    }

    /// How many probes were answered here (the rest went through the router).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}
