//! The restart policy (DESIGN §5) as pure functions of the restart history and the time.
//!
//! - A restart *counts* when it was carried out (not rejected) and is not a routine recycle
//!   (`WORKER_MAX_REQUESTS`). Watchdog and crash replacements and signal reloads count: they
//!   are the churn the policy exists to notice.
//! - `cooldown`: the last counted restart is younger than `WORKER_RESTART_COOLDOWN`.
//! - churn: at least `WORKER_RESTART_RETRY_BUDGET` counted restarts within
//!   `WORKER_RESTART_WINDOW_SECONDS`. With `WORKER_GUARDED_MODE_ENABLED` churn makes the state
//!   `blocked`, which wins over `cooldown`.
//! - A manual (admin) request while `cooldown` or `blocked` needs `manual_override`,
//!   `override_acknowledged` and a non-empty `override_reason`; without the acknowledgement it
//!   is refused by the state (cooldown, blocked), and an acknowledged override without a valid
//!   reason is refused as malformed. Signals and the watchdog are not gated (the operator at
//!   the shell and a hung worker do not wait), but they are recorded.
//!
//! The time is an argument, so tests move it by hand.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{Action, Decision, HistoryEntry};
use crate::config::supervisor::PolicySettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyState {
    Allowed,
    Cooldown,
    Blocked,
}

impl PolicyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Cooldown => "cooldown",
            Self::Blocked => "blocked",
        }
    }
}

/// The policy's state at one instant, as the status APIs show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyStatus {
    pub state: PolicyState,
    /// Whole seconds until the cooldown ends (0 when not cooling down), rounded up.
    pub cooldown_remaining_seconds: u64,
    pub attempts_in_window: u32,
    pub retry_budget: u32,
    pub window_seconds: u64,
    pub cooldown_seconds: u64,
    pub churn_exceeded: bool,
    pub guarded_mode_enabled: bool,
    /// The last counted restart.
    pub last_restart: Option<HistoryEntry>,
}

/// Whether a history entry counts toward cooldown and budget.
pub fn counts(entry: &HistoryEntry) -> bool {
    entry.decision.carried_out() && entry.action != Action::Recycle
}

/// The policy state given the history (oldest first) at `now`.
pub fn status(cfg: &PolicySettings, history: &[HistoryEntry], now: DateTime<Utc>) -> PolicyStatus {
    let window = chrono::Duration::from_std(cfg.window).unwrap_or(chrono::Duration::MAX);
    let attempts = history
        .iter()
        .filter(|e| counts(e) && e.requested_at > now - window && e.requested_at <= now)
        .count() as u32;
    let last = history.iter().rev().find(|e| counts(e)).cloned();
    let cooldown_remaining = last.as_ref().map_or(0, |l| {
        let since = (now - l.requested_at).to_std().unwrap_or(Duration::ZERO);
        let left = cfg.cooldown.saturating_sub(since);
        // Round up: "retry in 0 s" while still cooling down would be a lie.
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    });
    let churn_exceeded = attempts >= cfg.retry_budget;
    let state = if cfg.guarded_mode && churn_exceeded {
        PolicyState::Blocked
    } else if cooldown_remaining > 0 {
        PolicyState::Cooldown
    } else {
        PolicyState::Allowed
    };
    PolicyStatus {
        state,
        cooldown_remaining_seconds: cooldown_remaining,
        attempts_in_window: attempts,
        retry_budget: cfg.retry_budget,
        window_seconds: cfg.window.as_secs(),
        cooldown_seconds: cfg.cooldown.as_secs(),
        churn_exceeded,
        guarded_mode_enabled: cfg.guarded_mode,
        last_restart: last,
    }
}

/// A manual restart request, as the admin API takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    #[serde(default)]
    pub manual_override: bool,
    #[serde(default)]
    pub override_acknowledged: bool,
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Longest accepted override reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

impl ManualRequest {
    /// The reason, trimmed; `None` when absent or blank.
    pub fn reason(&self) -> Option<&str> {
        self.override_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }
}

