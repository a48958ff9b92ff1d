//! The database circuit breaker (DESIGN §3.3).
//!
//! Closed: calls run; the outcomes of the last `window_size` calls are kept, and the breaker
//! opens when at least `failure_threshold` of them failed and the failure rate is at least
//! `failure_rate`. Open: calls are refused without touching the database until
//! `recovery_timeout` has passed. Half-open: at most `half_open_max_calls` probe calls run at
//! once; a probe success closes the breaker and clears the window, a probe failure opens it
//! for a fresh `recovery_timeout`.
//!
//! Failures are connectivity failures, pool timeouts and statement timeouts; the database
//! rejecting a query proves it is alive and counts as a success. Transitions are logged after
//! the lock is released. Written by hand: the crates we looked at either lack the half-open
//! concurrency bound or a status view, and the logic is a page long.

use std::collections::VecDeque;
use std::sync::Arc;
#[cfg(any(test, feature = "test-support"))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;

use crate::config::resilience::BreakerSettings;

/// The time source, injectable so tests can move time by hand.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to.
#[cfg(any(test, feature = "test-support"))]
pub struct ManualClock {
    base: Instant,
    offset_ms: AtomicU64,
}

#[cfg(any(test, feature = "test-support"))]
impl Default for ManualClock {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            offset_ms: AtomicU64::new(0),
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
impl ManualClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probes: u32 },
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// true = failure, newest at the back.
    window: VecDeque<bool>,
    last_failure: Option<(DateTime<Utc>, String)>,
    /// Monotonic count of transitions to open, for status.
    times_opened: u64,
}

/// A call the breaker admitted; settle it with its outcome. Dropping it unsettled (the caller
/// was cancelled) frees a half-open probe slot without changing the state.
pub struct Ticket {
    breaker: Option<Arc<Breaker>>,
    probe: bool,
}

/// A call refused because the breaker is open (or half-open with every probe slot taken).
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    /// Until the breaker will admit a probe.
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds, at least one: the `Retry-After` of `CIRCUIT_BREAKER_OPEN`.
    pub fn retry_after_seconds(&self) -> u64 {
        let ms = self.retry_after.as_millis() as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// The breaker as `/health` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerStatus {
    pub enabled: bool,
    pub state: BreakerState,
    pub window_size: u32,
    pub calls_in_window: usize,
    pub failures_in_window: usize,
    pub failure_rate: f64,
    pub last_failure_at: Option<String>,
    pub last_failure: Option<String>,
    /// Seconds until half-open, when open.
    pub open_for_seconds: Option<u64>,
    pub open_until: Option<String>,
    pub times_opened: u64,
}

enum Transition {
    Opened { failures: usize, rate: f64 },
    HalfOpened,
    Closed,
    Reopened,
}

