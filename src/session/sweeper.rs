//! The background sweep of expired sessions (and of finished login-limit windows), every
//! `SESSION_CLEANUP_INTERVAL`. Owned by the shutdown registry (phase `Background`).

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
    loop {
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
