//! The supervisor process: binds `BIND` once and keeps the socket for its whole life, starts
//! `WORKERS` worker processes that inherit it, and runs one event loop for their control
//! channels, their exits, the signals and a half-second tick (watchdog, deadlines, snapshots).
//!
//! Signals: SIGHUP reloads (one reload at a time; signals during a reload coalesce into one
//! more); SIGTERM / SIGINT stop every worker gracefully and exit (a second one kills them).
//! Reloads live in [`super::reload`], the watchdog and crash replacement in
//! [`super::watchdog`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use rustix::process::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::audit::Auditor;
use super::files::PidFile;
use super::history::{HistoryEntry, HistoryStore, Source};
use super::notify::Notifier;
use super::policy::{Clock, SystemClock};
use super::protocol::{self, ToSupervisor, ToWorker, WorkerState};
use super::reload::Reload;
use super::spawn;
use crate::config::Settings;

/// How often deadlines, heartbeats and snapshots are looked at.
const TICK: Duration = Duration::from_millis(500);

/// What happens to the supervisor, in the order it happened.
#[derive(Debug)]
pub(super) enum Event {
    Message(u64, ToSupervisor),
    Exited(u64, String, bool),
}

/// One worker process the supervisor started.
pub(super) struct Worker {
    pub pid: u32,
    pub slot: usize,
    pub generation: u64,
    pub state: WorkerState,
    pub started_at: DateTime<Utc>,
    pub spawned: Instant,
    pub ready_at: Option<(Instant, DateTime<Utc>)>,
    pub last_beat: Instant,
    pub last_beat_at: Option<DateTime<Utc>>,
    pub requests: u64,
    /// Shutdown hooks it reported: bounds its graceful stop.
    pub hooks: usize,
    /// When a stopping worker is killed if it has not exited.
    pub kill_at: Option<Instant>,
    pub killed: bool,
    /// Recycle after this many requests (`WORKER_MAX_REQUESTS` + jitter).
    pub recycle_after: Option<u64>,
    pub tx: mpsc::UnboundedSender<ToWorker>,
}

/// One place in the serving generation.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// The worker serving this place.
    pub current: Option<u64>,
    /// A worker starting to take it over (crash, watchdog, recycle).
    pub replacement: Option<u64>,
    /// When to start a replacement after a crash (back-off).
    pub respawn_at: Option<Instant>,
    /// Consecutive failures (crashes soon after start, failed starts).
    pub failures: u32,
    /// The history entry of the replacement in progress.
    pub entry: Option<u64>,
}

pub(super) struct Master {
    pub settings: Settings,
    pub exe: PathBuf,
    pub listener: Option<std::net::TcpListener>,
    pub events: mpsc::UnboundedSender<Event>,
    pub clock: Arc<dyn Clock>,
    pub started_at: DateTime<Utc>,
    pub workers: BTreeMap<u64, Worker>,
    pub next_worker: u64,
    /// The generation serving now (0 before the first is ready).
    pub generation: u64,
    /// The number the next generation gets (failed generations are not reused).
    pub next_generation: u64,
    pub slots: Vec<Slot>,
    pub reload: Option<Reload>,
    /// A reload asked for while one ran: its source and history entries (coalesced).
    pub queued: Option<(Source, Vec<u64>)>,
    pub history: HistoryStore,
    pub auditor: Auditor,
    pub last_reload_error: Option<String>,
    /// Set once stopping: SIGTERM/SIGINT, or the first generation failed.
    pub stopping: bool,
    /// Why the supervisor must exit with an error once its workers are gone.
    pub fatal: Option<String>,
    /// A worker exited uncleanly (killed, or hooks unfinished) during the stop.
    pub unclean_stop: bool,
    pub notifier: Notifier,
}

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
    let (events, rx) = mpsc::unbounded_channel();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    tracing::info!(
        addr = %listener.local_addr()?,
        workers = settings.supervisor.workers,
        binary = %exe.display(),
        runtime_dir = %runtime_dir.display(),
        supervisor.pid = std::process::id(),
        "supervisor listening"
    );
    let mut master = Master {
        slots: (0..settings.supervisor.workers)
            .map(|_| Slot::default())
            .collect(),
        history: HistoryStore::load(&runtime_dir),
        settings,
        exe,
        listener: Some(listener),
        events,
        started_at: clock.now(),
        clock,
        workers: BTreeMap::new(),
        next_worker: 1,
        generation: 0,
        next_generation: 1,
        reload: None,
        queued: None,
        auditor,
        last_reload_error: None,
        stopping: false,
        fatal: None,
        unclean_stop: false,
        notifier: Notifier::from_env(),
    };
    let result = master.run(rx).await;
    drop(master);
    audit_writer.finish(Duration::from_secs(10)).await;
    drop(pid_file);
    result
}

