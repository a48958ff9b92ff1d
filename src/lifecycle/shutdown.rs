//! The shutdown registry (DESIGN §5).
//!
//! The component that owns a background task or a shared client registers a named stop hook
//! when it starts. [`ShutdownRegistry::run`] then stops everything in a fixed order — cache
//! updater, equipment sync, Redis, database pools — each hook bounded by
//! `SHUTDOWN_HOOK_TIMEOUT`. A hook that hangs is abandoned (its task aborted) and the next one
//! still runs; a second call runs nothing and returns the first report.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// Where a hook runs in the order; hooks of one phase run in registration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Background refresh of the WIP dataset.
    CacheUpdater,
    /// Realtime equipment-status sync and its push streams.
    EquipmentSync,
    /// Other background tasks (session cleanup, probes): stopped before the clients they use.
    Background,
    /// The shared Redis client and pub/sub listeners.
    Redis,
    /// Database pools: request, slow, health.
    Pools,
}

type Hook = Box<dyn FnOnce() -> BoxFuture<'static, anyhow::Result<()>> + Send>;

struct Registered {
    name: String,
    phase: Phase,
    hook: Hook,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Finished,
    Failed(String),
    TimedOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookOutcome {
    pub name: String,
    pub phase: Phase,
    pub outcome: Outcome,
    pub duration_ms: u64,
}

/// What one shutdown did, logged as one structured line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ShutdownReport {
    pub hooks: Vec<HookOutcome>,
    pub total_ms: u64,
}

impl ShutdownReport {
    /// True when every hook finished (none failed or timed out).
    pub fn clean(&self) -> bool {
        self.hooks.iter().all(|h| h.outcome == Outcome::Finished)
    }

    pub fn log(&self) {
        let hooks = serde_json::to_string(&self.hooks).unwrap_or_default();
        if self.clean() {
            tracing::info!(total_ms = self.total_ms, hooks = %hooks, "shutdown report");
        } else {
            tracing::warn!(total_ms = self.total_ms, hooks = %hooks, "shutdown report");
        }
    }
}

pub struct ShutdownRegistry {
    hooks: Mutex<Vec<Registered>>,
    report: OnceCell<ShutdownReport>,
    hook_timeout: Duration,
}

impl ShutdownRegistry {
    pub fn new(hook_timeout: Duration) -> Self {
        Self {
            hooks: Mutex::new(Vec::new()),
            report: OnceCell::new(),
            hook_timeout,
        }
    }

    /// Registers `hook` under `name`. Registering after shutdown has started is a no-op
    /// (the caller's resource is then stopped by its own drop).
    pub fn register<F, Fut>(&self, name: impl Into<String>, phase: Phase, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let mut hooks = self.hooks.lock();
        hooks.push(Registered {
            name: name.into(),
            phase,
            hook: Box::new(move || Box::pin(hook())),
        });
    }

