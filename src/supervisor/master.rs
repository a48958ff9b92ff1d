//! The supervisor process, the shell around [`Core`]: it binds `BIND` once and keeps the
//! socket for its whole life, turns the world into the core's events (signals, the workers'
//! control channels, their exits, a half-second tick) and carries out the effects the core
//! returns (spawn a worker, signal one, notify systemd, audit, save the history, send
//! snapshots and replies). Every decision is the core's; nothing here decides.
//!
//! Signals: SIGHUP reloads; SIGTERM / SIGINT stop every worker gracefully and exit (a second
//! one kills them).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use rustix::process::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::audit::Auditor;
use super::core::{Config, Core, Effect, Event, Kill, Notify, WorkerId};
use super::files::PidFile;
use super::history;
use super::notify::Notifier;
use super::protocol::{self, ToSupervisor, ToWorker};
use super::spawn;
use crate::config::Settings;

/// How often deadlines, heartbeats and snapshots are looked at.
const TICK: Duration = Duration::from_millis(500);

/// The `serve` role with `WORKERS` > 0.
pub async fn run(settings: Settings) -> anyhow::Result<bool> {
    let runtime_dir = settings.supervisor.runtime_dir.clone();
    std::fs::create_dir_all(&runtime_dir).with_context(|| {
        format!(
            "cannot create {} (WATCHDOG_RUNTIME_DIR)",
            runtime_dir.display()
        )
    })?;
    let pid_file = PidFile::create(&runtime_dir)?;
    crate::db::prepare(&settings).await?;
    let listener = bind(settings.http.bind)?;
    let exe = worker_binary()?;
    let (auditor, audit_writer) = Auditor::start(&settings, &runtime_dir);
    let notifier = Notifier::from_env();
    tracing::info!(
        addr = %listener.local_addr()?,
        workers = settings.supervisor.workers,
        binary = %exe.display(),
        runtime_dir = %runtime_dir.display(),
        supervisor.pid = std::process::id(),
        "supervisor listening"
    );
    let config = core_config(&settings, notifier.watchdog_period());
    let core = Core::new(config, history::load(&runtime_dir), now());
    let (events, rx) = mpsc::unbounded_channel();
    let mut shell = Shell {
        worker_env: worker_env(&settings),
        exe,
        runtime_dir,
        listener: Some(listener),
        events,
        workers: BTreeMap::new(),
        auditor,
        notifier,
    };
    let result = shell.run(core, rx).await;
    drop(shell);
    audit_writer.finish().await;
    drop(pid_file);
    result
}

/// What the core decides with, from the settings.
fn core_config(settings: &Settings, systemd_watchdog: Option<Duration>) -> Config {
    Config {
        supervisor: settings.supervisor.clone(),
        graceful_timeout: settings.http.graceful_timeout,
        hook_timeout: settings.lifecycle.hook_timeout,
        systemd_watchdog,
        supervisor_pid: std::process::id(),
        seed: rand::random(),
    }
}

fn now() -> super::core::Now {
    super::core::Now {
        mono: Instant::now(),
        wall: Utc::now(),
    }
}

/// A worker process as the shell knows it: where to signal it, where to write to it.
struct Handle {
    pid: u32,
    tx: mpsc::UnboundedSender<ToWorker>,
}

struct Shell {
    /// Variables every worker gets on top of the supervisor's environment.
    worker_env: Vec<(&'static str, String)>,
    exe: PathBuf,
    runtime_dir: PathBuf,
    listener: Option<std::net::TcpListener>,
    /// Where the workers' reader and exit tasks send their events.
    events: mpsc::UnboundedSender<Event>,
    workers: BTreeMap<WorkerId, Handle>,
    auditor: Auditor,
    notifier: Notifier,
}

impl Shell {
    async fn run(
        &mut self,
        mut core: Core,
        mut rx: mpsc::UnboundedReceiver<Event>,
    ) -> anyhow::Result<bool> {
        let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        // Events the effects answer (a spawn's result) go before anything else happens.
        let mut answers = VecDeque::from([Event::Start]);
        loop {
            let event = match answers.pop_front() {
                Some(event) => event,
                None => tokio::select! {
                    Some(event) = rx.recv() => event,
                    _ = hup.recv() => Event::Reload,
                    _ = term.recv() => Event::Stop("SIGTERM"),
                    _ = int.recv() => Event::Stop("SIGINT"),
                    _ = tick.tick() => Event::Tick,
                },
            };
            if let Event::Exited { worker, .. } = &event {
                self.workers.remove(worker);
            }
            for effect in core.handle(event, now()) {
                answers.extend(self.carry_out(effect));
            }
            if let Some(outcome) = core.outcome() {
                tracing::info!(
                    clean = outcome.as_ref().is_ok_and(|clean| *clean),
                    "supervisor: every worker has exited"
                );
                return outcome.map_err(anyhow::Error::msg);
            }
        }
    }

