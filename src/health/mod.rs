//! Health reports (DESIGN §3.4): what `/health` and `/health/deep` answer.
//!
//! `/health` checks the database through the dedicated health pool only (never the request
//! pool, so it answers while that pool is exhausted), pings Redis, and reads the breaker, the
//! request pool's saturation and the cache's freshness — concurrently, each bounded. The
//! verdict: `unhealthy` (503) when the database is unreachable, `degraded` (200) with the
//! first reason in [`DegradedReason`] order, else `healthy`.

pub mod memo;
pub mod resilience;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::app::App;
use crate::cache::wip::{CacheStatus, SnapshotState};
use crate::db;
use crate::db::breaker::{BreakerState, BreakerStatus};
use crate::db::stats::PoolStats;
use crate::redis::RedisError;
use crate::supervisor::PolicyHealth;
use crate::supervisor::policy::PolicyState;
use crate::timefmt::iso8601;
use resilience::{Alert, Recommendation, RestartChurn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    Degraded,
    Unhealthy,
}

/// Why a report is not healthy, in the order they are checked: the first that applies wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DegradedReason {
    DatabaseUnreachable,
    CircuitBreakerOpen,
    DbPoolSaturated,
    RedisUnavailable,
    CacheStale,
}

/// What the database check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseState {
    Ok,
    Unreachable,
}