pub struct Breaker {
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(settings: BreakerSettings, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                state: State::Closed,
                window: VecDeque::with_capacity(settings.window_size as usize),
                last_failure: None,
                times_opened: 0,
            }),
            settings,
            clock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Admits a call or refuses it without any I/O.
    pub fn admit(self: &Arc<Self>) -> Result<Ticket, Refused> {
        if !self.settings.enabled {
            return Ok(Ticket {
                breaker: None,
                probe: false,
            });
        }
        let now = self.clock.now();
        let mut transition = None;
        let result = {
            let mut inner = self.lock();
            if let State::Open { until } = inner.state
                && now >= until
            {
                inner.state = State::HalfOpen { probes: 0 };
                transition = Some(Transition::HalfOpened);
            }
            match &mut inner.state {
                State::Closed => Ok(false),
                State::Open { until } => Err(Refused {
                    retry_after: *until - now,
                }),
                State::HalfOpen { probes } if *probes < self.settings.half_open_max_calls => {
                    *probes += 1;
                    Ok(true)
                }
                // Every probe slot is taken: the answer comes within one call.
                State::HalfOpen { .. } => Err(Refused {
                    retry_after: Duration::from_secs(1),
                }),
            }
        };
        if let Some(t) = transition {
            self.log(t);
        }
        result.map(|probe| Ticket {
            breaker: Some(self.clone()),
            probe,
        })
    }

    fn settle(&self, probe: bool, outcome: Option<Result<(), String>>) {
        let now = self.clock.now();
        let transition = {
            let mut inner = self.lock();
            if let Some(Err(error)) = &outcome {
                inner.last_failure = Some((Utc::now(), error.clone()));
            }
            let failed = match &outcome {
                None => {
                    // Cancelled: free the probe slot, learn nothing.
                    if probe && let State::HalfOpen { probes } = &mut inner.state {
                        *probes = probes.saturating_sub(1);
                    }
                    return;
                }
                Some(r) => r.is_err(),
            };
            match inner.state {
                State::HalfOpen { .. } if probe => {
                    if failed {
                        inner.state = State::Open {
                            until: now + self.settings.recovery_timeout,
                        };
                        inner.times_opened += 1;
                        Some(Transition::Reopened)
                    } else {
                        inner.state = State::Closed;
                        inner.window.clear();
                        Some(Transition::Closed)
                    }
                }
                // A call admitted before the breaker opened finishes late: it says nothing
                // about the state the breaker is in now.
                State::HalfOpen { .. } | State::Open { .. } => None,
                State::Closed => {
                    if inner.window.len() == self.settings.window_size as usize {
                        inner.window.pop_front();
                    }
                    inner.window.push_back(failed);
                    let failures = inner.window.iter().filter(|f| **f).count();
                    let rate = failures as f64 / inner.window.len() as f64;
                    if failed
                        && failures >= self.settings.failure_threshold as usize
                        && rate >= self.settings.failure_rate
                    {
                        inner.state = State::Open {
                            until: now + self.settings.recovery_timeout,
                        };
                        inner.times_opened += 1;
                        Some(Transition::Opened { failures, rate })
                    } else {
                        None
                    }
                }
            }
        };
        if let Some(t) = transition {
            self.log(t);
        }
    }

    /// Logged outside the lock (DESIGN §3.3).
    fn log(&self, t: Transition) {
        let recovery_s = self.settings.recovery_timeout.as_secs();
        match t {
            Transition::Opened { failures, rate } => tracing::warn!(
                failures,
                failure_rate = rate,
                recovery_s,
                "circuit breaker opened: database calls paused"
            ),
            Transition::HalfOpened => tracing::info!(
                probes = self.settings.half_open_max_calls,
                "circuit breaker half-open: probing the database"
            ),
            Transition::Closed => tracing::info!("circuit breaker closed: database calls resume"),
            Transition::Reopened => {
                tracing::warn!(recovery_s, "circuit breaker probe failed: open again")
            }
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    pub fn status(&self) -> BreakerStatus {
        let now = self.clock.now();
        let inner = self.lock();
        let failures = inner.window.iter().filter(|f| **f).count();
        let calls = inner.window.len();
        let (state, open_for) = match inner.state {
            State::Closed => (BreakerState::Closed, None),
            State::Open { until } => (
                BreakerState::Open,
                Some(until.saturating_duration_since(now)),
            ),
            State::HalfOpen { .. } => (BreakerState::HalfOpen, None),
        };
        BreakerStatus {
            enabled: self.settings.enabled,
            state,
            window_size: self.settings.window_size,
            calls_in_window: calls,
            failures_in_window: failures,
            failure_rate: if calls == 0 {
                0.0
            } else {
                failures as f64 / calls as f64
            },
            last_failure_at: inner
                .last_failure
                .as_ref()
                .map(|(at, _)| crate::timefmt::iso8601(*at)),
            last_failure: inner.last_failure.as_ref().map(|(_, e)| e.clone()),
            open_for_seconds: open_for.map(|d| (d.as_millis() as u64).div_ceil(1000)),
            open_until: open_for.map(|d| {
                crate::timefmt::iso8601(
                    Utc::now() + chrono::Duration::milliseconds(d.as_millis() as i64),
                )
            }),
            times_opened: inner.times_opened,
        }
    }
}

impl Ticket {
    /// Records the call's outcome: `Err` with the failure text for a failure.
    pub fn settle(mut self, outcome: Result<(), String>) {
        if let Some(b) = self.breaker.take() {
            b.settle(self.probe, Some(outcome));
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(b) = self.breaker.take() {
            b.settle(self.probe, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(clock: Arc<ManualClock>) -> Arc<Breaker> {
        Breaker::new(
            BreakerSettings {
                enabled: true,
                failure_threshold: 5,
                failure_rate: 0.5,
                recovery_timeout: Duration::from_secs(30),
                window_size: 10,
                half_open_max_calls: 1,
            },
            clock,
        )
    }

    fn fail(b: &Arc<Breaker>) {
        b.admit().expect("admitted").settle(Err("refused".into()));
    }

    fn succeed(b: &Arc<Breaker>) {
        b.admit().expect("admitted").settle(Ok(()));
    }

    #[test]
    fn opens_after_threshold_failures_at_the_failure_rate() {
        let clock = Arc::new(ManualClock::default());
        let b = breaker(clock.clone());
        for _ in 0..6 {
            succeed(&b);
        }
        for _ in 0..4 {
            fail(&b);
        }
        // 4 failures of 10: below the threshold.
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b);
        // 5 of 10 (the oldest success fell out): threshold and rate 0.5 met.
        assert_eq!(b.state(), BreakerState::Open);
        let refused = b.admit().err().expect("refused while open");
        assert_eq!(refused.retry_after_seconds(), 30);
        clock.advance(Duration::from_millis(12_300));
        assert_eq!(b.admit().err().unwrap().retry_after_seconds(), 18);
    }

    #[test]
    fn a_low_failure_rate_does_not_open_it() {
        let b = Breaker::new(
            BreakerSettings {
                enabled: true,
                failure_threshold: 2,
                failure_rate: 0.5,
                recovery_timeout: Duration::from_secs(30),
                window_size: 10,
                half_open_max_calls: 1,
            },
            Arc::new(ManualClock::default()),
        );
        for _ in 0..7 {
            succeed(&b);
        }
        fail(&b);
        fail(&b);
        fail(&b);
        // 3 failures of 10: threshold met, rate 0.3 is not.
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_admits_the_configured_probes_and_a_success_closes() {
        let clock = Arc::new(ManualClock::default());
        let b = breaker(clock.clone());
        for _ in 0..5 {
            fail(&b);
        }
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(Duration::from_secs(30));

        let probe = b.admit().expect("one probe");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        for _ in 0..49 {
            assert!(b.admit().is_err(), "only one probe at a time");
        }
        probe.settle(Ok(()));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.status().calls_in_window, 0, "the window is cleared");
        succeed(&b);
    }

    #[test]
    fn a_failed_probe_reopens_for_a_fresh_timeout_and_a_cancelled_one_frees_its_slot() {
        let clock = Arc::new(ManualClock::default());
        let b = breaker(clock.clone());
        for _ in 0..5 {
            fail(&b);
        }
        clock.advance(Duration::from_secs(31));
        drop(b.admit().expect("probe"));
        let probe = b.admit().expect("the cancelled probe freed its slot");
        probe.settle(Err("still down".into()));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit().err().unwrap().retry_after_seconds(), 30);
        assert_eq!(b.status().times_opened, 2);
        assert_eq!(b.status().last_failure.as_deref(), Some("still down"));
    }

    #[test]
    fn a_disabled_breaker_admits_everything() {
        let b = Breaker::new(
            BreakerSettings {
                enabled: false,
                failure_threshold: 1,
                failure_rate: 0.0,
                recovery_timeout: Duration::from_secs(30),
                window_size: 1,
                half_open_max_calls: 1,
            },
            Arc::new(ManualClock::default()),
        );
        for _ in 0..10 {
            fail(&b);
        }
        assert!(b.admit().is_ok());
    }
}
