//! The `/health` memo: one check in flight at a time, its answer reused for
//! `HEALTH_MEMO_TTL_SECONDS`, and how long the app has been degraded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::HealthReport;

#[derive(Default)]
pub struct HealthState {
    /// Held while a check runs: concurrent callers wait for it and share its answer.
    memo: tokio::sync::Mutex<Option<(Instant, Arc<HealthReport>)>>,
    degraded_since: Mutex<Option<Instant>>,
}

impl HealthState {
    /// The memoized report when younger than `ttl`, else a fresh one from `check`. With a
    /// zero `ttl` every call checks, but concurrent callers still share one check.
    pub async fn get_or_check<F, Fut>(&self, ttl: Duration, check: F) -> Arc<HealthReport>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = HealthReport>,
    {
        let requested = Instant::now();
        let mut memo = self.memo.lock().await;
        if let Some((at, report)) = memo.as_ref() {
            // Fresh enough, or computed while this caller waited for the lock.
            if at.elapsed() < ttl || *at >= requested {
                return report.clone();
            }
        }
        let report = Arc::new(check().await);
        *memo = Some((Instant::now(), report.clone()));
        report
    }

    /// Tracks how long the app has been not healthy; `None` when healthy now.
    pub fn degraded_for(&self, degraded: bool) -> Option<Duration> {
        let mut since = self
            .degraded_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if degraded {
            Some(since.get_or_insert_with(Instant::now).elapsed())
        } else {
            *since = None;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{
        BreakerCheck, Checks, DatabaseCheck, PoolCheck, RedisCheck, ResilienceBlock, Status,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn report() -> HealthReport {
        HealthReport {
            status: Status::Healthy,
            degraded_reason: None,
            timestamp: String::new(),
            app_version: "test",
            checks: Checks {
                database: DatabaseCheck {
                    status: "ok",
                    latency_ms: 0.0,
                    error: None,
                },
                redis: RedisCheck {
                    status: "disabled",
                    latency_ms: None,
                    error: None,
                },
                circuit_breaker: BreakerCheck {
                    state: crate::db::breaker::BreakerState::Closed,
                    failure_rate: 0.0,
                    open_for_seconds: None,
                },
                db_pool: PoolCheck {
                    in_use: 0,
                    max: 1,
                    saturation: 0.0,
                },
                cache: crate::cache::wip::CacheStatus {
                    state: "empty",
                    age_seconds: None,
                    lots: None,
                },
            },
            resilience: ResilienceBlock {
                thresholds: crate::config::resilience::HealthThresholds {
                    pool_saturation_warning: 0.9,
                    pool_saturation_critical: 1.0,
                    degraded_alert_seconds: 300,
                    restart_churn_window_seconds: 600,
                    restart_churn_threshold: 3,
                },
                alerts: vec![],
                recovery_recommendation: crate::health::resilience::recommend(None),
            },
            check_ms: 0.0,
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_check_even_without_a_memo() {
        let state = Arc::new(HealthState::default());
        let checks = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let state = state.clone();
                let checks = checks.clone();
                tokio::spawn(async move {
                    state
                        .get_or_check(Duration::ZERO, || async move {
                            checks.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            report()
                        })
                        .await
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        // The first caller checks; all who asked while it ran share its answer. A caller
        // scheduled only after it finished may check once more.
        assert!(
            checks.load(Ordering::SeqCst) <= 2,
            "{}",
            checks.load(Ordering::SeqCst)
        );

        // A later call, with no memo, checks again.
        let before = checks.load(Ordering::SeqCst);
        let checks2 = checks.clone();
        state
            .get_or_check(Duration::ZERO, || async move {
                checks2.fetch_add(1, Ordering::SeqCst);
                report()
            })
            .await;
        assert_eq!(checks.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn degraded_time_accumulates_until_healthy_again() {
        let state = HealthState::default();
        assert!(state.degraded_for(false).is_none());
        let first = state.degraded_for(true).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(state.degraded_for(true).unwrap() > first);
        assert!(state.degraded_for(false).is_none());
        assert!(state.degraded_for(true).unwrap() < Duration::from_millis(20));
    }
}
