//! The background sweep of expired sessions (and of finished login-limit windows), every
//! `SESSION_CLEANUP_INTERVAL`. Started by `serve::start` through the shutdown registry (hook
//! `session_sweeper`, phase `Background`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Sessions;
use crate::auth::rate_limit::LoginLimiter;

/// The sweeper task: exactly what it uses.
pub struct SessionSweeper {
    pub sessions: Arc<Sessions>,
    /// Its in-memory windows (used while Redis is away) are pruned on the same beat.
    pub limiter: Arc<LoginLimiter>,
    /// `SESSION_CLEANUP_INTERVAL`.
    pub every: Duration,
}

impl SessionSweeper {
    pub async fn run(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
            self.limiter.prune();
            self.limiter.prune_database().await;
            match self.sessions.store.sweep().await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(sessions.removed = removed, "expired sessions removed")
                }
                Err(error) => tracing::warn!(%error, "cannot remove expired sessions; will retry"),
            }
        }
    }
}
