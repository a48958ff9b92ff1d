//! Per-pool call figures for `/health/deep`: outcome counters and recent latencies.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use super::DbError;

/// Latencies kept for the percentiles (the most recent calls).
const RECENT: usize = 512;

#[derive(Default)]
pub struct CallStats {
    ok: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    recent_us: Mutex<VecDeque<u64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallSnapshot {
    pub succeeded: u64,
    /// Connectivity, capacity and timeout failures.
    pub failed: u64,
    /// Refused without touching the database (breaker open, slots busy) or rejected queries.
    pub rejected: u64,
    pub latency_ms: Option<Percentiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolStats {
    pub name: &'static str,
    pub size: u32,
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
    pub saturation: f64,
    pub calls: CallSnapshot,
    /// Acquires that waited 1 ms or more for a connection, and their total wait.
    pub waits: u64,
    pub waited_seconds: f64,
}

impl CallStats {
    pub fn latency(&self, elapsed: Duration) {
        let mut recent = self.recent_us.lock();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(elapsed.as_micros() as u64);
    }

    pub fn outcome(&self, error: Option<&DbError>) {
        let counter = match error {
            None => &self.ok,
            Some(e) if e.counts_as_failure() => &self.failed,
            Some(_) => &self.rejected,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CallSnapshot {
        let mut sorted: Vec<u64> = self.recent_us.lock().iter().copied().collect();
        sorted.sort_unstable();
        let pick = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted[i] as f64 / 1000.0
        };
        CallSnapshot {
            succeeded: self.ok.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            latency_ms: (!sorted.is_empty()).then(|| Percentiles {
                samples: sorted.len(),
                p50: pick(0.50),
                p95: pick(0.95),
                p99: pick(0.99),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_recent_latencies() {
        let stats = CallStats::default();
        for ms in 1..=100 {
            stats.latency(Duration::from_millis(ms));
        }
        stats.outcome(None);
        stats.outcome(Some(&DbError::PoolExhausted { retry_after: 5 }));
        let s = stats.snapshot();
        let p = s.latency_ms.unwrap();
        assert_eq!(p.samples, 100);
        assert!((p.p50 - 50.0).abs() <= 1.0, "{}", p.p50);
        assert!((p.p99 - 99.0).abs() <= 1.0, "{}", p.p99);
        assert_eq!((s.succeeded, s.failed), (1, 1));
    }
}
