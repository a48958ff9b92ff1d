//! A TCP proxy between the app and PostgreSQL (or Redis) whose faults the test controls: pass traffic,
//! delay it, cut every connection (new ones are accepted and closed at once), or refuse
//! connections outright (the port closes). It counts what reaches the database, so a test can
//! prove that an open circuit breaker sends nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Accept, then close at once: the client sees its connection reset.
    Cut,
    /// Nothing listens: the client sees its connection refused.
    Refuse,
}

struct Shared {
    upstream: SocketAddr,
    fault: Mutex<Fault>,
    delay_ms: AtomicU64,
    /// Connections accepted and forwarded to the database.
    forwarded_connections: AtomicU64,
    /// Bytes sent from the app to the database.
    bytes_to_db: AtomicU64,
    live: Mutex<Vec<JoinHandle<()>>>,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            fault: Mutex::new(Fault::None),
            delay_ms: AtomicU64::new(0),
            forwarded_connections: AtomicU64::new(0),
            bytes_to_db: AtomicU64::new(0),
            live: Mutex::new(Vec::new()),
        });
        let proxy = FaultProxy {
            addr,
            shared: shared.clone(),
            acceptor: Mutex::new(None),
        };
        proxy.spawn_acceptor(listener);
        proxy
    }

    fn spawn_acceptor(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if *shared.fault.lock().unwrap() == Fault::Cut {
                    drop(client);
                    continue;
                }
                let shared2 = shared.clone();
                let handle = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(shared2.upstream).await else {
                        return;
                    };
                    shared2.forwarded_connections.fetch_add(1, Ordering::SeqCst);
                    pipe(client, server, shared2).await;
                });
                shared.live.lock().unwrap().push(handle);
            }
        });
        *self.acceptor.lock().unwrap() = Some(task);
    }

    /// Sets the fault; `Cut` and `Refuse` also kill every open connection.
    pub async fn set(&self, fault: Fault) {
        let previous = std::mem::replace(&mut *self.shared.fault.lock().unwrap(), fault);
        if fault != Fault::None {
            for handle in self.shared.live.lock().unwrap().drain(..) {
                handle.abort();
            }
        }
        match (previous, fault) {
            (_, Fault::Refuse) => {
                if let Some(acceptor) = self.acceptor.lock().unwrap().take() {
                    acceptor.abort();
                }
                // Let the aborted task drop its listener before anyone connects.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (Fault::Refuse, _) => {
                let listener = TcpListener::bind(self.addr)
                    .await
                    .expect("rebind the proxy");
                self.spawn_acceptor(listener);
            }
            _ => {}
        }
    }

    /// Delays every chunk the database sends back.
    pub fn delay(&self, by: Duration) {
        self.shared
            .delay_ms
            .store(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// (connections forwarded, bytes sent to the database) so far.
    pub fn traffic(&self) -> (u64, u64) {
        (
            self.shared.forwarded_connections.load(Ordering::SeqCst),
            self.shared.bytes_to_db.load(Ordering::SeqCst),
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.lock().unwrap().take() {
            acceptor.abort();
        }
        for handle in self.shared.live.lock().unwrap().drain(..) {
            handle.abort();
        }
    }
}

async fn pipe(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = {
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                shared.bytes_to_db.fetch_add(n as u64, Ordering::SeqCst);
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = shared.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// `postgres://user@host:port/db?…` with `host:port` replaced by `addr`.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let start = url.find("://").unwrap() + 3;
    let rest = &url[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    format!(
        "{}{}{}{}",
        &url[..start],
        &authority[..host_start],
        addr,
        &rest[end..]
    )
}

/// The `host:port` of a PostgreSQL URL (or any URL with an explicit port), resolved.
pub fn upstream_of(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let start = url.find("://").unwrap() + 3;
    let rest = &url[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = &authority[authority.rfind('@').map_or(0, |i| i + 1)..];
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    host.to_socket_addrs().unwrap().next().unwrap()
}

#[test]
fn urls_are_rewritten_to_go_through_the_proxy() {
    let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    assert_eq!(
        via("postgres://postgres@127.0.0.1:5432/test?options=x", addr),
        "postgres://postgres@127.0.0.1:4000/test?options=x"
    );
    assert_eq!(
        via("postgres://u:p@db/test", addr),
        "postgres://u:p@127.0.0.1:4000/test"
    );
    assert_eq!(
        upstream_of("postgres://postgres@127.0.0.1:5432/test"),
        "127.0.0.1:5432".parse().unwrap()
    );
}
