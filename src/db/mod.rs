//! The data layer: pools on PostgreSQL or SQLite, the guard every query runs under, and the
//! queries themselves (one module per area).
//!
//! Two concrete pool types rather than sqlx's `Any` driver (which lacks timestamps). The same
//! SQL text runs on both backends (`$1` placeholders work on SQLite too); [`with_conn!`]
//! expands a query once per backend.

pub mod audit;
pub mod breaker;
pub mod errors;
pub mod history;
pub mod hold_events;
pub mod hold_history;
pub mod login_attempts;
pub mod lots;
pub mod maintenance;
pub mod migrate;
pub mod pages;
pub mod prepare;
pub mod reference;
pub mod report_jobs;
pub mod rollup;
pub mod sessions;
pub mod stats;
pub mod tools;
pub mod wip;

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use tokio::sync::Semaphore;

use crate::config::{DatabaseTarget, Settings};
use breaker::{Breaker, Clock, SystemClock};
pub use errors::DbError;
pub use prepare::prepare;
use stats::{CallStats, PoolStats};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgresql",
            Self::Sqlite => "sqlite",
        }
    }
}

/// The concrete pool of one backend.
#[derive(Debug, Clone)]
pub enum PoolKind {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl PoolKind {
    /// Closes the pool: waits for connections on loan to come back, then closes them all.
    pub async fn close(&self) {
        match self {
            Self::Postgres(p) => p.close().await,
            Self::Sqlite(p) => p.close().await,
        }
    }
}

/// One named pool with the bookkeeping the error mapping needs.
pub struct DbPool {
    /// `request`, `slow` or `health`: also the PostgreSQL `application_name` suffix.
    pub name: &'static str,
    pub kind: PoolKind,
    /// Connections currently handed out by [`DbPool::acquire`]; tells an exhausted pool
    /// (all in use) from one that cannot open connections when an acquire times out.
    in_use: AtomicU32,
    max: u32,
    /// Client-side bound on one call (PostgreSQL also enforces `statement_timeout`).
    call_timeout: Duration,
    retry_after: u64,
    /// The database's circuit breaker (shared by the request and slow pools; the health pool
    /// has none, so probes always see the real state).
    breaker: Option<Arc<Breaker>>,
    /// Concurrency limit of the slow pool, with its bounded wait.
    limiter: Option<(Semaphore, Duration)>,
    /// Outcomes and latencies of recent calls.
    calls: CallStats,
    /// Acquires that waited (1 ms or more) for a connection, and their total wait.
    waits: AtomicU64,
    waited_us: AtomicU64,
    /// The health probe's connection between probes, outside the sqlx pool (see
    /// [`health_ping`]).
    kept: parking_lot::Mutex<Option<KeptConn>>,
}

/// A connection detached from its pool and kept by [`health_ping`].
enum KeptConn {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

/// A connection on loan from a [`DbPool`]; returns itself to the pool on drop — unless a call
/// on it did not finish cleanly (timed out, lost its connection, or was cancelled because the
/// caller went away). Such a connection is detached and its socket closed at once: returned,
/// sqlx would first ping it, and on a connection whose server went silent that ping hangs while
/// holding the pool's slot (the health pool has one), so every later probe timed out at acquire
/// until TCP gave up.
pub struct Held<'a, DB: sqlx::Database> {
    conn: Option<PoolConnection<DB>>,
    in_use: &'a AtomicU32,
    /// False from the start of a call until it ends without a timeout or connection error.
    clean: bool,
}

impl<DB: sqlx::Database> Held<'_, DB> {
    /// A call starts: until [`Held::finished`] says otherwise, the connection is not reusable.
    pub fn calling(&mut self) -> &mut DB::Connection {
        self.clean = false;
        self
    }

    /// The call ended with `result`: reusable unless it timed out or lost its connection.
    pub fn finished<T>(&mut self, result: &Result<T, DbError>) {
        self.clean = !matches!(
            result,
            Err(DbError::Timeout { .. } | DbError::Connection { .. })
        );
    }
}

impl<DB: sqlx::Database> Held<'_, DB> {
    /// Takes the connection out of the pool for good (its slot is free at once).
    fn detach(mut self) -> DB::Connection {
        self.clean = true;
        self.conn.take().expect("held until dropped").detach()
    }
}

impl<DB: sqlx::Database> Deref for Held<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl<DB: sqlx::Database> DerefMut for Held<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl<DB: sqlx::Database> Drop for Held<'_, DB> {
    fn drop(&mut self) {
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        if !self.clean
            && let Some(conn) = self.conn.take()
        {
            // Leaves the pool (its slot is free at once); dropping it closes the socket.
            drop(conn.detach());
        }
    }
}

