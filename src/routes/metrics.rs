//! `GET /metrics`: the figures of this process — or, supervised, of every worker of the
//! instance with totals — in the Prometheus text format (0.0.4); see [`crate::metrics`].
//!
//! Who may read it (DESIGN §3.0, "admin or loopback"): an administrator's session, or a
//! scraper on this machine — a loopback socket peer with no proxy header. A request that came
//! through a proxy (even one on this machine) carries a forwarding header and needs the
//! administrator's session, so the proxy cannot open the metrics to the world. Everyone else
//! gets 403.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::auth::MaybeUser;
use crate::auth::extract::is_admin;
use crate::http::AppError;
use crate::metrics::{self, WorkerSamples};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The Prometheus text exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Headers a reverse proxy adds: their presence means the socket peer is not the client.
const PROXY_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// A scraper on this machine talking to us directly.
fn local_scraper(peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    peer.is_some_and(|p| p.ip().is_loopback())
        && PROXY_HEADERS.iter().all(|h| !headers.contains_key(*h))
}

async fn metrics(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
    request: Request,
) -> Result<Response, AppError> {
    let admin = user.as_deref().is_some_and(|u| is_admin(&app, u));
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(p)| *p);
    if !admin && !local_scraper(peer, request.headers()) {
        return Err(AppError::Forbidden(
            "metrics are for administrators, or for a scraper on this machine connecting \
             directly (loopback, no proxy headers)"
                .into(),
        ));
    }
    let mut response = render(&app).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The exposition: this process's samples, or — supervised — every worker's (its own read
/// now, the others' from their latest heartbeat) with the instance totals.
pub fn render(app: &AppState) -> String {
    let local = metrics::collect(app);
    let Some(workers) = app.supervision.instance_metrics() else {
        return metrics::render_process(&local);
    };
    let me = std::process::id();
    let mut all: Vec<WorkerSamples<'_>> = workers
        .iter()
        .filter(|w| w.pid != me)
        .map(|w| WorkerSamples {
            slot: w.slot,
            pid: w.pid,
            samples: &w.samples,
        })
        .collect();
    let my_slot = app.supervision.status().answered_by.slot;
    all.push(WorkerSamples {
        slot: my_slot,
        pid: me,
        samples: &local,
    });
    all.sort_by_key(|w| (w.slot, w.pid));
    metrics::render_instance(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_direct_loopback_peer_is_a_local_scraper() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let local6: SocketAddr = "[::1]:5000".parse().unwrap();
        let remote: SocketAddr = "10.0.0.7:5000".parse().unwrap();
        let none = HeaderMap::new();
        assert!(local_scraper(Some(local), &none));
        assert!(local_scraper(Some(local6), &none));
        assert!(!local_scraper(Some(remote), &none));
        assert!(!local_scraper(None, &none));
        for h in PROXY_HEADERS {
            let mut proxied = HeaderMap::new();
            proxied.insert(h, HeaderValue::from_static("203.0.113.9"));
            assert!(!local_scraper(Some(local), &proxied), "{h}");
        }
    }
}
