//! What `/health`, `/health/deep` and `/admin/api/system-status` need from the supervisor,
//! cheaply: [`PolicyHealth`] (from [`super::Supervision::health`], no I/O in worker mode) and
//! the restart-related recovery rules ([`recovery_recommendation`], a pure function).
//!
//! The supervisor owns these types and the health module reads them; nothing here imports
//! the health module, so the dependency points one way.

use serde::Serialize;

use super::policy::{PolicyState, PolicyStatus};

/// Policy state, churn and workers, for the health endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyHealth {
    /// `allowed`, `cooldown` or `blocked`.
    pub policy_state: PolicyState,
    pub cooldown_remaining_seconds: u64,
    pub attempts_in_window: u32,
    pub retry_budget: u32,
    pub window_seconds: u64,
    pub churn_exceeded: bool,
    pub workers: WorkersHealth,
}

/// How this process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionMode {
    /// A worker process of a supervisor (`WORKERS` > 0).
    Supervised,
    /// One process, no supervisor (`WORKERS=0`).
    InProcess,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkersHealth {
    pub mode: SupervisionMode,
    /// Workers wanted (`WORKERS`; 1 in-process).
    pub expected: usize,
    /// Workers of the current generation that are serving.
    pub serving: usize,
    /// The generation serving now (0 in-process).
    pub generation: u64,
    pub reload_in_progress: bool,
}

impl PolicyHealth {
    pub fn new(policy: &PolicyStatus, workers: WorkersHealth) -> Self {
        Self {
            policy_state: policy.state,
            cooldown_remaining_seconds: policy.cooldown_remaining_seconds,
            attempts_in_window: policy.attempts_in_window,
            retry_budget: policy.retry_budget,
            window_seconds: policy.window_seconds,
            churn_exceeded: policy.churn_exceeded,
            workers,
        }
    }
}

/// What an operator should do, as `/health/deep` and the status API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    pub action: &'static str,
    pub reason: String,
}

/// The restart rules of the recovery recommendation, in priority order:
///
/// 1. churn exceeded → `throttle_and_investigate_queries`: restarting again will not help;
/// 2. cooldown active → `wait_for_restart_cooldown`.
///
/// `None` when neither applies; the health module then applies its own rules (breaker, pool).
pub fn recovery_recommendation(health: &PolicyHealth) -> Option<Recommendation> {
    if health.churn_exceeded {
        return Some(Recommendation {
            action: "throttle_and_investigate_queries",
            reason: format!(
                "{} worker restarts in the last {} s reached the budget of {}: restarting again \
                 will not fix the cause; throttle load and look for slow queries or pool \
                 exhaustion{}",
                health.attempts_in_window,
                health.window_seconds,
                health.retry_budget,
                if health.policy_state == PolicyState::Blocked {
                    " (manual restarts need an acknowledged override)"
                } else {
                    ""
                }
            ),
        });
    }
    if health.policy_state == PolicyState::Cooldown {
        return Some(Recommendation {
            action: "wait_for_restart_cooldown",
            reason: format!(
                "a restart happened recently; the next one is allowed in {} s",
                health.cooldown_remaining_seconds
            ),
        });
    }
    None
}

#[cfg(test)]
impl PolicyHealth {
    /// The policy summary of a two-worker supervisor in `state`, with churn or not: the
    /// fixture of every test of the recovery rules (here and in the health module).
    pub fn fixture(state: PolicyState, churn: bool) -> Self {
        Self {
            policy_state: state,
            cooldown_remaining_seconds: 42,
            attempts_in_window: if churn { 3 } else { 1 },
            retry_budget: 3,
            window_seconds: 600,
            churn_exceeded: churn,
            workers: WorkersHealth {
                mode: SupervisionMode::Supervised,
                expected: 2,
                serving: 2,
                generation: 1,
                reload_in_progress: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(state: PolicyState, churn: bool) -> PolicyHealth {
        PolicyHealth::fixture(state, churn)
    }

    #[test]
    fn churn_wins_over_cooldown_and_a_quiet_policy_recommends_nothing() {
        let r = recovery_recommendation(&health(PolicyState::Blocked, true)).unwrap();
        assert_eq!(r.action, "throttle_and_investigate_queries");
        assert!(r.reason.contains("override"), "{}", r.reason);
        let r = recovery_recommendation(&health(PolicyState::Cooldown, true)).unwrap();
        assert_eq!(r.action, "throttle_and_investigate_queries");
        let r = recovery_recommendation(&health(PolicyState::Cooldown, false)).unwrap();
        assert_eq!(r.action, "wait_for_restart_cooldown");
        assert!(r.reason.contains("42 s"));
        assert_eq!(
            recovery_recommendation(&health(PolicyState::Allowed, false)),
            None
        );
    }
}