impl DbPool {
    pub fn backend(&self) -> Backend {
        match self.kind {
            PoolKind::Postgres(_) => Backend::Postgres,
            PoolKind::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub fn max_connections(&self) -> u32 {
        self.max
    }

    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Connections open right now (in use or idle; the health probe's kept one counts).
    pub fn size(&self) -> u32 {
        let pooled = match &self.kind {
            PoolKind::Postgres(p) => p.size(),
            PoolKind::Sqlite(p) => p.size(),
        };
        pooled + self.kept()
    }

    pub fn idle(&self) -> u32 {
        let pooled = match &self.kind {
            PoolKind::Postgres(p) => p.num_idle() as u32,
            PoolKind::Sqlite(p) => p.num_idle() as u32,
        };
        pooled + self.kept()
    }

    fn kept(&self) -> u32 {
        u32::from(self.kept.lock().is_some())
    }

    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    pub fn retry_after(&self) -> u64 {
        self.retry_after
    }

    /// Borrows a connection, classifying a timeout as exhaustion only when every connection
    /// really is in use; otherwise the database could not be reached in time.
    pub async fn acquire<'a, DB: sqlx::Database>(
        &'a self,
        pool: &sqlx::Pool<DB>,
    ) -> Result<Held<'a, DB>, DbError> {
        let started = Instant::now();
        let acquired = pool.acquire().await;
        let waited = started.elapsed();
        if waited >= Duration::from_millis(1) {
            self.waits.fetch_add(1, Ordering::Relaxed);
            self.waited_us
                .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
        }
        match acquired {
            Ok(conn) => {
                self.in_use.fetch_add(1, Ordering::Relaxed);
                Ok(Held {
                    conn: Some(conn),
                    in_use: &self.in_use,
                    clean: true,
                })
            }
            Err(sqlx::Error::PoolTimedOut) if self.in_use() < self.max => {
                Err(DbError::Connection {
                    detail: format!(
                        "no connection could be opened within the {} pool's acquire timeout",
                        self.name
                    ),
                    retry_after: self.retry_after,
                })
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    pub fn classify(&self, error: sqlx::Error) -> DbError {
        DbError::classify(error, self.retry_after)
    }

    /// Bounds one call on a held connection by the pool's call timeout.
    pub async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, DbError> {
        let limit = match self.kind {
            // The server cancels at `statement_timeout`; this is only the backstop.
            PoolKind::Postgres(_) => self.call_timeout + Duration::from_secs(2),
            PoolKind::Sqlite(_) => self.call_timeout,
        };
        let started = Instant::now();
        let result = match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| self.classify(e)),
            Err(_) => Err(DbError::Timeout {
                detail: format!("the call exceeded {} ms", limit.as_millis()),
                retry_after: self.retry_after,
            }),
        };
        if result.is_ok() {
            self.calls.latency(started.elapsed());
        }
        result
    }

    /// Runs one data-layer operation (acquire + call) under the pool's concurrency limit and
    /// the circuit breaker, recording its outcome. [`with_conn!`] wraps every query in it.
    pub async fn guard<T>(
        &self,
        operation: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        let _turn = match &self.limiter {
            None => None,
            Some((semaphore, wait)) => match tokio::time::timeout(*wait, semaphore.acquire()).await
            {
                Ok(Ok(permit)) => Some(permit),
                _ => {
                    return Err(DbError::Saturated {
                        retry_after: self.retry_after,
                    });
                }
            },
        };
        let ticket = match &self.breaker {
            None => None,
            Some(b) => Some(b.admit().map_err(|refused| DbError::CircuitOpen {
                retry_after: refused.retry_after_seconds(),
            })?),
        };
        let result = operation.await;
        self.calls.outcome(result.as_ref().err());
        if let Some(ticket) = ticket {
            ticket.settle(match &result {
                Err(e) if e.counts_as_failure() => Err(e.to_string()),
                _ => Ok(()),
            });
        }
        result
    }

    /// Size, use and saturation now, plus recent call figures.
    pub fn stats(&self) -> PoolStats {
        let in_use = self.in_use();
        PoolStats {
            name: self.name,
            size: self.size(),
            in_use,
            idle: self.idle(),
            max: self.max,
            saturation: if self.max == 0 {
                0.0
            } else {
                f64::from(in_use) / f64::from(self.max)
            },
            calls: self.calls.snapshot(),
            waits: self.waits.load(Ordering::Relaxed),
            waited_seconds: self.waited_us.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }

    pub async fn close(&self) {
        let kept = self.kept.lock().take();
        match kept {
            Some(KeptConn::Postgres(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
            }
            Some(KeptConn::Sqlite(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
            }
            None => {}
        }
        self.kind.close().await;
    }
}

/// Runs one call on a connection of `$pool`, written once and compiled for both backends:
/// `with_conn!(pool, |conn| sqlx::query("…").fetch_all(&mut *conn))`. The whole operation
/// runs under [`DbPool::guard`] (breaker, concurrency limit) and the call under
/// [`DbPool::bounded`] (call timeout); errors arrive classified as [`DbError`]. A connection
/// whose call timed out, failed on the connection or was cancelled is discarded ([`Held`]).
#[macro_export]
macro_rules! with_conn {
    ($pool:expr, |$conn:ident| $call:expr) => {{
        let pool: &$crate::db::DbPool = $pool;
        pool.guard(async {
            match &pool.kind {
                $crate::db::PoolKind::Postgres(p) => {
                    let mut held = pool.acquire(p).await?;
                    let result = {
                        let $conn: &mut ::sqlx::PgConnection = held.calling();
                        pool.bounded($call).await
                    };
                    held.finished(&result);
                    result
                }
                $crate::db::PoolKind::Sqlite(p) => {
                    let mut held = pool.acquire(p).await?;
                    let result = {
                        let $conn: &mut ::sqlx::SqliteConnection = held.calling();
                        pool.bounded($call).await
                    };
                    held.finished(&result);
                    result
                }
            }
        })
        .await
    }};
}

/// Every pool of the process on one backend.
pub struct Database {
    pub backend: Backend,
    /// Serves API requests (`DB_POOL_SIZE` + `DB_MAX_OVERFLOW`).
    pub request: DbPool,
    /// Long report queries, behind `DB_SLOW_MAX_CONCURRENT`.
    pub slow: DbPool,
    /// `/health` only: one connection kept warm, short timeouts, no breaker.
    pub health: DbPool,
    /// The breaker the request and slow pools share.
    pub breaker: Arc<Breaker>,
    /// The URL with its password masked, for logs and status pages.
    pub display_url: String,
}

/// How one pool is built.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub name: &'static str,
    pub min_connections: u32,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub call_timeout: Duration,
    pub retry_after: u64,
    /// Keep idle connections open forever (the health pool stays warm).
    pub keep_idle: bool,
}

impl Database {
    /// Builds the pools without connecting: start-up never fails because the database is
    /// down; requests then answer with the degraded contract until it is back.
    pub fn connect_lazy(settings: &Settings) -> anyhow::Result<Self> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// As [`Database::connect_lazy`], with the breaker on `clock` (tests move time by hand).
    #[cfg(any(test, feature = "test-support"))]
    pub fn connect_lazy_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        Self::with_clock(settings, clock)
    }

    fn with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = &settings.database;
        let res = &settings.resilience;
        let retry_after = res.retry_after_seconds;
        let breaker = Breaker::new(res.breaker.clone(), clock);
        let mut request = open_pool(
            &db.target,
            &PoolSpec {
                name: "request",
                min_connections: 0,
                max_connections: db.max_connections(),
                acquire_timeout: db.pool_timeout,
                call_timeout: db.call_timeout,
                retry_after,
                keep_idle: false,
            },
        )?;
        request.breaker = Some(breaker.clone());
        let mut slow = open_pool(
            &db.target,
            &PoolSpec {
                name: "slow",
                min_connections: 0,
                max_connections: res.slow.size,
                acquire_timeout: res.slow.pool_timeout,
                call_timeout: res.slow.call_timeout,
                retry_after,
                keep_idle: false,
            },
        )?;
        slow.breaker = Some(breaker.clone());
        slow.limiter = Some((
            Semaphore::new(res.slow.max_concurrent as usize),
            res.slow.max_wait,
        ));
        let health = open_pool(
            &db.target,
            &PoolSpec {
                name: "health",
                // Not sqlx's min_connections: its maintenance task keeps retrying while the
                // database is down and holds `close()` up. Kept warm by `open_health_connection` and
                // by the probes themselves, with idle connections never reaped.
                min_connections: 0,
                max_connections: res.health.size,
                acquire_timeout: res.health.pool_timeout,
                call_timeout: res.health.call_timeout,
                retry_after,
                keep_idle: true,
            },
        )?;
        Ok(Self {
            backend: request.backend(),
            request,
            slow,
            health,
            breaker,
            display_url: db.display_url(),
        })
    }

    /// Every pool, in the order they are closed at shutdown.
    pub fn pools(&self) -> Vec<&DbPool> {
        vec![&self.request, &self.slow, &self.health]
    }

    /// Opens the health pool's connection now, so the first probe does not pay for it.
    pub async fn open_health_connection(&self) {
        if let Err(error) = health_ping(&self.health).await {
            tracing::warn!(error = %error, "health pool could not connect yet");
        }
    }

    /// Closes every pool (waits for connections on loan to come back).
    pub async fn close(&self) {
        for pool in self.pools() {
            pool.close().await;
        }
    }
}

/// Builds one lazily connecting pool for `target`.
pub fn open_pool(target: &DatabaseTarget, spec: &PoolSpec) -> anyhow::Result<DbPool> {
    let kind = match target {
        DatabaseTarget::Postgres {
            url,
            application_name,
        } => {
            let options = PgConnectOptions::from_str(url.expose_secret())
                .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?
                .application_name(&format!("{application_name}/{}", spec.name))
                .options([(
                    "statement_timeout",
                    spec.call_timeout.as_millis().to_string(),
                )]);
            let mut pool = PgPoolOptions::new()
                .min_connections(spec.min_connections)
                .max_connections(spec.max_connections)
                .acquire_timeout(spec.acquire_timeout)
                .test_before_acquire(false);
            if spec.keep_idle {
                pool = pool.idle_timeout(None).max_lifetime(None);
            }
            let pool = pool.connect_lazy_with(options);
            PoolKind::Postgres(pool)
        }
        DatabaseTarget::Sqlite { path, .. } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("while creating {}", dir.display()))?;
            }
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(spec.call_timeout.min(Duration::from_secs(5)))
                .foreign_keys(true)
                // 512 KiB of page cache per connection instead of SQLite's 2 MB: every
                // connection that scanned `lots` kept its full cache for the worker's life
                // (~2 MB each, outside the snapshot), while the operating system caches the
                // file anyway and the reads that matter are single scans.
                .pragma("cache_size", "-512");
            let mut pool = SqlitePoolOptions::new()
                .min_connections(spec.min_connections)
                .max_connections(spec.max_connections)
                .acquire_timeout(spec.acquire_timeout)
                .test_before_acquire(false);
            if spec.keep_idle {
                pool = pool.idle_timeout(None).max_lifetime(None);
            }
            let pool = pool.connect_lazy_with(options);
            PoolKind::Sqlite(pool)
        }
    };
    Ok(DbPool {
        name: spec.name,
        kind,
        in_use: AtomicU32::new(0),
        max: spec.max_connections,
        call_timeout: spec.call_timeout,
        retry_after: spec.retry_after,
        breaker: None,
        limiter: None,
        calls: CallStats::default(),
        waits: AtomicU64::new(0),
        waited_us: AtomicU64::new(0),
        kept: parking_lot::Mutex::new(None),
    })
}