    /// Starts a background task and registers its stop hook: the one way a task is started.
    /// The task gets a child of `stopping` (cancelled when the process starts to stop, or by
    /// the hook); the hook cancels it and waits for it to end.
    pub fn spawn<F, Fut>(
        &self,
        name: &'static str,
        phase: Phase,
        stopping: &CancellationToken,
        task: F,
    ) where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = stopping.child_token();
        let running = tokio::spawn(task(stop.clone()));
        self.register(name, phase, move || async move {
            stop.cancel();
            running
                .await
                .map_err(|e| anyhow::anyhow!("the {name} task failed: {e}"))
        });
    }

    /// The registered hook names in the order they will run.
    pub fn planned(&self) -> Vec<(String, Phase)> {
        let mut hooks: Vec<(String, Phase)> = self
            .hooks
            .lock()
            .iter()
            .map(|h| (h.name.clone(), h.phase))
            .collect();
        hooks.sort_by_key(|(_, phase)| *phase);
        hooks
    }

    /// Runs every hook once, in order, each bounded; later calls return the first report.
    pub async fn run(&self) -> ShutdownReport {
        self.report
            .get_or_init(|| async {
                let mut hooks = std::mem::take(&mut *self.hooks.lock());
                // Stable: registration order is kept within a phase.
                hooks.sort_by_key(|h| h.phase);
                let started = Instant::now();
                let mut outcomes = Vec::with_capacity(hooks.len());
                for h in hooks {
                    outcomes.push(self.run_one(h).await);
                }
                let report = ShutdownReport {
                    hooks: outcomes,
                    total_ms: started.elapsed().as_millis() as u64,
                };
                report.log();
                report
            })
            .await
            .clone()
    }

    async fn run_one(&self, h: Registered) -> HookOutcome {
        let started = Instant::now();
        // Its own task, so a hook stuck in blocking code cannot hold the others back.
        let mut task = tokio::spawn((h.hook)());
        let outcome = match tokio::time::timeout(self.hook_timeout, &mut task).await {
            Ok(Ok(Ok(()))) => Outcome::Finished,
            Ok(Ok(Err(e))) => Outcome::Failed(format!("{e:#}")),
            Ok(Err(join)) => Outcome::Failed(format!("the hook panicked: {join}")),
            Err(_) => {
                task.abort();
                tracing::warn!(
                    hook = %h.name,
                    timeout_ms = self.hook_timeout.as_millis() as u64,
                    "shutdown hook timed out; abandoned"
                );
                Outcome::TimedOut
            }
        };
        HookOutcome {
            name: h.name,
            phase: h.phase,
            outcome,
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn hooks_run_once_in_phase_order_and_a_hanging_one_is_abandoned() {
        let registry = ShutdownRegistry::new(Duration::from_millis(200));
        let order = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        for (name, phase) in [
            ("pool.request", Phase::Pools),
            ("redis", Phase::Redis),
            ("cache_updater", Phase::CacheUpdater),
            ("pool.health", Phase::Pools),
            ("equipment_sync", Phase::EquipmentSync),
        ] {
            let order = order.clone();
            let calls = calls.clone();
            registry.register(name, phase, move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                order.lock().push(name);
                if name == "redis" {
                    std::future::pending::<()>().await;
                }
                Ok(())
            });
        }

        let started = Instant::now();
        let report = registry.run().await;
        let again = registry.run().await;

        assert_eq!(
            *order.lock(),
            [
                "cache_updater",
                "equipment_sync",
                "redis",
                "pool.request",
                "pool.health"
            ]
        );
        assert_eq!(report.hooks[2].outcome, Outcome::TimedOut);
        assert_eq!(report.hooks[3].outcome, Outcome::Finished);
        assert!(!report.clean());
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(calls.load(Ordering::SeqCst), 5, "a second run runs nothing");
        assert_eq!(again.hooks.len(), 5);
    }

    #[tokio::test]
    async fn a_spawned_task_is_stopped_and_awaited_by_its_hook() {
        let registry = ShutdownRegistry::new(Duration::from_secs(5));
        let stopping = CancellationToken::new();
        let ended = Arc::new(AtomicUsize::new(0));
        let seen = ended.clone();
        registry.spawn(
            "worker",
            Phase::Background,
            &stopping,
            move |stop| async move {
                stop.cancelled().await;
                seen.fetch_add(1, Ordering::SeqCst);
            },
        );
        registry.spawn("crashes", Phase::Background, &stopping, |_| async {
            panic!("boom");
        });
        assert_eq!(
            registry.planned(),
            [
                ("worker".to_string(), Phase::Background),
                ("crashes".to_string(), Phase::Background)
            ]
        );
        let report = registry.run().await;
        assert_eq!(
            ended.load(Ordering::SeqCst),
            1,
            "stopped by its hook and awaited"
        );
        assert_eq!(report.hooks[0].outcome, Outcome::Finished);
        assert!(
            matches!(report.hooks[1].outcome, Outcome::Failed(ref m) if m.contains("crashes")),
            "{:?}",
            report.hooks[1]
        );
        assert!(
            !stopping.is_cancelled(),
            "only the tasks' own tokens were cancelled"
        );
    }

    #[tokio::test]
    async fn a_failing_or_panicking_hook_is_reported_and_the_rest_run() {
        let registry = ShutdownRegistry::new(Duration::from_secs(1));
        registry.register("fails", Phase::CacheUpdater, || async {
            anyhow::bail!("could not stop")
        });
        registry.register("panics", Phase::EquipmentSync, || async {
            panic!("boom");
        });
        registry.register("fine", Phase::Pools, || async { Ok(()) });
        let report = registry.run().await;
        assert!(
            matches!(report.hooks[0].outcome, Outcome::Failed(ref m) if m.contains("could not stop"))
        );
        assert!(matches!(report.hooks[1].outcome, Outcome::Failed(_)));
        assert_eq!(report.hooks[2].outcome, Outcome::Finished);
    }
}
