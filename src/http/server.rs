//! The accept loop and the bounded drain.
//!
//! Written on hyper-util rather than with `axum::serve` because a zero-failure reload needs
//! control `axum::serve` does not give: its graceful shutdown closes every idle keep-alive
//! connection at once (racing clients that are about to reuse them) and then waits without a
//! deadline. Here a drain has three phases, all bounded by `GRACEFUL_TIMEOUT`:
//!
//! 1. stop accepting (the listening socket stays open in the supervisor and the other
//!    workers, so nothing is refused) and mark the app draining: each response now carries
//!    `Connection: close`, so busy keep-alive clients leave after their current request;
//! 2. after `KEEPALIVE_DRAIN_SECONDS`, ask hyper to close what is left (idle connections
//!    close, in-flight requests finish);
//! 3. at the deadline, drop whatever still runs.
//!
//! Connections are bounded per worker ([`ConnectionLimits`]): a watchdog here closes silent
//! and slow-header clients (`HEADER_READ_TIMEOUT` after the connection opened, when no request
//! head has come) and idle keep-alive connections (`KEEP_ALIVE_TIMEOUT`, at most
//! `HEADER_READ_TIMEOUT`: a second head that stalls is closed with the idle connection), and at
//! `MAX_CONNECTIONS` a new connection first takes the place of the oldest one that has not
//! sent a request yet; when there is none it is served for health probes only (the
//! [`PROBE_RESERVE`]), and beyond that it is closed at once — never queued.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

use super::hyper_errors::SecuredIo;
use super::probe::Probes;

/// Requests this process has answered (all servers of the process): the worker status and
/// the `WORKER_MAX_REQUESTS` recycling read it. One relaxed increment per request.
static REQUESTS_SERVED: AtomicU64 = AtomicU64::new(0);

pub fn requests_served() -> u64 {
    REQUESTS_SERVED.load(Ordering::Relaxed)
}

/// What `MAX_CONNECTIONS` did in this process: connections closed at accept (past the probe
/// reserve), requests refused on a reserve connection (not a probe), and silent connections
/// evicted to make room. For `/metrics`.
static CONNECTIONS_CLOSED_AT_LIMIT: AtomicU64 = AtomicU64::new(0);
pub static REQUESTS_REFUSED_AT_LIMIT: AtomicU64 = AtomicU64::new(0);
static SILENT_CONNECTIONS_EVICTED: AtomicU64 = AtomicU64::new(0);

/// (closed at accept, requests refused, silent connections evicted) so far.
pub fn connection_limit_counts() -> (u64, u64, u64) {
    (
        CONNECTIONS_CLOSED_AT_LIMIT.load(Ordering::Relaxed),
        REQUESTS_REFUSED_AT_LIMIT.load(Ordering::Relaxed),
        SILENT_CONNECTIONS_EVICTED.load(Ordering::Relaxed),
    )
}

/// How a server drains when asked to stop.
#[derive(Debug, Clone)]
pub struct DrainSettings {
    pub keepalive_drain: Duration,
    pub graceful_timeout: Duration,
    /// Read by the drain middleware: set once accepting stops.
    pub draining: Arc<AtomicBool>,
}

/// Connections one worker serves beyond `MAX_CONNECTIONS`, one request each, for `/health` and
/// `/health/live` only: a probe still gets an answer while clients hold every regular slot.
pub const PROBE_RESERVE: usize = 8;

/// Bounds on connections (see the module doc).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    /// hyper's own error answers carry HSTS too (staging and production).
    pub hsts: bool,
}

impl ConnectionLimits {
    pub fn from_settings(config: &crate::config::Settings) -> Self {
        Self {
            max_connections: config.http.max_connections,
            header_read_timeout: config.http.header_read_timeout,
            keep_alive_timeout: config.http.keep_alive_timeout,
            hsts: config.mode.is_production_like(),
        }
    }
}

/// The largest request head (request line and headers) hyper reads; larger ones get its 431
/// (a URI over hyper's own bound gets 414).
pub const MAX_HEADER_BYTES: usize = 96 * 1024;

/// In a request's extensions when its connection came in over `MAX_CONNECTIONS`: the edge
/// answers it only for the health probes.
#[derive(Debug, Clone, Copy)]
pub struct OverConnectionLimit;

