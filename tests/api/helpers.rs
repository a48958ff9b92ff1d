//! The `TestApp` harness: the production app on port 0, on a database of its own.
//!
//! SQLite: a file in a temporary directory. PostgreSQL (when `MES_TEST_DATABASE_URL` is set): a
//! schema of its own in that database, selected through the URL's `search_path` option and
//! dropped when the test ends. Without the variable the PostgreSQL variants skip with a
//! visible message — except under `CI=true`, where a missing service is a failure.

use std::net::SocketAddr;
use std::time::Duration;

use mes_dashboard::app::{App, AppState};
use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::seed::{self, SeedOptions};
use mes_dashboard::serve::{self, Running};
use serde_json::Value;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url("postgres").is_some() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        }
    )+};
}

/// The PostgreSQL test URL; `None` (with a message) when unset outside CI.
pub fn postgres_url(test: &str) -> Option<String> {
    service_url("MES_TEST_DATABASE_URL", test)
}

fn service_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{var} must be set when CI=true: the {test} test needs the service");
            }
            // Straight to the process's stderr, past the test harness's capture, once per
            // variable: a skipped suite must be visible.
            static ANNOUNCED: std::sync::Mutex<Vec<&'static str>> =
                std::sync::Mutex::new(Vec::new());
            let mut announced = ANNOUNCED.lock().unwrap_or_else(|e| e.into_inner());
            let key: &'static str = String::leak(var.to_string());
            if !announced.contains(&key) {
                announced.push(key);
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED: {var} is not set, so the tests that need it pass without running \
                     (first: {test}). Set it to run them; CI=true makes this an error."
                );
            }
            None
        }
    }
}

/// A database that lives as long as the test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
                Self {
                    url,
                    _dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let base = postgres_url("postgres").expect("checked by the caller");
                let schema = format!("t_{:016x}", rand_u64());
                let admin = sqlx::PgPool::connect(&base)
                    .await
                    .expect("MES_TEST_DATABASE_URL must accept connections");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .expect("create the test schema");
                admin.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Self {
                    url,
                    _dir: None,
                    schema: Some((base, schema)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else {
            return;
        };
        // Drop runs inside the test's runtime: clean up from a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&base).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&admin)
                    .await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

pub fn rand_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// The small factory tests seed: quick to write, every status and workcenter present.
pub fn small_factory() -> SeedOptions {
    SeedOptions {
        seed: 7,
        lots: 400,
        tools: 40,
        days: 2,
        holds_per_day: None,
        now: chrono::Utc::now(),
    }
}

/// Migrates and seeds `url` with `opts` before any app starts on it.
pub async fn seed_database(url: &str, opts: &SeedOptions) -> seed::Factory {
    let settings = Settings::for_tests(url, &[]);
    let db = Database::connect_lazy(&settings).expect("database settings");
    mes_dashboard::db::migrate::run(&db.request)
        .await
        .expect("migrate the test database");
    let factory = seed::generate(opts);
    seed::insert(&db.request, &factory, false)
        .await
        .expect("seed the test database");
    db.close().await;
    factory
}

/// Starts the app on `listener` the way the binary does with `WORKERS=0` (see `serve.rs`):
/// prepare the database, build the app, start it.
pub async fn start_app(listener: TcpListener, settings: Settings) -> Running {
    mes_dashboard::db::prepare(&settings)
        .await
        .expect("the database is prepared");
    let app = App::build(settings, None).expect("the app is built");
    serve::start(listener, app).await.expect("the app starts")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub factory: Option<seed::Factory>,
    running: Option<Running>,
    db_url: String,
    /// The settings it started with (defaults and the test's), reused by `another_instance`.
    env: Vec<(String, String)>,
    /// `None` for a second instance on another app's database.
    _db: Option<TestDb>,
}

pub struct TestAppBuilder {
    backend: Backend,
    env: Vec<(String, String)>,
    seed: Option<SeedOptions>,
    proxy: Option<SocketAddr>,
}

impl TestAppBuilder {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn seed(mut self, opts: Option<SeedOptions>) -> Self {
        self.seed = opts;
        self
    }

    /// The app reaches PostgreSQL through this proxy (seeding goes direct).
    pub fn through_proxy(mut self, proxy: SocketAddr) -> Self {
        self.proxy = Some(proxy);
        self
    }

    pub async fn start(self) -> TestApp {
        let db = TestDb::new(self.backend).await;
        let factory = match &self.seed {
            Some(opts) => Some(seed_database(&db.url, opts).await),
            None => None,
        };
        let mut env = auth_defaults();
        env.extend(self.env.iter().cloned());
        let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let url = match self.proxy {
            Some(addr) => crate::faults::via(&db.url, addr),
            None => db.url.clone(),
        };
        let settings = Settings::for_tests(&url, &extra);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let running = start_app(listener, settings).await;
        TestApp {
            addr: running.addr,
            client: client(),
            factory,
            running: Some(running),
            db_url: db.url.clone(),
            env,
            _db: Some(db),
        }
    }
}

/// A cookie-keeping client that never follows redirects (tests assert on them).
pub fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl TestApp {
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            env: Vec::new(),
            seed: Some(small_factory()),
            proxy: None,
        }
    }

    /// A seeded app with default test settings.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::builder(backend).start().await
    }

    /// The app's own database URL (direct, not through any proxy).
    pub fn database_url(&self) -> String {
        self.db_url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn state(&self) -> &AppState {
        &self.running.as_ref().expect("running").state
    }

    /// How many health probes the server answered below the router.
    pub fn probes_answered(&self) -> u64 {
        self.running.as_ref().expect("running").probes.answered()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn shutdown(
        mut self,
    ) -> (
        mes_dashboard::http::server::DrainReport,
        mes_dashboard::lifecycle::ShutdownReport,
    ) {
        self.running.take().expect("running").shutdown().await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop_token().cancel();
        }
    }
}

/// Status and parsed JSON body.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
    (status, value)
}

