//! `GET /metrics`: this worker's figures in the Prometheus text format (0.0.4), written by
//! hand — a dozen gauges and counters do not need a metrics crate.
//!
//! Who may read it (DESIGN §3.0, "admin or loopback"): an administrator's session, or a
//! scraper on this machine — a loopback socket peer with no proxy header. A request that came
//! through a proxy (even one on this machine) carries a forwarding header and needs the
//! administrator's session, so the proxy cannot open the metrics to the world. Everyone else
//! gets 403.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::auth::MaybeUser;
use crate::auth::extract::is_admin;
use crate::cache::wip::SnapshotState;
use crate::db::breaker::BreakerState;
use crate::db::stats::PoolStats;
use crate::http::AppError;

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

/// Writes one metric family: its help, its type and its samples (`labels` without braces,
/// empty for none).
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, "", value);
    }
}

/// A per-pool gauge: its name, its help, and how to read it from the pool's figures.
type PoolFamily = (&'static str, &'static str, fn(&PoolStats) -> u32);

/// The whole exposition. Label values are our own fixed words (pool names, states), so
/// none needs escaping.
pub fn render(app: &AppState) -> String {
    let mut t = Text(String::with_capacity(4096));
    let uptime = (chrono::Utc::now() - app.started_at)
        .num_milliseconds()
        .max(0) as f64
        / 1000.0;
    t.one(
        "mes_process_uptime_seconds",
        "gauge",
        "Seconds since this worker started serving.",
        uptime,
    );
    t.one(
        "mes_http_requests_total",
        "counter",
        "HTTP requests answered by this worker.",
        crate::http::server::requests_served(),
    );

    let stats: Vec<PoolStats> = app.db.pools().iter().map(|p| p.stats()).collect();
    let families: [PoolFamily; 4] = [
        ("mes_db_pool_size", "Open connections of the pool.", |s| {
            s.size
        }),
        ("mes_db_pool_in_use", "Connections lent out now.", |s| {
            s.in_use
        }),
        ("mes_db_pool_idle", "Open connections not in use.", |s| {
            s.idle
        }),
        (
            "mes_db_pool_max",
            "Most connections the pool may open.",
            |s| s.max,
        ),
    ];
    for (name, help, value) in families {
        t.family(name, "gauge", help);
        for s in &stats {
            t.sample(name, &format!("pool=\"{}\"", s.name), value(s));
        }
    }

    let breaker = app.db.breaker.status();
    t.one(
        "mes_circuit_breaker_state",
        "gauge",
        "Database circuit breaker: 0 closed, 1 half-open, 2 open.",
        match breaker.state {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        },
    );
    t.one(
        "mes_circuit_breaker_failure_rate",
        "gauge",
        "Share of failed calls in the breaker's window (0 to 1).",
        breaker.failure_rate,
    );

    let cache = app.wip.status();
    t.family(
        "mes_wip_cache_state",
        "gauge",
        "1 for the WIP cache's current state (empty, fresh or stale), 0 for the others.",
    );
    for state in SnapshotState::ALL {
        t.sample(
            "mes_wip_cache_state",
            &format!("state=\"{}\"", state.as_str()),
            u8::from(cache.state == state),
        );
    }
    if let Some(age) = cache.age_seconds {
        t.one(
            "mes_wip_cache_age_seconds",
            "gauge",
            "Age of the WIP snapshot served (absent before the first load).",
            age,
        );
    }
    t.one(
        "mes_wip_cache_lots",
        "gauge",
        "Lots in the WIP snapshot served (0 before the first load).",
        cache.lots.unwrap_or(0),
    );

    let redis = app.redis.status();
    t.one(
        "mes_redis_enabled",
        "gauge",
        "1 when REDIS_URL is configured.",
        u8::from(redis.enabled),
    );
    t.one(
        "mes_redis_available",
        "gauge",
        "1 when Redis is configured and not backing off after a failure.",
        u8::from(redis.available),
    );

    let csrf = &app.csrf_stats;
    t.one(
        "mes_csrf_rejections_total",
        "counter",
        "Requests refused by the CSRF check.",
        csrf.rejected.load(std::sync::atomic::Ordering::Relaxed),
    );
    t.one(
        "mes_csrf_reported_total",
        "counter",
        "Requests failing the CSRF check that report-only mode let through.",
        csrf.reported.load(std::sync::atomic::Ordering::Relaxed),
    );
    t.0
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