impl Master {
    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Event>) -> anyhow::Result<bool> {
        let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        self.start_reload(Source::Auto, Vec::new());
        while !(self.stopping && self.workers.is_empty()) {
            // Every event but a heartbeat may change what the workers show: they get a fresh
            // snapshot at once rather than at the next tick.
            let changed = tokio::select! {
                Some(event) = rx.recv() => match event {
                    Event::Message(id, ToSupervisor::Heartbeat { requests }) => {
                        self.on_heartbeat(id, requests);
                        false
                    }
                    Event::Message(id, msg) => {
                        self.on_message(id, msg);
                        true
                    }
                    Event::Exited(id, how, clean) => {
                        self.on_exit(id, &how, clean);
                        true
                    }
                },
                _ = hup.recv() => {
                    self.on_sighup();
                    true
                }
                _ = term.recv() => {
                    self.begin_stop("SIGTERM");
                    true
                }
                _ = int.recv() => {
                    self.begin_stop("SIGINT");
                    true
                }
                _ = tick.tick() => {
                    self.on_tick();
                    true
                }
            };
            if changed {
                self.broadcast();
            }
        }
        tracing::info!(
            unclean = self.unclean_stop,
            "supervisor: every worker has exited"
        );
        match self.fatal.take() {
            Some(reason) => Err(anyhow::anyhow!(reason)),
            None => Ok(!self.unclean_stop),
        }
    }

    fn on_message(&mut self, id: u64, msg: ToSupervisor) {
        match msg {
            ToSupervisor::Ready { hooks } => self.on_ready(id, hooks),
            ToSupervisor::Heartbeat { requests } => self.on_heartbeat(id, requests),
            ToSupervisor::Restart {
                id: request_id,
                request,
                requested_by,
                ip,
            } => self.on_restart_request(id, request_id, &request, &requested_by, ip),
        }
    }

    fn on_heartbeat(&mut self, id: u64, requests: u64) {
        let now = self.clock.now();
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        w.last_beat = Instant::now();
        w.last_beat_at = Some(now);
        w.requests = requests;
        self.maybe_recycle(id);
    }

    fn on_ready(&mut self, id: u64, hooks: usize) {
        let now = self.clock.now();
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        if w.state != WorkerState::Starting {
            return;
        }
        w.state = WorkerState::Serving;
        w.ready_at = Some((Instant::now(), now));
        w.last_beat = Instant::now();
        w.last_beat_at = Some(now);
        w.hooks = hooks;
        tracing::info!(
            worker.pid = w.pid,
            worker.generation = w.generation,
            worker.slot = w.slot,
            startup_ms = w.spawned.elapsed().as_millis() as u64,
            "worker ready"
        );
        if self
            .reload
            .as_ref()
            .is_some_and(|r| r.workers.contains(&id))
        {
            self.reload_worker_ready();
        } else {
            self.replacement_ready(id);
        }
    }

    fn on_sighup(&mut self) {
        if self.stopping {
            return;
        }
        if self.queued.is_some() {
            tracing::info!("SIGHUP: a reload is already queued; this signal coalesces with it");
            return;
        }
        let mut entry = HistoryEntry::new(
            Source::Signal,
            super::history::Action::Reload,
            super::history::Decision::Allowed,
            "signal",
            self.clock.now(),
        );
        entry.reason = Some("SIGHUP".into());
        let seq = self.record(entry, "requested");
        self.start_reload(Source::Signal, vec![seq]);
    }

    /// Stops every worker gracefully; a second signal kills them.
    pub(super) fn begin_stop(&mut self, why: &str) {
        if self.stopping {
            tracing::warn!(signal = why, "second stop request: killing every worker");
            for w in self.workers.values_mut() {
                spawn::signal(w.pid, Signal::KILL);
                w.killed = true;
            }
            self.unclean_stop = true;
            return;
        }
        tracing::info!(
            signal = why,
            workers = self.workers.len(),
            "supervisor stopping: draining every worker"
        );
        self.stopping = true;
        self.notifier.stopping();
        // New connections are refused from now on rather than queued for nobody.
        self.listener = None;
        self.abort_reload("the supervisor is stopping");
        if let Some((_, entries)) = self.queued.take() {
            for seq in entries {
                self.finish_entry(seq, false, Some("the supervisor stopped first".into()));
            }
        }
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        let ids: Vec<u64> = self.workers.keys().copied().collect();
        for id in ids {
            self.stop_worker(id, None);
        }
    }

    fn on_tick(&mut self) {
        self.notifier.ping_if_due();
        self.check_deadlines();
        if !self.stopping {
            self.check_heartbeats();
            self.respawn_due();
        }
    }

    /// Sends every worker the current snapshot.
    fn broadcast(&self) {
        if self.workers.is_empty() {
            return;
        }
        let snapshot = ToWorker::Snapshot(Box::new(self.snapshot()));
        for w in self.workers.values() {
            let _ = w.tx.send(snapshot.clone());
        }
    }

    /// Starts one worker; its events arrive on the loop's channel.
    pub(super) fn spawn_worker(&mut self, generation: u64, slot: usize) -> Result<u64, String> {
        let listener = self
            .listener
            .as_ref()
            .ok_or_else(|| "the supervisor is stopping".to_string())?;
        // A development key made up for this run is shared, so every worker signs alike.
        let key;
        let demo;
        let mut env = Vec::new();
        if self.settings.secrets.generated {
            key = secrecy::ExposeSecret::expose_secret(&self.settings.secrets.current).to_string();
            env.push(("SECRET_KEY", key.as_str()));
        }
        // Likewise the demo login's password: the one printed is the one every worker accepts.
        if let Some(password) = self
            .settings
            .auth
            .demo_password
            .as_ref()
            .filter(|d| d.generated)
        {
            demo = secrecy::ExposeSecret::expose_secret(&password.value).to_string();
            env.push(("DEMO_PASSWORD", demo.as_str()));
        }
        let spawned = spawn::spawn_worker(&self.exe, listener, generation, slot, &env)
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        let id = self.next_worker;
        self.next_worker += 1;

        let (read, write) = protocol::split(spawned.control);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(protocol::write_loop(write, rx));
        let events = self.events.clone();
        tokio::spawn(protocol::read_loop::<ToSupervisor>(read, move |msg| {
            let _ = events.send(Event::Message(id, msg));
        }));
        let events = self.events.clone();
        let mut child = spawned.child;
        tokio::spawn(async move {
            let (how, clean) = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => (format!("cannot wait for it: {e}"), false),
            };
            let _ = events.send(Event::Exited(id, how, clean));
        });

        let sup = &self.settings.supervisor;
        let recycle_after = (sup.max_requests > 0)
            .then(|| sup.max_requests + rand::random_range(0..=sup.max_requests_jitter));
        tracing::info!(
            worker.pid = spawned.pid,
            worker.generation = generation,
            worker.slot = slot,
            "worker started"
        );
        self.workers.insert(
            id,
            Worker {
                pid: spawned.pid,
                slot,
                generation,
                state: WorkerState::Starting,
                started_at: self.clock.now(),
                spawned: Instant::now(),
                ready_at: None,
                last_beat: Instant::now(),
                last_beat_at: None,
                requests: 0,
                hooks: 0,
                kill_at: None,
                killed: false,
                recycle_after,
                tx,
            },
        );
        Ok(id)
    }

    /// Asks a worker to stop: SIGTERM, then SIGKILL at the bound. `None` is the graceful bound
    /// (drain plus its shutdown hooks); a hung worker gets `WORKER_KILL_GRACE_SECONDS`.
    pub(super) fn stop_worker(&mut self, id: u64, bound: Option<Duration>) {
        let graceful = self.graceful_bound(id);
        let Some(w) = self.workers.get_mut(&id) else {
            return;
        };
        if w.state == WorkerState::Stopping {
            return;
        }
        w.state = WorkerState::Stopping;
        w.kill_at = Some(Instant::now() + bound.unwrap_or(graceful));
        spawn::signal(w.pid, Signal::TERM);
    }

    /// `GRACEFUL_TIMEOUT` + one `SHUTDOWN_HOOK_TIMEOUT` per hook the worker registered, plus a
    /// margin for the process to exit.
    fn graceful_bound(&self, id: u64) -> Duration {
        let hooks = self.workers.get(&id).map_or(0, |w| w.hooks).max(1) as u32;
        self.settings.http.graceful_timeout
            + self.settings.lifecycle.hook_timeout * hooks
            + Duration::from_secs(2)
    }
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
