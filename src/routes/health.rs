//! Probes: `/health` (public, memoized, isolated from the request pool), `/health/deep`
//! (diagnostics), `/health/live` (process liveness, touches nothing).
//!
//! Their bodies are their own stable contract, not the API envelope (DESIGN §3.1). They never
//! set a cookie and are never cached by intermediaries.

use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::config::Mode;
use crate::health::{self, Status};
use crate::http::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/deep", get(deep))
        .route("/health/live", get(live))
}

fn probe_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    probe_bytes(status, serde_json::to_vec(body).unwrap_or_default().into())
}

fn probe_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = probe_headers();
    response
}

/// The headers of every probe's answer (the edge adds its own): JSON, never stored. Made
/// once and copied: cheaper than inserting them one by one into each answer.
pub fn probe_headers() -> HeaderMap {
    static HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
        HeaderMap::from_iter([
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ])
    });
    HEADERS.clone()
}

/// How long a `/health` answer is reused: zero in testing mode (every probe checks).
fn memo_ttl(app: &AppState) -> Duration {
    if app.config.mode == Mode::Testing {
        Duration::ZERO
    } else {
        app.config.resilience.health_memo_ttl
    }
}

/// The memoized `/health` answer (checked when older than the memo's time to live).
pub async fn memoized(app: &AppState) -> std::sync::Arc<health::memo::HealthAnswer> {
    app.health
        .get_or_check(memo_ttl(app), || health::check(app, false))
        .await
}

/// 200 healthy or degraded, 503 unhealthy (database unreachable). The body was serialized
/// once when the memo was filled.
fn health_answer(answer: &health::memo::HealthAnswer) -> (StatusCode, Bytes) {
    let status = if answer.report.status == Status::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, answer.body.clone())
}

async fn health(State(app): State<AppState>) -> Response {
    let (status, body) = health_answer(&*memoized(&app).await);
    probe_bytes(status, body)
}

/// The status and body of a `GET` of `path` when they can be given at once, without waiting
/// for anything: `/health` while its memo is fresh, `/health/live` always; `None` otherwise.
/// The routes' answers, with [`probe_headers`] (the HTTP layer answers probes with it below
/// the router).
pub fn ready_answer(app: &AppState, path: &str) -> Option<(StatusCode, Bytes)> {
    match path {
        "/health" => app
            .health
            .fresh(memo_ttl(app))
            .map(|answer| health_answer(&answer)),
        "/health/live" => Some((StatusCode::OK, live_body(app))),
        _ => None,
    }
}

/// Latencies, every pool, the whole breaker, query percentiles: administrators only.
async fn deep(State(app): State<AppState>, _admin: AdminUser) -> Result<Response, AppError> {
    let report = health::deep(&app).await;
    let status = if report.health.status == Status::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok(probe_response(status, &report))
}

#[derive(Serialize)]
struct Live {
    status: &'static str,
    pid: u32,
    uptime_seconds: u64,
    app_version: &'static str,
}

/// This process's id, read once: `std::process::id()` is a system call per probe (measured
/// with `strace -c` under load), and workers are started as new processes, never forked.
static PID: std::sync::LazyLock<u32> = std::sync::LazyLock::new(std::process::id);

async fn live(State(app): State<AppState>) -> Response {
    probe_bytes(StatusCode::OK, live_body(&app))
}

fn live_body(app: &AppState) -> Bytes {
    let live = Live {
        status: "alive",
        pid: *PID,
        uptime_seconds: (chrono::Utc::now() - app.started_at).num_seconds().max(0) as u64,
        app_version: crate::config::APP_VERSION,
    };
    serde_json::to_vec(&live).unwrap_or_default().into()
}