/// What the Redis check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisState {
    Ok,
    Unavailable,
    /// No `REDIS_URL`.
    Disabled,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseCheck {
    pub status: DatabaseState,
    pub latency_ms: f64,
    /// Why it is unreachable (deep report only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisCheck {
    pub status: RedisState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolCheck {
    pub in_use: u32,
    pub max: u32,
    pub saturation: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    pub database: DatabaseCheck,
    pub redis: RedisCheck,
    pub circuit_breaker: BreakerCheck,
    pub db_pool: PoolCheck,
    pub cache: CacheStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakerCheck {
    pub state: BreakerState,
    pub failure_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_for_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResilienceBlock {
    pub thresholds: crate::config::resilience::HealthThresholds,
    pub alerts: Vec<Alert>,
    /// The restart policy's state: `allowed`, `cooldown` or `blocked`.
    pub policy_state: PolicyState,
    /// The restart policy and the workers.
    pub restart_policy: PolicyHealth,
    pub restart_churn: RestartChurn,
    pub recovery_recommendation: Recommendation,
}

/// The `/health` answer. Its top-level fields are a stable contract of their own (not the
/// API envelope).
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub status: Status,
    pub degraded_reason: Option<DegradedReason>,
    pub timestamp: String,
    pub app_version: &'static str,
    pub checks: Checks,
    pub resilience: ResilienceBlock,
    /// How long the checks took.
    pub check_ms: f64,
}

/// Everything `/health/deep` adds.
#[derive(Debug, Clone, Serialize)]
pub struct DeepReport {
    #[serde(flatten)]
    pub health: HealthReport,
    pub pools: Vec<PoolStats>,
    pub circuit_breaker: BreakerStatus,
    pub process: ProcessInfo,
    /// Every worker, the restart policy and the recent restart history.
    pub workers: crate::supervisor::link::WorkerStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub mode: &'static str,
    pub started_at: String,
    pub uptime_seconds: u64,
    pub database: String,
    pub redis: Option<String>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Runs every check once (concurrently) and judges them.
pub async fn check(app: &App, with_errors: bool) -> HealthReport {
    let started = Instant::now();
    let (database, redis) = tokio::join!(check_database(app), check_redis(app));
    let breaker = app.db.breaker.status();
    let pool = app.db.request.stats();
    let cache = app.wip.status();

    let thresholds = &app.config.resilience.thresholds;
    let reason = [
        (database.status != DatabaseState::Ok).then_some(DegradedReason::DatabaseUnreachable),
        (breaker.state == BreakerState::Open).then_some(DegradedReason::CircuitBreakerOpen),
        (pool.saturation >= thresholds.pool_saturation_warning)
            .then_some(DegradedReason::DbPoolSaturated),
        (redis.status == RedisState::Unavailable).then_some(DegradedReason::RedisUnavailable),
        (cache.state == SnapshotState::Stale).then_some(DegradedReason::CacheStale),
    ]
    .into_iter()
    .flatten()
    .next();
    let status = match reason {
        None => Status::Healthy,
        Some(DegradedReason::DatabaseUnreachable) => Status::Unhealthy,
        Some(_) => Status::Degraded,
    };
    let degraded_for = app.health.degraded_for(status != Status::Healthy);
    let workers = app.supervision.status();
    let restart_policy = app.supervision.health();
    let churn = resilience::restart_churn(thresholds, &workers.history, chrono::Utc::now());
    let alerts = resilience::alerts(
        thresholds,
        &pool,
        &breaker,
        degraded_for,
        &churn,
        &restart_policy,
    );
    let recommendation = resilience::recommend(reason, &restart_policy, &churn);

    HealthReport {
        status,
        degraded_reason: reason,
        timestamp: iso8601(chrono::Utc::now()),
        app_version: crate::config::APP_VERSION,
        checks: Checks {
            database: DatabaseCheck {
                error: database.error.filter(|_| with_errors),
                ..database
            },
            redis: RedisCheck {
                error: redis.error.filter(|_| with_errors),
                ..redis
            },
            circuit_breaker: BreakerCheck {
                state: breaker.state,
                failure_rate: breaker.failure_rate,
                open_for_seconds: breaker.open_for_seconds,
            },
            db_pool: PoolCheck {
                in_use: pool.in_use,
                max: pool.max,
                saturation: pool.saturation,
            },
            cache,
        },
        resilience: ResilienceBlock {
            thresholds: thresholds.clone(),
            alerts,
            policy_state: restart_policy.policy_state,
            restart_policy,
            restart_churn: churn,
            recovery_recommendation: recommendation,
        },
        check_ms: ms(started.elapsed()),
    }
}

/// The deep report: a fresh check with error texts, plus every pool and the full breaker.
pub async fn deep(app: &App) -> DeepReport {
    let health = check(app, true).await;
    DeepReport {
        health,
        pools: app.db.pools().iter().map(|p| p.stats()).collect(),
        circuit_breaker: app.db.breaker.status(),
        process: ProcessInfo {
            pid: std::process::id(),
            mode: app.config.mode.as_str(),
            started_at: iso8601(app.started_at),
            uptime_seconds: (chrono::Utc::now() - app.started_at).num_seconds().max(0) as u64,
            database: app.db.display_url.clone(),
            redis: app.redis.display_url().map(str::to_string),
        },
        workers: app.supervision.status(),
    }
}

async fn check_database(app: &App) -> DatabaseCheck {
    let started = Instant::now();
    let mut result = db::health_ping(&app.db.health).await;
    if let Err(db::DbError::Connection { .. }) = result
        && started.elapsed() < app.config.resilience.health.pool_timeout / 2
    {
        // A quick connection error is the kept-warm connection that died (database restart,
        // network blip): one retry on a fresh connection tells it from a dead database. A slow
        // one already spent the acquire timeout trying to connect: no retry.
        result = db::health_ping(&app.db.health).await;
    }
    match result {
        Ok(_) => DatabaseCheck {
            status: DatabaseState::Ok,
            latency_ms: ms(started.elapsed()),
            error: None,
        },
        Err(e) => DatabaseCheck {
            status: DatabaseState::Unreachable,
            latency_ms: ms(started.elapsed()),
            error: Some(e.to_string()),
        },
    }
}

async fn check_redis(app: &App) -> RedisCheck {
    match app.redis.ping().await {
        Ok(rtt) => RedisCheck {
            status: RedisState::Ok,
            latency_ms: Some(ms(rtt)),
            error: None,
        },
        Err(RedisError::Disabled) => RedisCheck {
            status: RedisState::Disabled,
            latency_ms: None,
            error: None,
        },
        Err(e) => RedisCheck {
            status: RedisState::Unavailable,
            latency_ms: None,
            error: Some(e.to_string()),
        },
    }
}