/// `SELECT 1` on `pool`; the round trip time.
///
/// The probe keeps its connection itself between probes instead of returning it to the sqlx
/// pool: sqlx pings every connection it takes back, without a time limit, and while the
/// database is silent that ping held the health pool's only slot, so every probe timed out at
/// acquire until TCP gave up (tens of seconds after the database was back). Here a connection
/// that answered is kept for the next probe, and one whose call failed, timed out or was
/// cancelled is dropped (its socket closed); the pool only opens new connections.
pub async fn health_ping(pool: &DbPool) -> Result<Duration, DbError> {
    macro_rules! select_one {
        ($conn:expr) => {
            pool.bounded(sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one($conn))
                .await?
        };
    }
    let started = Instant::now();
    pool.guard(async {
        let kept = pool.kept.lock().take();
        match (&pool.kind, kept) {
            (PoolKind::Postgres(_), Some(KeptConn::Postgres(mut conn))) => {
                select_one!(&mut conn);
                *pool.kept.lock() = Some(KeptConn::Postgres(conn));
            }
            (PoolKind::Postgres(p), _) => {
                let mut conn = pool.acquire(p).await?.detach();
                select_one!(&mut conn);
                *pool.kept.lock() = Some(KeptConn::Postgres(conn));
            }
            (PoolKind::Sqlite(_), Some(KeptConn::Sqlite(mut conn))) => {
                select_one!(&mut conn);
                *pool.kept.lock() = Some(KeptConn::Sqlite(conn));
            }
            (PoolKind::Sqlite(p), _) => {
                let mut conn = pool.acquire(p).await?.detach();
                select_one!(&mut conn);
                *pool.kept.lock() = Some(KeptConn::Sqlite(conn));
            }
        }
        Ok(())
    })
    .await?;
    Ok(started.elapsed())
}
