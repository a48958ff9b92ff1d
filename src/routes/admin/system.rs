//! `GET /admin/api/system-status`: database, Redis, cache, workers and the resilience block
//! in one answer for the admin page.
//!
//! The circuit breaker and the per-pool statistics belong to the health module (issue 3); this
//! answer carries what exists today and leaves room for them.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::local_only::LocalAdmin;
use crate::app::AppState;
use crate::cache::redis::RedisStatus;
use crate::db::{DbError, DbPool};
use crate::http::ApiResponse;
use crate::supervisor::health::{PolicyHealth, Recommendation};
use crate::supervisor::recovery_recommendation;
use crate::with_conn;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/system-status", get(system_status))
}

#[derive(Debug, Serialize)]
struct SystemStatus {
    database: DatabaseStatus,
    redis: RedisReport,
    cache: CacheStatus,
    workers: PolicyHealth,
    resilience: Resilience,
}

#[derive(Debug, Serialize)]
struct DatabaseStatus {
    backend: &'static str,
    url: String,
    reachable: bool,
    latency_ms: Option<u64>,
    error: Option<String>,
    pool_in_use: u32,
    pool_max: u32,
}

#[derive(Debug, Serialize)]
struct RedisReport {
    #[serde(flatten)]
    status: RedisStatus,
    latency_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
struct CacheStatus {
    wip_loaded: bool,
    wip_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    wip_age_seconds: Option<u64>,
    wip_lots: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Resilience {
    policy_state: &'static str,
    cooldown_remaining_seconds: u64,
    attempts_in_window: u32,
    churn_exceeded: bool,
    recovery_recommendation: Option<Recommendation>,
}

/// The bound on each dependency check of this page.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

async fn system_status(
    State(app): State<AppState>,
    _admin: LocalAdmin,
) -> ApiResponse<SystemStatus> {
    let pool = &app.db.request;
    // Through the health pool: this page must answer while the request pool is exhausted.
    let (db, redis) = tokio::join!(ping_database(&app.db.health), async {
        match tokio::time::timeout(CHECK_TIMEOUT, app.redis.ping()).await {
            Ok(Ok(rtt)) => Some(rtt.as_millis() as u64),
            _ => None,
        }
    });
    let database = DatabaseStatus {
        backend: app.db.backend.as_str(),
        url: app.db.display_url.clone(),
        reachable: db.is_ok(),
        latency_ms: db.as_ref().ok().map(|d| d.as_millis() as u64),
        error: db.err(),
        pool_in_use: pool.in_use(),
        pool_max: pool.max_connections(),
    };
    let snapshot = app.wip.current();
    let cache = CacheStatus {
        wip_loaded: snapshot.is_some(),
        wip_updated_at: snapshot.as_ref().map(|s| s.computed_at),
        wip_age_seconds: snapshot.as_ref().map(|s| s.age().as_secs()),
        wip_lots: snapshot.as_ref().map(|s| s.lot_count),
    };
    let workers = app.supervision.health();
    let resilience = Resilience {
        policy_state: workers.policy_state.as_str(),
        cooldown_remaining_seconds: workers.cooldown_remaining_seconds,
        attempts_in_window: workers.attempts_in_window,
        churn_exceeded: workers.churn_exceeded,
        recovery_recommendation: recovery_recommendation(&workers),
    };
    ApiResponse::new(SystemStatus {
        database,
        redis: RedisReport {
            status: app.redis.status(),
            latency_ms: redis,
        },
        cache,
        workers,
        resilience,
    })
}

/// `SELECT 1` on the request pool, bounded; the round trip or the public error text.
async fn ping_database(pool: &DbPool) -> Result<Duration, String> {
    let started = Instant::now();
    let query = async {
        with_conn!(pool, |c| async {
            sqlx::query("SELECT 1").execute(&mut *c).await.map(|_| ())
        })
    };
    match tokio::time::timeout(CHECK_TIMEOUT, query).await {
        Ok(Ok(())) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(describe(e)),
        Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
    }
}

fn describe(e: DbError) -> String {
    crate::http::AppError::from(e).public_message()
}
