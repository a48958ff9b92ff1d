//! Degraded-mode settings: the slow and health pools, the circuit breaker, and the thresholds
//! of the health report (DESIGN §3.3–3.4, §6).

use std::time::Duration;

use super::Mode;
use super::env::Reader;

/// The pool for long report queries, behind a concurrency limit.
#[derive(Debug, Clone)]
pub struct SlowPoolSettings {
    /// `DB_SLOW_POOL_SIZE`: connections of the slow pool.
    pub size: u32,
    /// `DB_SLOW_POOL_TIMEOUT`: seconds to wait for one of them.
    pub pool_timeout: Duration,
    /// `DB_SLOW_CALL_TIMEOUT_MS`: statement timeout of slow queries.
    pub call_timeout: Duration,
    /// `DB_SLOW_MAX_CONCURRENT`: slow queries running at once per worker.
    pub max_concurrent: u32,
    /// `DB_SLOW_MAX_WAIT_SECONDS`: how long a slow query waits for its turn before 503.
    pub max_wait: Duration,
}

/// The dedicated pool `/health` uses, so probes answer while the request pool is exhausted.
#[derive(Debug, Clone)]
pub struct HealthPoolSettings {
    /// `DB_HEALTH_POOL_SIZE`.
    pub size: u32,
    /// `DB_HEALTH_POOL_TIMEOUT`: seconds to wait for the connection.
    pub pool_timeout: Duration,
    /// `DB_HEALTH_CALL_TIMEOUT_MS`: statement timeout of the probe (at most 10 s).
    pub call_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct BreakerSettings {
    /// `CIRCUIT_BREAKER_ENABLED`.
    pub enabled: bool,
    /// `CIRCUIT_BREAKER_FAILURE_THRESHOLD`: failures in the window needed to open.
    pub failure_threshold: u32,
    /// `CIRCUIT_BREAKER_FAILURE_RATE`: and the failure rate in the window at least this.
    pub failure_rate: f64,
    /// `CIRCUIT_BREAKER_RECOVERY_TIMEOUT`: seconds open before probing (half-open).
    pub recovery_timeout: Duration,
    /// `CIRCUIT_BREAKER_WINDOW_SIZE`: the last calls considered.
    pub window_size: u32,
    /// `CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS`: probe calls admitted at once when half-open.
    pub half_open_max_calls: u32,
}

/// Thresholds of the health report's `resilience` block.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HealthThresholds {
    /// `RESILIENCE_POOL_SATURATION_WARNING`: request-pool saturation that makes `/health`
    /// degraded (`db_pool_saturated`).
    pub pool_saturation_warning: f64,
    /// `RESILIENCE_POOL_SATURATION_CRITICAL`: saturation that raises a critical alert.
    pub pool_saturation_critical: f64,
    /// `RESILIENCE_DEGRADED_ALERT_SECONDS`: degraded longer than this raises an alert.
    pub degraded_alert_seconds: u64,
    /// `RESILIENCE_RESTART_CHURN_WINDOW_SECONDS`: the window restart churn is counted in.
    pub restart_churn_window_seconds: u64,
    /// `RESILIENCE_RESTART_CHURN_THRESHOLD`: restarts in the window that count as churn.
    pub restart_churn_threshold: u32,
}

#[derive(Debug, Clone)]
pub struct ResilienceSettings {
    pub slow: SlowPoolSettings,
    pub health: HealthPoolSettings,
    pub breaker: BreakerSettings,
    pub thresholds: HealthThresholds,
    /// `DB_POOL_EXHAUSTED_RETRY_AFTER_SECONDS`: `Retry-After` of `DB_POOL_EXHAUSTED` and of
    /// connection failures.
    pub retry_after_seconds: u64,
    /// `HEALTH_MEMO_TTL_SECONDS`: `/health` answers from a memo this long (never in testing
    /// mode, where every probe checks afresh).
    pub health_memo_ttl: Duration,
}

pub(super) fn read(r: &mut Reader<'_>, _mode: Mode) -> ResilienceSettings {
    let slow = SlowPoolSettings {
        size: r.int("DB_SLOW_POOL_SIZE", 3, 1, 100) as u32,
        pool_timeout: r.seconds("DB_SLOW_POOL_TIMEOUT", 10, 1, 600),
        call_timeout: r.millis("DB_SLOW_CALL_TIMEOUT_MS", 120_000, 100, 3_600_000),
        max_concurrent: r.int("DB_SLOW_MAX_CONCURRENT", 2, 1, 100) as u32,
        max_wait: r.seconds("DB_SLOW_MAX_WAIT_SECONDS", 5, 0, 600),
    };
    if slow.max_concurrent > slow.size {
        r.diag.warning(
            "DB_SLOW_MAX_CONCURRENT",
            format!(
                "{} is more than DB_SLOW_POOL_SIZE ({}); the extra queries wait for a connection",
                slow.max_concurrent, slow.size
            ),
        );
    }
    let health = HealthPoolSettings {
        size: r.int("DB_HEALTH_POOL_SIZE", 1, 1, 5) as u32,
        pool_timeout: r.seconds("DB_HEALTH_POOL_TIMEOUT", 2, 1, 30),
        call_timeout: r.millis("DB_HEALTH_CALL_TIMEOUT_MS", 5_000, 100, 10_000),
    };
    let breaker = BreakerSettings {
        enabled: r.bool("CIRCUIT_BREAKER_ENABLED", true),
        failure_threshold: r.int("CIRCUIT_BREAKER_FAILURE_THRESHOLD", 5, 1, 10_000) as u32,
        failure_rate: r.float("CIRCUIT_BREAKER_FAILURE_RATE", 0.5, 0.0, 1.0),
        recovery_timeout: r.seconds("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", 30, 1, 3_600),
        window_size: r.int("CIRCUIT_BREAKER_WINDOW_SIZE", 10, 1, 10_000) as u32,
        half_open_max_calls: r.int("CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS", 1, 1, 1_000) as u32,
    };
    if breaker.failure_threshold > breaker.window_size {
        r.diag.error(
            "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
            format!(
                "{} can never be reached within CIRCUIT_BREAKER_WINDOW_SIZE ({}) calls",
                breaker.failure_threshold, breaker.window_size
            ),
        );
    }
    let thresholds = HealthThresholds {
        pool_saturation_warning: r.float("RESILIENCE_POOL_SATURATION_WARNING", 0.9, 0.0, 1.0),
        pool_saturation_critical: r.float("RESILIENCE_POOL_SATURATION_CRITICAL", 1.0, 0.0, 1.0),
        degraded_alert_seconds: r.int("RESILIENCE_DEGRADED_ALERT_SECONDS", 300, 1, 86_400),
        restart_churn_window_seconds: r.int(
            "RESILIENCE_RESTART_CHURN_WINDOW_SECONDS",
            600,
            1,
            86_400,
        ),
        restart_churn_threshold: r.int("RESILIENCE_RESTART_CHURN_THRESHOLD", 3, 1, 1_000) as u32,
    };
    if thresholds.pool_saturation_warning > thresholds.pool_saturation_critical {
        r.diag.error(
            "RESILIENCE_POOL_SATURATION_WARNING",
            "must not be above RESILIENCE_POOL_SATURATION_CRITICAL",
        );
    }
    ResilienceSettings {
        slow,
        health,
        breaker,
        thresholds,
        retry_after_seconds: r.int("DB_POOL_EXHAUSTED_RETRY_AFTER_SECONDS", 5, 1, 3_600),
        health_memo_ttl: r.seconds("HEALTH_MEMO_TTL_SECONDS", 5, 0, 300),
    }
}
