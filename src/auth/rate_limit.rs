//! Login attempts per client IP (DESIGN §4.3): at most `LOGIN_RATE_LIMIT` per
//! `LOGIN_RATE_WINDOW`. A Redis counter shares the count between workers and instances; while
//! Redis is absent or down, each process counts in memory (a fixed window per address).

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::redis::Redis;

/// Bound on addresses remembered in memory; past it the least active are evicted.
const MAX_TRACKED: usize = 100_000;

pub struct LoginLimiter {
    redis: Arc<Redis>,
    limit: u32,
    window: Duration,
    /// Attempts and window start per address. Behind one lock (rather than a concurrent
    /// cache) so two attempts from one address never lose a count.
    memory: Mutex<quick_cache::unsync::Cache<IpAddr, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn new(redis: Arc<Redis>, limit: u32, window: Duration) -> Self {
        Self {
            redis,
            limit,
            window,
            memory: Mutex::new(quick_cache::unsync::Cache::new(MAX_TRACKED)),
        }
    }

    /// Counts one attempt from `ip`; `Err(seconds)` when it is over the limit, with the
    /// seconds until the window ends.
    pub async fn hit(&self, ip: IpAddr) -> Result<(), u64> {
        if let Some(result) = self.hit_redis(ip).await {
            return result;
        }
        self.hit_memory(ip)
    }

    async fn hit_redis(&self, ip: IpAddr) -> Option<Result<(), u64>> {
        if !self.redis.enabled() {
            return None;
        }
        let key = self.redis.key(&format!("login-attempts:{ip}"));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("PX")
            .arg(self.window.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .cmd("PTTL")
            .arg(&key);
        let (count, pttl): (u64, i64) = self.redis.pipe(&pipe).await.ok()?;
        Some(self.verdict(count, Duration::from_millis(pttl.max(0) as u64)))
    }

    fn hit_memory(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut memory = self.memory.lock();
        let entry = memory.get_mut_or_insert_with(&ip, || Ok::<_, Infallible>((0, now)));
        let Ok(Some(mut entry)) = entry else {
            // Not admitted (it cannot be with one unit of weight): a first attempt.
            return self.verdict(1, self.window);
        };
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
        let left = self.window.saturating_sub(now.duration_since(entry.1));
        self.verdict(u64::from(entry.0), left)
    }

    fn verdict(&self, count: u64, left: Duration) -> Result<(), u64> {
        if count > u64::from(self.limit) {
            Err(left.as_secs_f64().ceil().max(1.0) as u64)
        } else {
            Ok(())
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sixth_attempt_in_the_window_is_refused_per_address() {
        let limiter =
            LoginLimiter::new(Arc::new(Redis::disabled("t")), 5, Duration::from_secs(300));
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
}