    /// Carries one effect out; returns the event that answers it, if any.
    fn carry_out(&mut self, effect: Effect) -> Option<Event> {
        match effect {
            Effect::Spawn {
                worker,
                generation,
                slot,
            } => {
                return Some(match self.spawn(worker, generation, slot) {
                    Ok(pid) => Event::Spawned { worker, pid },
                    Err(error) => Event::SpawnFailed { worker, error },
                });
            }
            Effect::Signal { worker, signal } => {
                if let Some(handle) = self.workers.get(&worker) {
                    let signal = match signal {
                        Kill::Term => Signal::TERM,
                        Kill::Kill => Signal::KILL,
                    };
                    spawn::signal(handle.pid, signal);
                }
            }
            Effect::Notify(notification) => match notification {
                Notify::Ready(status) => self.notifier.ready(&status),
                Notify::Reloading(status) => self.notifier.reloading(&status),
                Notify::Stopping => self.notifier.stopping(),
                Notify::Status(status) => self.notifier.status(&status),
                Notify::Watchdog => self.notifier.ping(),
            },
            Effect::Audit(record) => self.auditor.record(*record),
            Effect::SaveHistory(entries) => {
                if let Err(error) = history::save(&self.runtime_dir, &entries) {
                    tracing::error!(dir = %self.runtime_dir.display(), %error, "cannot write the restart history");
                }
            }
            Effect::Snapshot(snapshot) => {
                let message = ToWorker::Snapshot(snapshot);
                for handle in self.workers.values() {
                    let _ = handle.tx.send(message.clone());
                }
            }
            Effect::Reply {
                worker,
                request_id,
                reply,
            } => {
                if let Some(handle) = self.workers.get(&worker) {
                    let _ = handle.tx.send(ToWorker::RestartReply {
                        id: request_id,
                        reply,
                    });
                }
            }
            Effect::CloseListener => self.listener = None,
        }
        None
    }

    /// Starts one worker process; its messages and its exit arrive as events.
    fn spawn(&mut self, id: WorkerId, generation: u64, slot: usize) -> Result<u32, String> {
        let listener = self
            .listener
            .as_ref()
            .ok_or_else(|| "the supervisor is stopping".to_string())?;
        let env: Vec<(&str, &str)> = self
            .worker_env
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let spawned = spawn::spawn_worker(&self.exe, listener, generation, slot, &env)
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;

        let (read, write) = protocol::split(spawned.control);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(protocol::write_loop(write, rx));
        let events = self.events.clone();
        tokio::spawn(protocol::read_loop::<ToSupervisor>(read, move |msg| {
            let _ = events.send(from_worker(id, msg));
        }));
        let events = self.events.clone();
        let mut child = spawned.child;
        tokio::spawn(async move {
            let (how, clean) = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => (format!("cannot wait for it: {e}"), false),
            };
            let _ = events.send(Event::Exited {
                worker: id,
                how,
                clean,
            });
        });
        self.workers.insert(
            id,
            Handle {
                pid: spawned.pid,
                tx,
            },
        );
        Ok(spawned.pid)
    }
}

/// A message on a worker's control channel, as the core's event.
fn from_worker(worker: WorkerId, msg: ToSupervisor) -> Event {
    match msg {
        ToSupervisor::Ready { hooks } => Event::Ready { worker, hooks },
        ToSupervisor::Heartbeat { requests, metrics } => Event::Heartbeat {
            worker,
            requests,
            metrics,
        },
        ToSupervisor::Restart {
            id,
            request,
            requested_by,
            ip,
        } => Event::RestartRequest {
            worker,
            request_id: id,
            request,
            requested_by,
            ip,
        },
    }
}

/// What every worker must share with the supervisor beyond its environment: a development key
/// made up for this run (so every worker signs alike) and the demo login's made-up password
/// (the one printed is the one every worker accepts).
fn worker_env(settings: &Settings) -> Vec<(&'static str, String)> {
    use secrecy::ExposeSecret;
    let mut env = Vec::new();
    if settings.secrets.generated {
        env.push((
            "SECRET_KEY",
            settings.secrets.current.expose_secret().to_string(),
        ));
    }
    if let Some(password) = settings.auth.demo_password.as_ref().filter(|d| d.generated) {
        env.push(("DEMO_PASSWORD", password.value.expose_secret().to_string()));
    }
    env
}

/// Binds the one listening socket, with a backlog deep enough to hold connections arriving
/// while workers are replaced.
fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr} (BIND)"))?;
    let listener = socket
        .listen(1024)
        .with_context(|| format!("cannot listen on {addr} (BIND)"))?;
    Ok(listener.into_std()?)
}

/// The binary new workers run: the path this one was started by, so that after an upgrade
/// replaces the file (or the symlink) a reload starts the new binary. Started through `PATH`
/// (no `/` in argv\[0\]), the resolved path of the running binary.
fn worker_binary() -> anyhow::Result<PathBuf> {
    if let Some(arg0) = std::env::args_os().next() {
        let path = PathBuf::from(arg0);
        if path.components().count() > 1 {
            return Ok(std::path::absolute(&path)?);
        }
    }
    Ok(std::env::current_exe()?)
}

fn describe_exit(status: std::process::ExitStatus) -> (String, bool) {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => ("exited with status 0".into(), true),
        (Some(code), _) => (format!("exited with status {code}"), false),
        (None, Some(sig)) => (format!("killed by signal {sig}"), false),
        _ => ("ended".into(), false),
    }
}
