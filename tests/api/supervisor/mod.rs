//! The supervisor as real processes: the binary started with `serve`, worker processes,
//! signals, and HTTP on a real port.

mod audit;
mod lifecycle;
mod notify;
mod reload;
mod restart_api;
mod watchdog;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestDb, seed_database, small_factory};

pub const BIN: &str = env!("CARGO_BIN_EXE_mes-dashboard");

/// A supervisor process with its workers, its own database and runtime directory.
pub struct Supervisor {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    client: reqwest::Client,
    /// `Cookie` header of the logged-in test administrator.
    pub cookie: String,
    /// That session's CSRF token, for state-changing requests.
    pub csrf: String,
}

/// What a supervisor test runs on: a seeded SQLite database and a runtime directory, which
/// outlive one supervisor (a restarted supervisor reuses them).
pub struct Site {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Site {
    pub async fn new() -> Self {
        Self::on(Backend::Sqlite).await
    }

    /// A site on `backend` (PostgreSQL: a schema of the test database; the caller checks it
    /// is configured).
    pub async fn on(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        seed_database(&db.url, &small_factory()).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            db,
            dir: tempfile::tempdir().unwrap(),
            port,
        }
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// Starts `binary serve` with `WORKERS=workers`, logs the test administrator in and waits
    /// until the first generation serves.
    pub async fn start(&self, binary: &Path, workers: usize, env: &[(&str, &str)]) -> Supervisor {
        self.launch(binary, workers, env, true).await
    }

    /// Like [`Site::start`] without logging in (nobody can while the database is down): waits
    /// until a worker answers `/health/live`. The status API is then out of reach.
    pub async fn start_anonymous(
        &self,
        binary: &Path,
        workers: usize,
        env: &[(&str, &str)],
    ) -> Supervisor {
        self.launch(binary, workers, env, false).await
    }

    async fn launch(
        &self,
        binary: &Path,
        workers: usize,
        env: &[(&str, &str)],
        login: bool,
    ) -> Supervisor {
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MES_ENV", "testing")
            .env("BIND", format!("127.0.0.1:{}", self.port))
            .env("DATABASE_URL", &self.db.url)
            .env("WORKERS", workers.to_string())
            .env("WATCHDOG_RUNTIME_DIR", self.runtime())
            .env("RUST_LOG", "info,sqlx=warn,hyper=warn")
            .env("LOG_FORMAT", "text")
            .env("KEEPALIVE_DRAIN_SECONDS", "1")
            .env("GRACEFUL_TIMEOUT", "10")
            .env("LOCAL_AUTH_USERS", crate::helpers::local_auth_users())
            .env("ADMIN_EMAILS", "admin@example.com")
            .env("LOGIN_RATE_LIMIT", "10000")
            .env("CSRF_MODE", "enforce")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the supervisor");
        let logs = crate::helpers::capture_output(&mut child);
        let mut sup = Supervisor {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], self.port)),
            logs,
            client: fresh_client(),
            cookie: String::new(),
            csrf: String::new(),
        };
        if login {
            sup.login(Duration::from_secs(60)).await;
            sup.wait_for(
                "the first generation to serve",
                Duration::from_secs(60),
                |s| s["generation"].as_u64() >= Some(1) && serving(s, None).len() == workers,
            )
            .await;
        } else {
            sup.wait_for_live(Duration::from_secs(60)).await;
        }
        sup
    }
}

/// A client that opens a new connection for every request (no pooling), so that polling never
/// pins a connection to a worker that is draining.
pub fn fresh_client() -> reqwest::Client {
    crate::helpers::install_crypto_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// Pids of the serving workers of `generation` (any generation when `None`).
pub fn serving(status: &Value, generation: Option<u64>) -> Vec<u32> {
    status["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["state"] == "serving")
        .filter(|w| generation.is_none_or(|g| w["generation"].as_u64() == Some(g)))
        .map(|w| w["pid"].as_u64().unwrap() as u32)
        .collect()
}

pub fn process_alive(pid: u32) -> bool {
    mes_dashboard::supervisor::files::process_alive(pid as i32)
}

pub fn send_signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

impl Supervisor {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Logs the test administrator in (the session is shared by every worker through the
    /// database; an administrator may use the WIP APIs too) and keeps its cookie and CSRF
    /// token. Retries until a worker answers, bounded.
    async fn login(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            match self.try_login().await {
                Ok(()) => return,
                Err(why) if started.elapsed() > limit => panic!(
                    "could not log in within {limit:?}: {why}; logs:\n{}",
                    self.logs()
                ),
                Err(_) => {}
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("the supervisor exited ({exit}); logs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn try_login(&mut self) -> Result<(), String> {
        let anonymous = self
            .client
            .get(self.url("/api/auth/csrf"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let cookie =
            crate::helpers::set_session_cookie(&anonymous).ok_or("no anonymous session cookie")?;
        let (_, body) = crate::helpers::json(anonymous).await;
        let token = body["data"]["csrf_token"].as_str().ok_or("no CSRF token")?;
        let response = self
            .client
            .post(self.url("/api/auth/login"))
            .header("cookie", &cookie)
            .header("x-csrf-token", token)
            .json(&serde_json::json!({
                "username": crate::helpers::ADMIN,
                "password": crate::helpers::TEST_PASSWORD,
            }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let cookie = crate::helpers::set_session_cookie(&response);
        let (status, body) = crate::helpers::json(response).await;
        match (status, cookie) {
            (200, Some(cookie)) => {
                self.cookie = cookie;
                self.csrf = body["data"]["csrf_token"]
                    .as_str()
                    .ok_or("no CSRF token after login")?
                    .to_string();
                Ok(())
            }
            _ => Err(format!("login answered {status}: {body}")),
        }
    }

    /// Waits until a worker answers `/health/live`, bounded.
    async fn wait_for_live(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            let live = self.client.get(self.url("/health/live")).send().await;
            if live.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("the supervisor exited ({exit}); logs:\n{}", self.logs());
            }
            assert!(
                started.elapsed() < limit,
                "no worker answered within {limit:?}; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// `GET /admin/api/worker/status` → its `data`; `None` when it does not answer.
    pub async fn try_status(&self) -> Option<Value> {
        let response = self
            .client
            .get(self.url("/admin/api/worker/status"))
            .header("cookie", &self.cookie)
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        (body["success"] == true).then(|| body["data"].clone())
    }

    /// Polls the status until `ready` holds, bounded; panics with the logs otherwise.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Some(status) = self.try_status().await {
                if ready(&status) {
                    return status;
                }
                last = Some(status);
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!(
                    "the supervisor exited ({exit}) while waiting for {what}; logs:\n{}",
                    self.logs()
                );
            }
            if started.elapsed() > limit {
                panic!(
                    "timed out after {limit:?} waiting for {what}; last status: {}\nlogs:\n{}",
                    serde_json::to_string_pretty(&last).unwrap_or_default(),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the logs contain `text`, bounded.
    pub async fn wait_for_log(&self, text: &str, limit: Duration) {
        let started = Instant::now();
        while !self.logs().contains(text) {
            assert!(
                started.elapsed() < limit,
                "no {text:?} in the logs within {limit:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the supervisor to exit, bounded; returns its status and how long it took.
    pub fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "the supervisor did not exit within {limit:?}; logs:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first: the workers drain and exit with it. SIGKILL if that hangs.
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