/// Connections that have not sent a request yet, oldest first: the first to give up their
/// place when the worker is at its limit.
#[derive(Default)]
struct Silent {
    next_id: AtomicU64,
    waiting: parking_lot::Mutex<BTreeMap<u64, CancellationToken>>,
}

impl Silent {
    fn register(&self) -> (u64, CancellationToken) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.waiting.lock().insert(id, token.clone());
        (id, token)
    }

    fn spoke(&self, id: u64) {
        self.waiting.lock().remove(&id);
    }

    /// Drops the oldest silent connection; false when there is none.
    fn evict_oldest(&self) -> bool {
        let oldest = self.waiting.lock().pop_first();
        let evicted = oldest.map(|(_, token)| token.cancel()).is_some();
        if evicted {
            SILENT_CONNECTIONS_EVICTED.fetch_add(1, Ordering::Relaxed);
        }
        evicted
    }
}

/// What a drain did, for the shutdown report.
#[derive(Debug, Clone, Default)]
pub struct DrainReport {
    pub connections_at_stop: usize,
    pub closed_by_clients: usize,
    pub forced: usize,
    pub duration: Duration,
}

/// Serves `router` on `listener` until `stop` is cancelled, then drains. `probes` answers the
/// health probes it can before the router sees them ([`crate::http::probe`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    probes: Option<Arc<Probes>>,
    stop: CancellationToken,
    drain: DrainSettings,
    limits: ConnectionLimits,
) -> DrainReport {
    let tracker = TaskTracker::new();
    let close_idle = CancellationToken::new();
    let force = CancellationToken::new();
    let open = Arc::new(AtomicUsize::new(0));
    let silent = Arc::new(Silent::default());
    let limits = Arc::new(limits);

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let now_open = open.load(Ordering::Relaxed);
                    let over_limit = now_open >= limits.max_connections
                        && !silent.evict_oldest();
                    if over_limit && now_open >= limits.max_connections + PROBE_RESERVE {
                        tracing::debug!(%peer, "connection limit reached; connection closed");
                        CONNECTIONS_CLOSED_AT_LIMIT.fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    open.fetch_add(1, Ordering::Relaxed);
                    let (id, evict) = silent.register();
                    let guard = OpenGuard {
                        open: open.clone(),
                        silent: silent.clone(),
                        id,
                    };
                    tracker.spawn(connection(
                        stream,
                        Peer { addr: peer, over_limit },
                        router.clone(),
                        probes.clone(),
                        limits.clone(),
                        Signals { close_idle: close_idle.clone(), force: force.clone(), evict },
                        guard,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    let started = Instant::now();
    drop(listener);
    drain.draining.store(true, Ordering::Relaxed);
    tracker.close();
    let at_stop = open.load(Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + drain.graceful_timeout;

    // Phase 1: let busy keep-alive connections finish on their own.
    let phase1 = tokio::time::Instant::now() + drain.keepalive_drain.min(drain.graceful_timeout);
    while open.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < phase1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after_phase1 = open.load(Ordering::Relaxed);

    // Phase 2: close idle connections, let in-flight requests complete.
    close_idle.cancel();
    let forced = if tokio::time::timeout_at(deadline, tracker.wait())
        .await
        .is_err()
    {
        // Phase 3: the deadline passed.
        let left = open.load(Ordering::Relaxed);
        force.cancel();
        tracker.wait().await;
        left
    } else {
        0
    };
    DrainReport {
        connections_at_stop: at_stop,
        closed_by_clients: at_stop.saturating_sub(after_phase1),
        forced,
        duration: started.elapsed(),
    }
}

/// Counts the connection as open and, until it sends a request, as silent.
struct OpenGuard {
    open: Arc<AtomicUsize>,
    silent: Arc<Silent>,
    id: u64,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.silent.spoke(self.id);
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Peer {
    addr: SocketAddr,
    /// Accepted beyond `MAX_CONNECTIONS`: probes only, one request.
    over_limit: bool,
}

/// What can end a connection from outside.
struct Signals {
    /// Drain phase 2: close when idle.
    close_idle: CancellationToken,
    /// Drain phase 3: drop now.
    force: CancellationToken,
    /// Still silent when the worker needed its place.
    evict: CancellationToken,
}

/// When the connection last finished producing a response, and how many requests are being
/// answered: the keep-alive watchdog closes it once it has been idle `KEEP_ALIVE_TIMEOUT`.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    served: AtomicU64,
    /// Milliseconds since the connection was accepted.
    last_ms: AtomicU64,
}

/// How a request is answered: at once (a probe) or by the router.
enum Way {
    Ready(axum::response::Response),
    Router(Router),
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: Peer,
    router: Router,
    probes: Option<Arc<Probes>>,
    limits: Arc<ConnectionLimits>,
    signals: Signals,
    open: OpenGuard,
) {
    let accepted = Instant::now();
    let activity = Arc::new(Activity::default());
    let service = {
        let activity = activity.clone();
        let silent = open.silent.clone();
        let id = open.id;
        let (addr, over_limit) = (peer.addr, peer.over_limit);
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            if activity.served.fetch_add(1, Ordering::Relaxed) == 0 {
                silent.spoke(id);
            }
            activity.in_flight.fetch_add(1, Ordering::Relaxed);
            let mut req = req.map(axum::body::Body::new);
            // A probe answered at once needs no extensions (each request's first insert
            // allocates their map).
            let way = match probes.as_ref().and_then(|probes| probes.answer(&req, addr)) {
                Some(response) => Way::Ready(response),
                None => {
                    req.extensions_mut().insert(ConnectInfo(addr));
                    if over_limit {
                        req.extensions_mut().insert(OverConnectionLimit);
                    }
                    Way::Router(router.clone())
                }
            };
            let activity = activity.clone();
            REQUESTS_SERVED.fetch_add(1, Ordering::Relaxed);
            async move {
                let response = match way {
                    Way::Ready(response) => response,
                    Way::Router(mut router) => {
                        router.call(req).await.unwrap_or_else(|e| match e {})
                    }
                };
                let elapsed = accepted.elapsed().as_millis() as u64;
                activity.last_ms.store(elapsed, Ordering::Relaxed);
                activity.in_flight.fetch_sub(1, Ordering::Relaxed);
                Ok::<_, Infallible>(response)
            }
        })
    };
    // No hyper header read timeout: hyper arms it (a boxed timer, registered with the runtime's
    // timer wheel and removed again) for every request head of a keep-alive connection, which
    // cost more than the rest of a cached answer's edge. The watchdog below gives the same
    // bounds with one timer per connection.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES)
        .keep_alive(!peer.over_limit)
        .serve_connection(TokioIo::new(SecuredIo::new(stream, limits.hsts)), service);
    let mut conn = std::pin::pin!(conn);
    let keep_alive = limits.keep_alive_timeout;
    let header_read = limits.header_read_timeout;
    let idle_check = tokio::time::sleep(keep_alive.min(header_read));
    let mut idle_check = std::pin::pin!(idle_check);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = signals.evict.cancelled() => return,
            () = signals.force.cancelled() => return,
            () = signals.close_idle.cancelled() => break,
            () = idle_check.as_mut() => {
                let served = activity.served.load(Ordering::Relaxed) > 0;
                if !served {
                    // Silent, or its first head still incomplete: closed (no answer, as
                    // hyper's own header timeout did) once `HEADER_READ_TIMEOUT` has passed.
                    let open_for = accepted.elapsed();
                    if open_for >= header_read {
                        return;
                    }
                    let wait = (header_read - open_for).min(keep_alive);
                    idle_check.as_mut().reset(tokio::time::Instant::now() + wait);
                    continue;
                }
                let busy = activity.in_flight.load(Ordering::Relaxed) > 0;
                let last = Duration::from_millis(activity.last_ms.load(Ordering::Relaxed));
                let idle = accepted.elapsed().saturating_sub(last);
                if served && !busy && idle >= keep_alive {
                    // Closes at once when idle; a response still streaming finishes first.
                    break;
                }
                let wait = if served && !busy { keep_alive - idle } else { keep_alive };
                idle_check.as_mut().reset(tokio::time::Instant::now() + wait);
            }
        }
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        () = signals.force.cancelled() => {}
    }
    drop(open);
}
