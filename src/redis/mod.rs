//! The one Redis client of the process, shared by the WIP cache (L2, lock, publications), the
//! sessions, the login limit and the equipment status; its own module because none of them
//! owns it.
//!
//! Redis is an accelerator, never a dependency: every command is bounded by
//! `REDIS_COMMAND_TIMEOUT_MS`, and after a failure the client answers "unavailable" at once for
//! a short back-off instead of making each request wait for the timeout again. Callers treat
//! any error as a cache miss and carry on from L1 or the database. Pub/sub listeners run
//! through [`Redis::listen`] ([`subscribe`]).

pub mod subscribe;

pub use subscribe::Subscriber;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Cmd, FromRedisValue, Pipeline};
use parking_lot::{Mutex, RwLock};
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

/// How long a failed Redis is skipped before the next command tries it again.
const BACK_OFF: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("Redis is not configured (REDIS_URL unset)")]
    Disabled,
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error (wrong type, script error, …): a bug, not an outage.
    #[error("Redis rejected the command: {0}")]
    Command(String),
}

/// A snapshot of the client's state for health reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RedisStatus {
    pub enabled: bool,
    pub available: bool,
    pub last_error: Option<String>,
}

struct Connected {
    client: ::redis::Client,
    manager: ConnectionManager,
    timeout: Duration,
    /// Milliseconds since `epoch` until which commands fail fast; 0 when healthy.
    down_until_ms: AtomicU64,
    epoch: Instant,
    last_error: Mutex<Option<String>>,
}

pub struct Redis {
    /// `None` when disabled or closed; an `Arc` so a close waits for no command in flight.
    inner: RwLock<Option<Arc<Connected>>>,
    enabled: bool,
    prefix: String,
    display_url: Option<String>,
    /// Bounds of opening a connection and of one command (pub/sub uses both).
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl Redis {
    /// No Redis: every command answers [`RedisError::Disabled`].
    pub fn disabled(prefix: &str) -> Self {
        Self {
            inner: RwLock::new(None),
            enabled: false,
            prefix: prefix.to_string(),
            display_url: None,
            connect_timeout: Duration::ZERO,
            command_timeout: Duration::ZERO,
        }
    }

    /// A client that connects on first use and reconnects by itself; never fails because
    /// Redis is down, only on a malformed URL.
    pub fn new(settings: &RedisSettings) -> anyhow::Result<Self> {
        let Some(url) = &settings.url else {
            return Ok(Self::disabled(&settings.key_prefix));
        };
        let client = ::redis::Client::open(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.command_timeout));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| anyhow::anyhow!("cannot set up the Redis client: {e}"))?;
        Ok(Self {
            inner: RwLock::new(Some(Arc::new(Connected {
                client,
                manager,
                timeout: settings.command_timeout,
                down_until_ms: AtomicU64::new(0),
                epoch: Instant::now(),
                last_error: Mutex::new(None),
            }))),
            enabled: true,
            prefix: settings.key_prefix.clone(),
            display_url: settings.display_url(),
            connect_timeout: settings.connect_timeout,
            command_timeout: settings.command_timeout,
        })
    }

    fn connected(&self) -> Option<Arc<Connected>> {
        self.inner.read().clone()
    }

    /// Configured (`REDIS_URL` set), whether or not it answers.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Drops the client: later commands answer `Disabled`, and the connection closes once
    /// the commands in flight are done. The shutdown registry calls this.
    pub fn close(&self) {
        self.inner.write().take();
    }

    /// The URL with its password masked.
    pub fn display_url(&self) -> Option<&str> {
        self.display_url.as_deref()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>:<suffix>`: every key and channel of the app.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    /// The underlying client, for dedicated connections (pub/sub).
    fn client(&self) -> Option<::redis::Client> {
        self.connected().map(|c| c.client.clone())
    }

    /// False when disabled, closed, or inside the back-off after a failure.
    pub fn available(&self) -> bool {
        self.connected().is_some_and(|c| !c.backing_off())
    }

    pub fn status(&self) -> RedisStatus {
        RedisStatus {
            enabled: self.enabled(),
            available: self.available(),
            last_error: self.connected().and_then(|c| c.last_error.lock().clone()),
        }
    }

    /// The connection for a command: an error at once when disabled, closed, or backing off
    /// after a failure.
    fn ready(&self) -> Result<Arc<Connected>, RedisError> {
        let c = self.connected().ok_or(RedisError::Disabled)?;
        if c.backing_off() {
            return Err(RedisError::Unavailable(
                "backing off after a failure".into(),
            ));
        }
        Ok(c)
    }

    /// Runs one command under the timeout; fails fast while backing off.
    pub async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        let c = self.ready()?;
        let mut conn = c.manager.clone();
        c.outcome(tokio::time::timeout(c.timeout, cmd.query_async(&mut conn)).await)
    }

    /// Runs a pipeline (atomic when built with `.atomic()`) under the timeout.
    pub async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, RedisError> {
        let c = self.ready()?;
        let mut conn = c.manager.clone();
        c.outcome(tokio::time::timeout(c.timeout, pipe.query_async(&mut conn)).await)
    }

    /// Takes the lock `key` (already prefixed) for `ttl` unless another holder has it
    /// (`SET NX PX`): true when this caller now holds it under `token`.
    pub async fn try_lock(
        &self,
        key: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, RedisError> {
        let answer: Option<String> = self
            .run(
                ::redis::cmd("SET")
                    .arg(key)
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl.as_millis().max(1) as u64),
            )
            .await?;
        Ok(answer.is_some())
    }

    /// PING, ignoring the back-off (health checks and recovery probes); the round trip time.
    pub async fn ping(&self) -> Result<Duration, RedisError> {
        let c = self.connected().ok_or(RedisError::Disabled)?;
        let started = Instant::now();
        let mut conn = c.manager.clone();
        let result: Result<String, RedisError> = c.outcome(
            tokio::time::timeout(c.timeout, ::redis::cmd("PING").query_async(&mut conn)).await,
        );
        result.map(|_| started.elapsed())
    }
}

impl Connected {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn backing_off(&self) -> bool {
        let until = self.down_until_ms.load(Ordering::Relaxed);
        until != 0 && self.now_ms() < until
    }

    fn outcome<T>(
        &self,
        result: Result<::redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, RedisError> {
        let error = match result {
            Ok(Ok(value)) => {
                if self.down_until_ms.swap(0, Ordering::Relaxed) != 0 {
                    tracing::info!("Redis is available again");
                }
                return Ok(value);
            }
            Ok(Err(e))
                if !(e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_unrecoverable_error()) =>
            {
                return Err(RedisError::Command(e.to_string()));
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        let was_up = self.down_until_ms.swap(
            self.now_ms() + BACK_OFF.as_millis() as u64,
            Ordering::Relaxed,
        ) == 0;
        if was_up {
            tracing::warn!(error = %error, "Redis unavailable; serving from memory and the database");
        }
        *self.last_error.lock() = Some(error.clone());
        Err(RedisError::Unavailable(error))
    }
}