/// Asserts the error envelope and returns it.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "status; body: {body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
    assert!(body["meta"]["timestamp"].is_string(), "{body}");
}

// --- Login, sessions and CSRF -----------------------------------------------------------------

/// The password of every test user.
pub const TEST_PASSWORD: &str = "correct horse battery staple";
/// A regular user and an administrator (`ADMIN_EMAILS`), present in every `TestApp`.
pub const USER: &str = "alice";
pub const ADMIN: &str = "admin";

/// `LOCAL_AUTH_USERS` for the test users, hashed once with argon2 parameters cheap enough for
/// tests (the hash carries its parameters; the app verifies with them).
pub fn local_auth_users() -> &'static str {
    static USERS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use argon2::password_hash::PasswordHasher;
        let params = argon2::Params::new(8, 1, 1, None).expect("argon2 parameters");
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let hash = hasher
            .hash_password(TEST_PASSWORD.as_bytes())
            .expect("hash the test password")
            .to_string();
        format!("{USER}:alice@example.com:{hash};{ADMIN}:admin@example.com:{hash}")
    });
    &USERS
}

/// Settings every `TestApp` starts with (a test's own `env` wins): the test users and a signing
/// key of its own (shared with `another_instance`). CSRF is enforced by default in testing mode
/// too, so the tests see what production sees.
fn auth_defaults() -> Vec<(String, String)> {
    let key = mes_dashboard::config::secret::generate();
    [
        ("SECRET_KEY", key.as_str()),
        ("LOCAL_AUTH_USERS", local_auth_users()),
        ("ADMIN_EMAILS", "admin@example.com"),
        // Tests log in far more often than people; the limit's own test sets it back to 5.
        ("LOGIN_RATE_LIMIT", "10000"),
        ("LOGIN_FAILURE_LIMIT_PER_USER", "10000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl TestApp {
    /// Another instance of the app on this app's database (sessions, pages, … are shared),
    /// with the default test settings plus `env`.
    pub async fn another_instance(&self, env: &[(&str, &str)]) -> TestApp {
        let mut all = self.env.clone();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let extra: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let settings = Settings::for_tests(&self.db_url, &extra);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let running = start_app(listener, settings).await;
        TestApp {
            addr: running.addr,
            client: client(),
            factory: None,
            running: Some(running),
            db_url: self.db_url.clone(),
            env: all,
            _db: None,
        }
    }

    /// Another client (a cookie jar of its own: another browser) on this same instance.
    pub fn another_session(&self) -> TestApp {
        TestApp {
            addr: self.addr,
            client: client(),
            factory: None,
            running: None,
            db_url: self.db_url.clone(),
            env: self.env.clone(),
            _db: None,
        }
    }

    /// A fresh CSRF token of this client's session (creating an anonymous session if needed).
    pub async fn csrf_token(&self) -> String {
        csrf_token_of(&self.client, &self.url("/api/auth/csrf")).await
    }

    /// Logs this client in as `user` (password [`TEST_PASSWORD`]) through
    /// `POST /api/auth/login`; returns the new session's CSRF token.
    pub async fn login_as(&self, user: &str) -> String {
        let token = self.csrf_token().await;
        let response = self
            .client
            .post(self.url("/api/auth/login"))
            .header("x-csrf-token", token)
            .json(&serde_json::json!({"username": user, "password": TEST_PASSWORD}))
            .send()
            .await
            .expect("request sent");
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "login as {user}: {body}");
        body["data"]["csrf_token"]
            .as_str()
            .expect("the login answer carries the new CSRF token")
            .to_string()
    }

    /// Logs in as the regular test user.
    pub async fn login_as_user(&self) -> String {
        self.login_as(USER).await
    }

    /// Logs in as the test administrator.
    pub async fn login_as_admin(&self) -> String {
        self.login_as(ADMIN).await
    }

    /// Sends `method` with a JSON body and this session's CSRF token in `X-CSRF-Token`.
    pub async fn send_json_with_csrf(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let token = self.csrf_token().await;
        self.client
            .request(method, self.url(path))
            .header("x-csrf-token", token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json_with_csrf(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json_with_csrf(reqwest::Method::POST, path, body)
            .await
    }

    pub async fn put_json_with_csrf(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json_with_csrf(reqwest::Method::PUT, path, body)
            .await
    }

    pub async fn patch_json_with_csrf(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json_with_csrf(reqwest::Method::PATCH, path, body)
            .await
    }
}

/// A client without a cookie jar: each request names its session in a `Cookie` header.
pub fn bare_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The app's reqwest is built without a default TLS provider (it hands the LDAP client a
/// preconfigured ring configuration); test clients use ring as the process default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A fresh CSRF token from `GET /api/auth/csrf` with `client`'s cookies.
pub async fn csrf_token_of(client: &reqwest::Client, url: &str) -> String {
    let (status, body) = json(client.get(url).send().await.expect("request sent")).await;
    assert_eq!(status, 200, "GET /api/auth/csrf: {body}");
    body["data"]["csrf_token"]
        .as_str()
        .expect("a token")
        .to_string()
}

/// The `mes_session=…` pair a response sets, if it sets one.
pub fn set_session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mes_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

// --- Redis ------------------------------------------------------------------------------------

/// The Redis test URL; `None` (with a message) when unset outside CI.
pub fn redis_url(test: &str) -> Option<String> {
    service_url("MES_TEST_REDIS_URL", test)
}

/// A Redis server of the test's own, on a free port, killed when dropped: the only Redis a
/// test may stop.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart().await;
        redis
    }

    /// Starts a fresh, empty server on the same port (after [`PrivateRedis::kill`]): Redis
    /// coming back, as clients see it.
    pub async fn restart(&mut self) {
        self.kill();
        let port = self.port;
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (the private Redis tests need it)");
        self.child = Some(child);
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the private redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The stop hooks of an app, in the order the shutdown registry runs them.
pub const SHUTDOWN_ORDER: [&str; 12] = [
    "cache_updater",
    "equipment_sync",
    "stream_sessions",
    "page_registry",
    "session_sweeper",
    "jobs",
    "job_sweeper",
    "health_watch",
    "redis",
    "pool.request",
    "pool.slow",
    "pool.health",
];

/// Collects a child process's standard output and error, line by line, as it runs.
pub fn capture_output(child: &mut std::process::Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    for pipe in [
        Box::new(child.stdout.take().expect("stdout piped")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr piped")),
    ] {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut logs = logs.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
    }
    logs
}
