//! The background sweep of expired sessions (and of finished login-limit windows), every
//! `SESSION_CLEANUP_INTERVAL`. Owned by the shutdown registry (phase `Background`).
//!
//! Its first act is registering the report pages in the page registry (idempotent), here
//! rather than in `App::build` so a database that is down never delays start-up; until it
//! succeeds (retried at every sweep) unregistered pages count as released.

use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::lifecycle::Phase;

pub fn start(state: &AppState) {
    let stop = state.stopping.child_token();
    let task = tokio::spawn(run(state.clone(), stop.clone()));
    state
        .shutdown
        .register("session_sweeper", Phase::Background, move || async move {
            stop.cancel();
            task.await
                .map_err(|e| anyhow::anyhow!("the session sweeper failed: {e}"))
        });
}

async fn run(app: AppState, stop: CancellationToken) {
    let every = app.config.auth.session_cleanup_interval;
    let mut pages_registered = false;
    loop {
        if !pages_registered {
            match crate::routes::catalog::seed(&app.db.request).await {
                Ok(()) => pages_registered = true,
                Err(error) => tracing::warn!(
                    %error,
                    "cannot register the report pages yet; they count as released meanwhile"
                ),
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        app.login.limiter.prune();
        match app.sessions.store.sweep(&app.db.request).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(sessions.removed = removed, "expired sessions removed"),
            Err(error) => tracing::warn!(%error, "cannot remove expired sessions; will retry"),
        }
    }
}
