//! Serving: one start-up path for the single process (`WORKERS=0`) and for every worker.
//!
//! ```text
//! single process (run_in_process)            worker (supervisor::worker::run)
//!   db::prepare                                (the supervisor ran db::prepare once)
//!   bind BIND                                  take the inherited socket and channel
//!   App::build(settings, None)                 App::build(settings, Some(link))
//!                    └──────── serve::start(listener, app) ────────┘
//!                      first equipment read (≤ 3 s) → page registry read →
//!                      background tasks →
//!                      open the health connection (not awaited) →
//!                      wait for the first WIP load (≤ 10 s) → accept
//!   wait for SIGTERM/SIGINT                    report ready, beat; wait for SIGTERM or
//!                                              the supervisor to go away
//!                    └──────── Running::shutdown ────────┘
//! ```
//!
//! With `WORKERS` > 0, [`run`] hands over to the supervisor ([`crate::supervisor::master`]).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{App, AppState};
use crate::config::Settings;
use crate::db;
use crate::http::probe::Probes;
use crate::http::router;
use crate::http::server::{self, ConnectionLimits, DrainReport, DrainSettings};
use crate::lifecycle::ShutdownReport;

/// Longest wait for the first WIP load before accepting. A failed first load ends the wait
/// at once (the app then serves degraded, as it would later).
const FIRST_LOAD_LIMIT: Duration = Duration::from_secs(10);

/// A running server, for the binary and for tests.
pub struct Running {
    pub state: AppState,
    pub addr: std::net::SocketAddr,
    /// The health probes answered below the router (their count is read by tests).
    pub probes: Arc<Probes>,
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

/// Starts serving a built app on a bound listener: reads the first equipment snapshot,
/// starts the background tasks, waits (bounded) until the WIP data is loaded — so a new
/// worker takes over warm instead of making its first requests wait — then accepts.
pub async fn start(listener: TcpListener, app: App) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let state = AppState(Arc::new(app));
    // Before the tasks: the sync then starts one interval later, sharing this read.
    state.equipment_sync().read_first_snapshot().await;
    // Before accepting: a dev page's APIs are hidden from the first request on.
    if let Err(error) = state.pages.load(&state.db).await {
        tracing::warn!(%error, "cannot read the page registry yet; no page is hidden until it is read");
    }
    state.start_tasks();
    {
        let app = state.clone();
        state.shutdown.spawn(
            "health_watch",
            crate::lifecycle::Phase::Background,
            &state.stopping,
            |stop| crate::routes::events::watch_health(app, stop),
        );
    }
    {
        let state = state.clone();
        // Ends by itself within the health pool's acquire timeout.
        tokio::spawn(async move { state.db.open_health_connection().await });
    }
    wait_for_first_wip_load(&state).await;
    let stop = CancellationToken::new();
    let drain = DrainSettings {
        keepalive_drain: state.config.http.keepalive_drain,
        graceful_timeout: state.config.http.graceful_timeout,
        draining: state.draining.clone(),
    };
    let router = router::build(state.clone());
    let probes = router::probes(&state);
    let limits = ConnectionLimits::from_settings(&state.config);
    let task = tokio::spawn(server::serve(
        listener,
        router,
        Some(probes.clone()),
        stop.clone(),
        drain,
        limits,
    ));
    Ok(Running {
        state,
        probes,
        addr,
        stop,
        task,
    })
}

/// The cache updater loads the WIP data (from Redis when another worker already published
/// it); this waits for that first load, at most [`FIRST_LOAD_LIMIT`]. A failure (the
/// database is down) is logged and serving goes on degraded.
async fn wait_for_first_wip_load(app: &App) {
    let started = std::time::Instant::now();
    match app.wip.wait_first_load(FIRST_LOAD_LIMIT).await {
        Ok(_) => tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "WIP snapshot loaded"
        ),
        Err(error) => tracing::warn!(%error, "no WIP snapshot yet; serving anyway"),
    }
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

/// Prepares the database, binds `BIND` and serves in this process until a stop signal
/// (`WORKERS=0`).
async fn run_in_process(config: Settings) -> anyhow::Result<bool> {
    db::prepare(&config).await?;
    let bind = config.http.bind;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (BIND)"))?;
    let running = start(listener, App::build(config, None)?).await?;
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
