//! The `/health` memo: one check in flight at a time, its answer — report and serialized
//! body — reused for `HEALTH_MEMO_TTL_SECONDS`; how long the app has been degraded; and the
//! status as a watch for the event stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::{HealthReport, Status};

/// One value computed at a time and reused while younger than a time to live.
pub struct Memo<T> {
    /// The latest value: a fresh one is read under this lock alone (the probe's hot path).
    latest: RwLock<Option<(Instant, Arc<T>)>>,
    /// Held while a check runs: concurrent callers wait for it and share its answer.
    checking: tokio::sync::Mutex<()>,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self {
            latest: RwLock::new(None),
            checking: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> Memo<T> {
    /// The memoized value when younger than `ttl`, else a fresh one from `check`. With a
    /// zero `ttl` every call checks, but concurrent callers still share one check.
    pub async fn get_or_check<F, Fut>(&self, ttl: Duration, check: F) -> Arc<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let requested = Instant::now();
        if let Some(value) = self.fresh(ttl) {
            return value;
        }
        let _checking = self.checking.lock().await;
        if let Some((at, value)) = self.latest.read().as_ref() {
            // Fresh enough, or computed while this caller waited for the lock.
            if at.elapsed() < ttl || *at >= requested {
                return value.clone();
            }
        }
        let value = Arc::new(check().await);
        *self.latest.write() = Some((Instant::now(), value.clone()));
        value
    }

    /// The memoized value when younger than `ttl`, without waiting for anything: `None` when
    /// there is none yet or it is older (the caller then goes the way that checks).
    pub fn fresh(&self, ttl: Duration) -> Option<Arc<T>> {
        let latest = self.latest.read();
        let (at, value) = latest.as_ref()?;
        (at.elapsed() < ttl).then(|| value.clone())
    }
}

/// One `/health` answer: the report and its JSON body, serialized once per check rather
/// than once per request (the probe every load balancer hits at a high rate).
#[derive(Debug)]
pub struct HealthAnswer {
    pub report: HealthReport,
    pub body: Bytes,
}

pub struct HealthState {
    memo: Memo<HealthAnswer>,
    degraded_since: Mutex<Option<Instant>>,
    /// The status of the latest check (`None` before the first): event streams watch it.
    status: watch::Sender<Option<Status>>,
}

impl Default for HealthState {
    fn default() -> Self {
        Self {
            memo: Memo::default(),
            degraded_since: Mutex::new(None),
            status: watch::Sender::new(None),
        }
    }
}

impl HealthState {
    /// The `/health` answer, memoized for `ttl` (see [`Memo::get_or_check`]). A fresh check
    /// also updates the watched status.
    pub async fn get_or_check<F, Fut>(&self, ttl: Duration, check: F) -> Arc<HealthAnswer>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = HealthReport>,
    {
        self.memo
            .get_or_check(ttl, || async {
                let report = check().await;
                let body = serde_json::to_vec(&report).unwrap_or_default().into();
                self.status
                    .send_if_modified(|s| s.replace(report.status) != Some(report.status));
                HealthAnswer { report, body }
            })
            .await
    }

    /// The memoized answer when younger than `ttl` ([`Memo::fresh`]).
    pub fn fresh(&self, ttl: Duration) -> Option<Arc<HealthAnswer>> {
        self.memo.fresh(ttl)
    }

    /// The status of each check from now on (changes only).
    pub fn watch_status(&self) -> watch::Receiver<Option<Status>> {
        self.status.subscribe()
    }

    /// How many event streams watch the status (the health watch checks only while any do).
    pub fn status_watchers(&self) -> usize {
        self.status.receiver_count()
    }

    /// Tracks how long the app has been not healthy; `None` when healthy now.
    pub fn degraded_for(&self, degraded: bool) -> Option<Duration> {
        let mut since = self.degraded_since.lock();
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_check_even_without_a_memo() {
        let memo = Arc::new(Memo::<u32>::default());
        let checks = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let memo = memo.clone();
                let checks = checks.clone();
                tokio::spawn(async move {
                    memo.get_or_check(Duration::ZERO, || async move {
                        checks.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        7
                    })
                    .await
                })
            })
            .collect();
        for c in callers {
            assert_eq!(*c.await.unwrap(), 7);
        }
        // The first caller checks; all who asked while it ran share its answer. A caller
        // scheduled only after it finished may check once more.
        let shared = checks.load(Ordering::SeqCst);
        assert!(shared <= 2, "{shared}");

        // A later call, with no memo, checks again; within a time to live it does not.
        let counted = checks.clone();
        memo.get_or_check(Duration::ZERO, || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            8
        })
        .await;
        assert_eq!(checks.load(Ordering::SeqCst), shared + 1);
        let value = memo
            .get_or_check(Duration::from_secs(60), || async { 9 })
            .await;
        assert_eq!(*value, 8, "served from the memo");
    }

    #[tokio::test]
    async fn fresh_answers_only_a_value_younger_than_the_time_to_live() {
        let memo = Memo::<u32>::default();
        assert!(memo.fresh(Duration::from_secs(60)).is_none(), "nothing yet");
        memo.get_or_check(Duration::ZERO, || async { 5 }).await;
        assert_eq!(memo.fresh(Duration::from_secs(60)).as_deref(), Some(&5));
        assert!(
            memo.fresh(Duration::ZERO).is_none(),
            "older than a zero time to live"
        );
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
