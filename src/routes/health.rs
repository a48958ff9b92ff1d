//! Probes: `/health` (public, memoized, isolated from the request pool), `/health/deep`
//! (diagnostics), `/health/live` (process liveness, touches nothing).
//!
//! Their bodies are their own stable contract, not the API envelope (DESIGN §3.1). They never
//! set a cookie and are never cached by intermediaries.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::config::Mode;
use crate::health::{self, Status};
use crate::http::AppError;
use crate::http::envelope::json_response;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/deep", get(deep))
        .route("/health/live", get(live))
}

fn probe_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    probe_bytes(status, serde_json::to_vec(body).unwrap_or_default().into())
}

fn probe_bytes(status: StatusCode, body: bytes::Bytes) -> Response {
    let mut response = json_response(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The memoized `/health` answer (checked when older than the memo's time to live).
pub async fn memoized(app: &AppState) -> std::sync::Arc<health::memo::HealthAnswer> {
    let ttl = if app.config.mode == Mode::Testing {
        Duration::ZERO
    } else {
        app.config.resilience.health_memo_ttl
    };
    app.health
        .get_or_check(ttl, || health::check(app, false))
        .await
}

/// 200 healthy or degraded, 503 unhealthy (database unreachable). The body was serialized
/// once when the memo was filled.
async fn health(State(app): State<AppState>) -> Response {
    let answer = memoized(&app).await;
    let status = if answer.report.status == Status::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    probe_bytes(status, answer.body.clone())
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

async fn live(State(app): State<AppState>) -> impl IntoResponse {
    probe_response(
        StatusCode::OK,
        &Live {
            status: "alive",
            pid: *PID,
            uptime_seconds: (chrono::Utc::now() - app.started_at).num_seconds().max(0) as u64,
            app_version: crate::config::APP_VERSION,
        },
    )
}
