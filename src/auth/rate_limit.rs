//! Login attempts per client IP (DESIGN §4.3): at most `LOGIN_RATE_LIMIT` per
//! `LOGIN_RATE_WINDOW`; and failed attempts per user name: after
//! `LOGIN_FAILURE_LIMIT_PER_USER` failures in one window, that name is refused (429) until the
//! window ends. Only failures count, and a refused attempt is not a failure (no password is
//! checked), so the window is never extended: an outsider guessing from many addresses is
//! slowed to that many guesses per window, and can keep a real user out for at most the rest
//! of the current window after it stops. The counts are shared between workers and instances
//! through Redis when it is configured, else through the database (`login_attempts`, one upsert
//! per count); only while both fail does each process count in memory (fixed windows).

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::db::{Database, login_attempts};
use crate::redis::Redis;

/// Bound on addresses remembered in memory; past it the least active are evicted.
const MAX_TRACKED: usize = 100_000;

pub struct LoginLimiter {
    redis: Arc<Redis>,
    /// Without Redis the counts live here; `None` in unit tests.
    db: Option<Arc<Database>>,
    limit: u32,
    /// `LOGIN_FAILURE_LIMIT_PER_USER`.
    user_limit: u32,
    window: Duration,
    /// Counts and window start per key (`ip:…` attempts, `user:…` failures). Behind one lock
    /// (rather than a concurrent cache) so two attempts never lose a count.
    memory: Mutex<quick_cache::unsync::Cache<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn new(
        redis: Arc<Redis>,
        db: Option<Arc<Database>>,
        limit: u32,
        user_limit: u32,
        window: Duration,
    ) -> Self {
        Self {
            redis,
            db,
            limit,
            user_limit,
            window,
            memory: Mutex::new(quick_cache::unsync::Cache::new(MAX_TRACKED)),
        }
    }

    /// Counts one attempt from `ip`; `Err(seconds)` when it is over the limit, with the
    /// seconds until the window ends.
    pub async fn hit(&self, ip: IpAddr) -> Result<(), u64> {
        let (count, left) = self.count(&format!("ip:{ip}"), 1).await;
        verdict(count, left, self.limit)
    }

    /// `Err(seconds)` when `username` has used up its failures in the current window.
    pub async fn check_user(&self, username: &str) -> Result<(), u64> {
        let (count, left) = self.count(&user_key(username), 0).await;
        // Refused once the limit is reached: the next attempt would be one failure too many.
        verdict(count + 1, left, self.user_limit)
    }

    /// Counts one failed attempt for `username`.
    pub async fn failed(&self, username: &str) {
        self.count(&user_key(username), 1).await;
    }

    /// Adds `by` to the count of `key` (0 reads it); the count and the time left in its window.
    async fn count(&self, key: &str, by: u64) -> (u64, Duration) {
        if let Some(counted) = self.count_redis(key, by).await {
            return counted;
        }
        if let Some(counted) = self.count_database(key, by).await {
            return counted;
        }
        self.count_memory(key, by)
    }

    async fn count_database(&self, key: &str, by: u64) -> Option<(u64, Duration)> {
        let db = self.db.as_ref()?;
        let now = chrono::Utc::now();
        let window = chrono::Duration::from_std(self.window).ok()?;
        match login_attempts::add(&db.request, key, by as i64, now, now + window).await {
            Ok((count, ends)) => Some((
                count.max(0) as u64,
                (ends - now).to_std().unwrap_or_default(),
            )),
            Err(error) => {
                tracing::warn!(%error, "login counts: the database failed; counting in memory");
                None
            }
        }
    }

    /// Removes ended windows from the database (the session sweep calls this).
    pub async fn prune_database(&self) {
        if let Some(db) = &self.db
            && let Err(error) =
                login_attempts::delete_expired(&db.request, chrono::Utc::now()).await
        {
            tracing::warn!(%error, "cannot remove ended login windows; will retry");
        }
    }

    async fn count_redis(&self, key: &str, by: u64) -> Option<(u64, Duration)> {
        if !self.redis.enabled() {
            return None;
        }
        let key = self.redis.key(&format!("login-attempts:{key}"));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("PX")
            .arg(self.window.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("INCRBY")
            .arg(&key)
            .arg(by)
            .cmd("PTTL")
            .arg(&key);
        let (count, pttl): (u64, i64) = self.redis.pipe(&pipe).await.ok()?;
        Some((count, Duration::from_millis(pttl.max(0) as u64)))
    }

    fn count_memory(&self, key: &str, by: u64) -> (u64, Duration) {
        let now = Instant::now();
        let mut memory = self.memory.lock();
        let entry = memory.get_mut_or_insert_with(key, || Ok::<_, Infallible>((0, now)));
        let Ok(Some(mut entry)) = entry else {
            // Not admitted (it cannot be with one unit of weight): a first count.
            return (by, self.window);
        };
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(by as u32);
        let left = self.window.saturating_sub(now.duration_since(entry.1));
        (u64::from(entry.0), left)
    }

    /// Drops finished windows from memory (the session sweep calls this).
    pub fn prune(&self) {
        let now = Instant::now();
        let window = self.window;
        self.memory
            .lock()
            .retain(|_, (_, start)| now.duration_since(*start) < window);
    }
}

fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

fn verdict(count: u64, left: Duration, limit: u32) -> Result<(), u64> {
    if count > u64::from(limit) {
        Err(left.as_secs_f64().ceil().max(1.0) as u64)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sixth_attempt_in_the_window_is_refused_per_address() {
        let limiter = LoginLimiter::new(
            Arc::new(Redis::disabled("t")),
            None,
            5,
            3,
            Duration::from_secs(300),
        );
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..5 {
            assert!(limiter.hit(a).await.is_ok());
        }
        let retry = limiter.hit(a).await.unwrap_err();
        assert!((299..=300).contains(&retry), "{retry}");
        assert!(
            limiter.hit(b).await.is_ok(),
            "another address has its own count"
        );
    }

    #[tokio::test]
    async fn failures_per_user_name_are_limited_and_only_failures_count() {
        let limiter = LoginLimiter::new(
            Arc::new(Redis::disabled("t")),
            None,
            5,
            3,
            Duration::from_secs(300),
        );
        for _ in 0..10 {
            assert!(
                limiter.check_user("ann").await.is_ok(),
                "checks alone count nothing"
            );
        }
        for _ in 0..3 {
            assert!(limiter.check_user("Ann").await.is_ok());
            limiter.failed("ann ").await;
        }
        let retry = limiter.check_user("ANN").await.unwrap_err();
        assert!((299..=300).contains(&retry), "{retry}");
        assert!(
            limiter.check_user("bob").await.is_ok(),
            "another name has its own count"
        );
    }
}
