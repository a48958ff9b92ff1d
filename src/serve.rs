//! Serving: build the app, bind, serve until SIGTERM/SIGINT, drain, release.
//! With `WORKERS` > 0, [`run`] hands over to the supervisor ([`crate::supervisor::master`]),
//! whose worker processes serve through [`start_app`] on the inherited listener.

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{App, AppState};
use crate::config::Settings;
use crate::http::router;
use crate::http::server::{self, DrainReport, DrainSettings};
use crate::lifecycle::ShutdownReport;

/// A running server, for the binary and for tests.
pub struct Running {
    pub state: AppState,
    pub addr: std::net::SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<DrainReport>,
}

impl Running {
    /// Stops accepting, drains HTTP, then runs the shutdown registry.
    pub async fn shutdown(self) -> (DrainReport, ShutdownReport) {
        self.stop.cancel();
        // Long-lived responses (event streams) end now so the drain is not held by them.
        self.state.stopping.cancel();
        let drain = self.task.await.unwrap_or_default();
        let hooks = self.state.close().await;
        (drain, hooks)
    }

    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// Builds the app and starts serving on an already bound listener.
pub async fn start_on(listener: TcpListener, config: Settings) -> anyhow::Result<Running> {
    let app = App::build(config).await?;
    start_app(listener, app)
}

/// Starts serving an already built app (the worker role attaches its supervisor link first).
pub fn start_app(listener: TcpListener, app: App) -> anyhow::Result<Running> {
    let state = AppState(std::sync::Arc::new(app));
    App::start_background(&state);
    serve_started(listener, state)
}

/// Serves a shared state whose background tasks are already running (the worker role starts
/// them first, so the cache updater loads the WIP data before the worker takes requests).
pub fn serve_started(listener: TcpListener, state: AppState) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let drain = DrainSettings {
        keepalive_drain: state.config.http.keepalive_drain,
        graceful_timeout: state.config.http.graceful_timeout,
        draining: state.draining.clone(),
    };
    {
        let state = state.clone();
        // Ends by itself within the health pool's acquire timeout.
        tokio::spawn(async move { state.warm_up().await });
    }
    let router = router::build(state.clone());
    let task = tokio::spawn(server::serve(listener, router, stop.clone(), drain));
    Ok(Running {
        state,
        addr,
        stop,
        task,
    })
}

/// The `serve` role: with `WORKERS` > 0 the supervisor and its worker processes, with
/// `WORKERS=0` one process serving in-process. Returns whether every shutdown hook finished
/// (the exit code says so).
pub async fn run(config: Settings) -> anyhow::Result<bool> {
    crate::auth::provider::announce_demo_login(&config);
    if config.supervisor.workers > 0 {
        return crate::supervisor::master::run(config).await;
    }
    run_in_process(config).await
}

/// Binds `BIND` and serves in this process until a stop signal (`WORKERS=0`).
pub async fn run_in_process(config: Settings) -> anyhow::Result<bool> {
    let bind = config.http.bind;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (BIND)"))?;
    let running = start_on(listener, config).await?;
    tracing::info!(
        addr = %running.addr,
        mode = %running.state.config.mode,
        database = %running.state.db.display_url,
        "serving"
    );
    wait_for_stop_signal().await;
    tracing::info!("stop signal received; draining");
    let (drain, hooks) = running.shutdown().await;
    tracing::info!(
        connections_at_stop = drain.connections_at_stop,
        closed_by_clients = drain.closed_by_clients,
        forced = drain.forced,
        duration_ms = drain.duration.as_millis() as u64,
        "stopped"
    );
    Ok(hooks.clean())
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
