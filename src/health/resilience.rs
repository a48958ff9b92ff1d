//! The `resilience` block: alerts and the recovery recommendation, as pure functions of the
//! checks so they are tested without any fault injected.

use std::time::Duration;

use serde::Serialize;

use super::DegradedReason;
use crate::config::resilience::HealthThresholds;
use crate::db::breaker::{BreakerState, BreakerStatus};
use crate::db::stats::PoolStats;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `warning` or `critical`.
    pub severity: &'static str,
    /// Stable identifier: `pool_saturation`, `circuit_breaker_open`, `degraded_prolonged`.
    pub kind: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    pub action: &'static str,
    pub reason: String,
}

/// What an operator should do about the first degraded reason.
pub fn recommend(reason: Option<DegradedReason>) -> Recommendation {
    let (action, reason) = match reason {
        None => ("none", "every check passed"),
        Some(DegradedReason::DatabaseUnreachable) => (
            "check_database_connectivity",
            "the health pool cannot reach the database; check the database, the network and \
             the credentials",
        ),
        Some(DegradedReason::CircuitBreakerOpen) => (
            "wait_for_circuit_half_open",
            "calls to the database are paused after repeated failures; the breaker probes \
             again when its recovery timeout ends",
        ),
        Some(DegradedReason::DbPoolSaturated) => (
            "consider_controlled_worker_restart",
            "the request pool is saturated; if it stays so, look for long-running queries and \
             consider a controlled worker restart",
        ),
        Some(DegradedReason::RedisUnavailable) => (
            "continue_degraded_mode",
            "Redis is unavailable; the dashboard serves from process memory and the database \
             until it returns",
        ),
        Some(DegradedReason::CacheStale) => (
            "observe_and_retry",
            "the last refresh of cached data failed; answers are labelled stale until the next \
             refresh succeeds",
        ),
    };
    Recommendation {
        action,
        reason: reason.to_string(),
    }
}

pub fn alerts(
    t: &HealthThresholds,
    pool: &PoolStats,
    breaker: &BreakerStatus,
    degraded_for: Option<Duration>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if pool.saturation >= t.pool_saturation_critical {
        alerts.push(Alert {
            severity: "critical",
            kind: "pool_saturation",
            message: format!(
                "request pool saturation {:.2} ≥ critical {:.2} ({} of {} connections in use)",
                pool.saturation, t.pool_saturation_critical, pool.in_use, pool.max
            ),
        });
    } else if pool.saturation >= t.pool_saturation_warning {
        alerts.push(Alert {
            severity: "warning",
            kind: "pool_saturation",
            message: format!(
                "request pool saturation {:.2} ≥ warning {:.2}",
                pool.saturation, t.pool_saturation_warning
            ),
        });
    }
    if breaker.state == BreakerState::Open {
        alerts.push(Alert {
            severity: "critical",
            kind: "circuit_breaker_open",
            message: format!(
                "database calls paused; half-open in {} s",
                breaker.open_for_seconds.unwrap_or(0)
            ),
        });
    }
    if let Some(d) = degraded_for
        && d.as_secs() >= t.degraded_alert_seconds
    {
        alerts.push(Alert {
            severity: "warning",
            kind: "degraded_prolonged",
            message: format!(
                "not healthy for {} s (alert after {} s)",
                d.as_secs(),
                t.degraded_alert_seconds
            ),
        });
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::stats::CallSnapshot;

    fn thresholds() -> HealthThresholds {
        HealthThresholds {
            pool_saturation_warning: 0.9,
            pool_saturation_critical: 1.0,
            degraded_alert_seconds: 300,
            restart_churn_window_seconds: 600,
            restart_churn_threshold: 3,
        }
    }

    fn pool(in_use: u32, max: u32) -> PoolStats {
        PoolStats {
            name: "request",
            size: max,
            in_use,
            idle: 0,
            max,
            saturation: f64::from(in_use) / f64::from(max),
            calls: CallSnapshot {
                succeeded: 0,
                failed: 0,
                rejected: 0,
                latency_ms: None,
            },
        }
    }

    fn breaker(state: BreakerState) -> BreakerStatus {
        BreakerStatus {
            enabled: true,
            state,
            window_size: 10,
            calls_in_window: 0,
            failures_in_window: 0,
            failure_rate: 0.0,
            last_failure_at: None,
            last_failure: None,
            open_for_seconds: Some(12),
            open_until: None,
            times_opened: 1,
        }
    }

    #[test]
    fn every_reason_has_its_action() {
        let cases = [
            (None, "none"),
            (
                Some(DegradedReason::DatabaseUnreachable),
                "check_database_connectivity",
            ),
            (
                Some(DegradedReason::RedisUnavailable),
                "continue_degraded_mode",
            ),
            (
                Some(DegradedReason::CircuitBreakerOpen),
                "wait_for_circuit_half_open",
            ),
            (
                Some(DegradedReason::DbPoolSaturated),
                "consider_controlled_worker_restart",
            ),
            (Some(DegradedReason::CacheStale), "observe_and_retry"),
        ];
        for (reason, action) in cases {
            assert_eq!(recommend(reason).action, action, "{reason:?}");
        }
    }

    #[test]
    fn alerts_follow_the_thresholds() {
        let t = thresholds();
        assert!(alerts(&t, &pool(5, 10), &breaker(BreakerState::Closed), None).is_empty());
        let warn = alerts(&t, &pool(9, 10), &breaker(BreakerState::Closed), None);
        assert_eq!(
            (warn[0].kind, warn[0].severity),
            ("pool_saturation", "warning")
        );
        let crit = alerts(
            &t,
            &pool(10, 10),
            &breaker(BreakerState::Open),
            Some(Duration::from_secs(301)),
        );
        let kinds: Vec<_> = crit.iter().map(|a| (a.kind, a.severity)).collect();
        assert_eq!(
            kinds,
            [
                ("pool_saturation", "critical"),
                ("circuit_breaker_open", "critical"),
                ("degraded_prolonged", "warning")
            ]
        );
    }
}