/// What the policy says about a manual request.
///
/// An override counts only when it is acknowledged (`manual_override` and
/// `override_acknowledged`). An acknowledged override must carry a reason of 1 to
/// [`MAX_REASON_CHARS`] characters: without one the request contradicts itself and is refused
/// as such, whatever the state. Any other request is decided by the state alone, so a request
/// that is not an acknowledged override is refused in cooldown or while blocked for that reason.
pub fn decide(status: &PolicyStatus, request: &ManualRequest) -> Decision {
    let reason_valid = request
        .reason()
        .is_some_and(|r| r.chars().count() <= MAX_REASON_CHARS);
    if request.override_acknowledged && !reason_valid {
        return Decision::RejectedReasonRequired;
    }
    let overridden = request.manual_override && request.override_acknowledged;
    match status.state {
        PolicyState::Allowed => Decision::Allowed,
        PolicyState::Cooldown | PolicyState::Blocked if overridden => Decision::AllowedOverride,
        PolicyState::Cooldown => Decision::RejectedCooldown,
        PolicyState::Blocked => Decision::RejectedBlocked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::history::Source;

    fn cfg() -> PolicySettings {
        PolicySettings::default()
    }

    fn start() -> DateTime<Utc> {
        "2026-11-25T08:00:00Z".parse().unwrap()
    }

    fn later(now: &mut DateTime<Utc>, by: Duration) {
        *now += chrono::Duration::from_std(by).unwrap();
    }

    fn restart(now: DateTime<Utc>, action: Action, decision: Decision) -> HistoryEntry {
        let mut e = HistoryEntry::new(Source::Manual, action, decision, "admin", now);
        e.finish(now, true, None);
        e
    }

    fn with_override(reason: &str) -> ManualRequest {
        ManualRequest {
            manual_override: true,
            override_acknowledged: true,
            override_reason: Some(reason.into()),
        }
    }

    /// The policy table of DESIGN §5, walked with a clock the test moves.
    #[test]
    fn the_policy_table_with_a_moving_clock() {
        let mut now = start();
        let cfg = cfg();
        let mut history = Vec::new();
        let plain = ManualRequest::default();

        // Nothing happened yet: allowed (an acknowledged override still needs its reason).
        let s = status(&cfg, &history, now);
        assert_eq!(s.state, PolicyState::Allowed);
        assert_eq!(decide(&s, &plain), Decision::Allowed);
        assert_eq!(
            decide(&s, &with_override("")),
            Decision::RejectedReasonRequired
        );

        // Right after a restart: cooldown, 60 s left; 30 s later 30 s left.
        history.push(restart(now, Action::Reload, Decision::Allowed));
        let s = status(&cfg, &history, now);
        assert_eq!(
            (s.state, s.cooldown_remaining_seconds),
            (PolicyState::Cooldown, 60)
        );
        assert_eq!(decide(&s, &plain), Decision::RejectedCooldown);
        let bare_override = ManualRequest {
            manual_override: true,
            ..ManualRequest::default()
        };
        assert_eq!(decide(&s, &bare_override), Decision::RejectedCooldown);
        assert_eq!(
            decide(&s, &with_override(" ")),
            Decision::RejectedReasonRequired
        );
        later(&mut now, Duration::from_millis(30_500));
        let s = status(&cfg, &history, now);
        assert_eq!(s.cooldown_remaining_seconds, 30, "rounded up");
        assert_eq!(
            decide(&s, &with_override("db failover")),
            Decision::AllowedOverride
        );

        // After the cooldown: allowed again; two more restarts spaced by the cooldown.
        later(&mut now, Duration::from_secs(30));
        let s = status(&cfg, &history, now);
        assert_eq!(s.state, PolicyState::Allowed);
        assert_eq!(s.attempts_in_window, 1);
        for _ in 0..2 {
            history.push(restart(now, Action::Reload, Decision::Allowed));
            later(&mut now, Duration::from_secs(61));
        }

        // Three restarts within 600 s: churn, blocked (wins over any cooldown).
        let s = status(&cfg, &history, now);
        assert!(s.churn_exceeded);
        assert_eq!(s.state, PolicyState::Blocked);
        assert_eq!(decide(&s, &plain), Decision::RejectedBlocked);
        assert_eq!(
            decide(&s, &with_override("   ")),
            Decision::RejectedReasonRequired
        );
        // Not acknowledged: refused because restarts are blocked, whatever else it says.
        let unacknowledged = ManualRequest {
            override_acknowledged: false,
            ..with_override("x")
        };
        assert_eq!(decide(&s, &unacknowledged), Decision::RejectedBlocked);
        let bare_override = ManualRequest {
            manual_override: true,
            ..ManualRequest::default()
        };
        assert_eq!(decide(&s, &bare_override), Decision::RejectedBlocked);
        let acknowledged_without_reason = ManualRequest {
            override_reason: None,
            ..with_override("")
        };
        assert_eq!(
            decide(&s, &acknowledged_without_reason),
            Decision::RejectedReasonRequired
        );
        let too_long = with_override(&"x".repeat(MAX_REASON_CHARS + 1));
        assert_eq!(decide(&s, &too_long), Decision::RejectedReasonRequired);
        assert_eq!(
            decide(&s, &with_override("pool leak, restarting")),
            Decision::AllowedOverride
        );

        // Guarded mode off: churn is reported but does not block.
        let unguarded = PolicySettings {
            guarded_mode: false,
            ..cfg
        };
        let s = status(&unguarded, &history, now);
        assert!(s.churn_exceeded);
        assert_eq!(s.state, PolicyState::Allowed);

        // The window slides: once the first restart is older than 600 s, no more churn.
        let first = history[0].requested_at;
        let until = (first + chrono::Duration::seconds(601) - now)
            .to_std()
            .unwrap();
        later(&mut now, until);
        let s = status(&cfg, &history, now);
        assert_eq!(s.attempts_in_window, 2);
        assert!(!s.churn_exceeded);
        assert_eq!(s.state, PolicyState::Allowed);
    }

    #[test]
    fn rejected_requests_and_recycles_do_not_count() {
        let now = start();
        let history = vec![
            restart(now, Action::Recycle, Decision::Allowed),
            restart(now, Action::Reload, Decision::RejectedCooldown),
            restart(now, Action::Reload, Decision::RejectedBlocked),
        ];
        let s = status(&cfg(), &history, now);
        assert_eq!(s.attempts_in_window, 0);
        assert_eq!(s.state, PolicyState::Allowed);
        assert!(s.last_restart.is_none());
    }

    #[test]
    fn a_zero_cooldown_never_cools_down() {
        let now = start();
        let cfg = PolicySettings {
            cooldown: Duration::ZERO,
            ..cfg()
        };
        let history = vec![restart(now, Action::Reload, Decision::Allowed)];
        assert_eq!(status(&cfg, &history, now).state, PolicyState::Allowed);
    }
}
