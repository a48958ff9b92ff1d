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

/// Requests this process has answered (all servers of the process): the worker status and
/// the `WORKER_MAX_REQUESTS` recycling read it. One relaxed increment per request.
static REQUESTS_SERVED: AtomicU64 = AtomicU64::new(0);

pub fn requests_served() -> u64 {
    REQUESTS_SERVED.load(Ordering::Relaxed)
}

/// How a server drains when asked to stop.
#[derive(Debug, Clone)]
pub struct DrainSettings {
    pub keepalive_drain: Duration,
    pub graceful_timeout: Duration,
    /// Read by the drain middleware: set once accepting stops.
    pub draining: Arc<AtomicBool>,
}

/// What a drain did, for the shutdown report.
#[derive(Debug, Clone, Default)]
pub struct DrainReport {
    pub connections_at_stop: usize,
    pub closed_by_clients: usize,
    pub forced: usize,
    pub duration: Duration,
}

/// Serves `router` on `listener` until `stop` is cancelled, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
    drain: DrainSettings,
) -> DrainReport {
    let tracker = TaskTracker::new();
    let close_idle = CancellationToken::new();
    let force = CancellationToken::new();
    let open = Arc::new(AtomicUsize::new(0));

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    open.fetch_add(1, Ordering::Relaxed);
                    let guard = OpenGuard(open.clone());
                    tracker.spawn(connection(
                        stream,
                        peer,
                        router.clone(),
                        close_idle.clone(),
                        force.clone(),
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

struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    close_idle: CancellationToken,
    force: CancellationToken,
    _open: OpenGuard,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        REQUESTS_SERVED.fetch_add(1, Ordering::Relaxed);
        async move { Ok::<_, Infallible>(router.call(req).await.unwrap_or_else(|e| match e {})) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = close_idle.cancelled() => conn.as_mut().graceful_shutdown(),
        () = force.cancelled() => return,
    }
    tokio::select! {
        _ = conn.as_mut() => {}
        () = force.cancelled() => {}
    }
}
