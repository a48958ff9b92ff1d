//! The hidden `worker` role: a process the supervisor starts. It takes the inherited listening
//! socket and control channel, builds the app with its link to the supervisor, serves through
//! [`crate::serve::start`] exactly as in-process serving does, says `ready`, beats every
//! second, and on SIGTERM (or when the supervisor disappears) drains and runs its shutdown
//! registry through [`crate::serve::Running::shutdown`].

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::link::WorkerLink;
use super::protocol::ToSupervisor;
use crate::app::App;
use crate::config::Settings;
use crate::http::server;
use crate::serve;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The generation this worker belongs to.
    #[arg(long)]
    pub generation: u64,
    /// Its place among the generation's workers.
    #[arg(long)]
    pub slot: usize,
}

/// The fds a worker inherits. Taken before the async runtime starts: listenfd edits the
/// environment, which must not race other threads.
pub struct Inherited {
    listener: std::net::TcpListener,
    control: std::os::unix::net::UnixStream,
}

impl Inherited {
    pub fn take() -> anyhow::Result<Self> {
        let mut fds = listenfd::ListenFd::from_env();
        let listener = fds
            .take_tcp_listener(0)
            .context("fd 3 is not a listening TCP socket")?
            .context("no listening socket was inherited (the worker role is started by `serve`)")?;
        // listenfd checks the fd is a Unix stream socket; it hands it out typed as a listener,
        // and the conversion through OwnedFd retypes it as the connected stream it is.
        let control = fds
            .take_unix_listener(1)
            .context("fd 4 is not a Unix socket")?
            .context("no control channel was inherited")?;
        let control = std::os::unix::net::UnixStream::from(OwnedFd::from(control));
        Ok(Self { listener, control })
    }
}

/// Serves until SIGTERM/SIGINT or until the supervisor goes away; returns whether every
/// shutdown hook finished.
pub async fn run(
    settings: Settings,
    args: WorkerArgs,
    inherited: Inherited,
) -> anyhow::Result<bool> {
    inherited.listener.set_nonblocking(true)?;
    inherited.control.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(inherited.listener)?;
    let control = tokio::net::UnixStream::from_std(inherited.control)?;
    let link = WorkerLink::start(control, args.generation, args.slot);

    let running = serve::start(listener, App::build(settings, Some(link.clone()))?).await?;
    let hooks = running.state.shutdown.planned().len();
    link.send(ToSupervisor::Ready { hooks });
    tracing::info!(
        worker.pid = std::process::id(),
        worker.generation = args.generation,
        worker.slot = args.slot,
        "worker serving"
    );

    let beating = tokio_util::sync::CancellationToken::new();
    let heartbeat = tokio::spawn(heartbeat(
        link.clone(),
        running.state.clone(),
        beating.clone(),
    ));
    tokio::select! {
        () = serve::wait_for_stop_signal() => tracing::info!(worker.pid = std::process::id(), "worker: stop signal; draining"),
        () = link.closed.cancelled() => tracing::warn!(worker.pid = std::process::id(), "worker: the supervisor is gone; draining"),
    }
    let (drain, report) = running.shutdown().await;
    beating.cancel();
    let _ = heartbeat.await;
    tracing::info!(
        worker.pid = std::process::id(),
        connections_at_stop = drain.connections_at_stop,
        forced = drain.forced,
        duration_ms = drain.duration.as_millis() as u64,
        "worker stopped"
    );
    Ok(report.clean())
}

/// One beat a second from the async runtime. It keeps beating while the worker drains: the
/// supervisor has marked it stopping and bounds that with its own deadline.
/// Each beat carries the worker's `/metrics` samples: the supervisor hands every worker's
/// back in its snapshot, so any worker can show the instance.
async fn heartbeat(
    link: Arc<WorkerLink>,
    app: crate::app::AppState,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // SIGHUP is the supervisor's signal; a worker that receives one (a broad `kill -HUP`)
    // ignores it instead of dying by the default action.
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => link.send(ToSupervisor::Heartbeat {
                requests: server::requests_served(),
                metrics: crate::metrics::collect(&app),
            }),
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                tracing::info!("worker: SIGHUP ignored (send it to the supervisor to reload)");
            }
        }
    }
}
