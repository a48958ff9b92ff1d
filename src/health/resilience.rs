//! The `resilience` block: alerts and the recovery recommendation, as pure functions of the
//! checks so they are tested without any fault injected.

use std::time::Duration;

use serde::Serialize;

use chrono::{DateTime, Utc};

use super::DegradedReason;
use crate::config::resilience::HealthThresholds;
use crate::db::breaker::{BreakerState, BreakerStatus};
use crate::db::stats::PoolStats;
use crate::supervisor::PolicyHealth;
use crate::supervisor::history::HistoryEntry;
use crate::supervisor::policy::PolicyState;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `warning` or `critical`.
    pub severity: &'static str,
    /// Stable identifier: `pool_saturation`, `circuit_breaker_open`, `degraded_prolonged`.
    pub kind: &'static str,
    pub message: String,
}

pub use crate::supervisor::Recommendation;

/// Worker restarts within the `RESILIENCE_RESTART_CHURN_*` window: the health report's
/// notion of churn (the restart policy blocks on its own `WORKER_RESTART_*` budget).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartChurn {
    pub restarts_in_window: u32,
    pub window_seconds: u64,
    pub threshold: u32,
    pub exceeded: bool,
}

/// Counts the restarts of `history` (newest first) that the policy counts, within the window.
pub fn restart_churn(
    t: &HealthThresholds,
    history: &[HistoryEntry],
    now: DateTime<Utc>,
) -> RestartChurn {
    let since = now - chrono::Duration::seconds(t.restart_churn_window_seconds as i64);
    let restarts = history
        .iter()
        .filter(|e| crate::supervisor::policy::counts(e) && e.requested_at >= since)
        .count() as u32;
    RestartChurn {
        restarts_in_window: restarts,
        window_seconds: t.restart_churn_window_seconds,
        threshold: t.restart_churn_threshold,
        exceeded: restarts >= t.restart_churn_threshold,
    }
}

/// What an operator should do: the database first, then restart churn (restarting again
/// will not help), then the first degraded reason — where the restart policy's cooldown turns
/// "restart a worker" into "wait for the cooldown".
pub fn recommend(
    reason: Option<DegradedReason>,
    policy: &PolicyHealth,
    churn: &RestartChurn,
) -> Recommendation {
    if reason != Some(DegradedReason::DatabaseUnreachable) {
        let restart_rule = crate::supervisor::recovery_recommendation(policy);
        if churn.exceeded || policy.churn_exceeded {
            return restart_rule.unwrap_or_else(|| Recommendation {
                action: "throttle_and_investigate_queries",
                reason: format!(
                    "{} worker restarts in the last {} s reached the alert threshold of {}: \
                     restarting again will not fix the cause; throttle load and look for slow \
                     queries or pool exhaustion",
                    churn.restarts_in_window, churn.window_seconds, churn.threshold
                ),
            });
        }
        if reason == Some(DegradedReason::DbPoolSaturated)
            && let Some(wait) = restart_rule
        {
            return wait;
        }
    }
    recommend_for(reason)
}

/// The recommendation for the first degraded reason alone.
pub fn recommend_for(reason: Option<DegradedReason>) -> Recommendation {
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
    churn: &RestartChurn,
    policy: &PolicyHealth,
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
    if churn.exceeded {
        alerts.push(Alert {
            severity: if policy.policy_state == PolicyState::Blocked {
                "critical"
            } else {
                "warning"
            },
            kind: "restart_churn",
            message: format!(
                "{} worker restarts in the last {} s (alert at {})",
                churn.restarts_in_window, churn.window_seconds, churn.threshold
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

    fn policy(state: PolicyState, churn: bool) -> PolicyHealth {
        PolicyHealth::fixture(state, churn)
    }

    fn churn(exceeded: bool) -> RestartChurn {
        RestartChurn {
            restarts_in_window: if exceeded { 3 } else { 0 },
            window_seconds: 600,
            threshold: 3,
            exceeded,
        }
    }

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
            waits: 0,
            waited_seconds: 0.0,
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
        let quiet = policy(PolicyState::Allowed, false);
        for (reason, action) in cases {
            assert_eq!(
                recommend(reason, &quiet, &churn(false)).action,
                action,
                "{reason:?}"
            );
        }
    }

    #[test]
    fn restart_rules_complete_the_recommendation() {
        let saturated = Some(DegradedReason::DbPoolSaturated);
        let cooling = policy(PolicyState::Cooldown, false);
        assert_eq!(
            recommend(saturated, &cooling, &churn(false)).action,
            "wait_for_restart_cooldown"
        );
        let churning = policy(PolicyState::Blocked, true);
        for reason in [saturated, None, Some(DegradedReason::CircuitBreakerOpen)] {
            assert_eq!(
                recommend(reason, &churning, &churn(true)).action,
                "throttle_and_investigate_queries",
                "{reason:?}"
            );
        }
        // The database comes first, whatever the restarts.
        assert_eq!(
            recommend(
                Some(DegradedReason::DatabaseUnreachable),
                &churning,
                &churn(true)
            )
            .action,
            "check_database_connectivity"
        );
        // Cooldown alone does not change a breaker recommendation.
        assert_eq!(
            recommend(
                Some(DegradedReason::CircuitBreakerOpen),
                &cooling,
                &churn(false)
            )
            .action,
            "wait_for_circuit_half_open"
        );
    }

    #[test]
    fn alerts_follow_the_thresholds() {
        let t = thresholds();
        let quiet = policy(PolicyState::Allowed, false);
        let closed = breaker(BreakerState::Closed);
        assert!(alerts(&t, &pool(5, 10), &closed, None, &churn(false), &quiet).is_empty());
        let warn = alerts(&t, &pool(9, 10), &closed, None, &churn(false), &quiet);
        assert_eq!(
            (warn[0].kind, warn[0].severity),
            ("pool_saturation", "warning")
        );
        let crit = alerts(
            &t,
            &pool(10, 10),
            &breaker(BreakerState::Open),
            Some(Duration::from_secs(301)),
            &churn(true),
            &policy(PolicyState::Blocked, true),
        );
        let kinds: Vec<_> = crit.iter().map(|a| (a.kind, a.severity)).collect();
        assert_eq!(
            kinds,
            [
                ("pool_saturation", "critical"),
                ("circuit_breaker_open", "critical"),
                ("restart_churn", "critical"),
                ("degraded_prolonged", "warning")
            ]
        );
    }
}
