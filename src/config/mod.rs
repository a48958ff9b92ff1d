//! Typed, validated settings (DESIGN §4.1, §7).
//!
//! Everything is read from an [`EnvSource`] and checked before any socket is bound. A load never
//! stops at the first problem: it returns the settings together with every [`Diagnostic`], and
//! callers refuse to run when any of them is an error.

pub mod auth;
pub mod database;
pub mod env;
pub mod equipment;
pub mod holds;
pub mod lifecycle;
pub mod pages;
pub mod redis;
pub mod reports;
pub mod resilience;
pub mod secret;
pub mod supervisor;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use auth::{AuthSettings, CsrfMode};
pub use database::{DatabaseSettings, DatabaseTarget};
pub use env::{Diagnostic, Diagnostics, EnvSource, Reader, Severity};
pub use equipment::EquipmentSettings;
pub use holds::{HoldSettings, HoldType, NonQualityReasons};
pub use lifecycle::LifecycleSettings;
pub use pages::PageSettings;
pub use redis::RedisSettings;
pub use reports::ReportSettings;
pub use resilience::ResilienceSettings;
pub use secret::SecretKeys;
pub use supervisor::SupervisorSettings;

/// Exit code for a configuration the process refuses to run with (`EX_CONFIG` of sysexits.h).
pub const EXIT_CONFIG: u8 = 78;

/// The application version reported in every envelope's `meta.app_version`.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Testing,
    Staging,
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Testing => "testing",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }

    /// Staging and production: the secret guard and the production rules apply.
    pub fn is_production_like(self) -> bool {
        matches!(self, Self::Staging | Self::Production)
    }

    /// Only development shows raw error text to clients.
    pub fn exposes_error_details(self) -> bool {
        self == Self::Development
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// HTTP server settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `BIND`: the one address the dashboard listens on.
    pub bind: SocketAddr,
    /// `MAX_JSON_BODY_BYTES`: larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// `REQUEST_TIMEOUT_SECONDS`: a handler that has not produced its response by then is cut.
    pub request_timeout: Duration,
    /// `GRACEFUL_TIMEOUT`: bound on draining in-flight requests at shutdown or reload.
    pub graceful_timeout: Duration,
    /// `KEEPALIVE_DRAIN_SECONDS`: while draining, how long busy keep-alive connections get to
    /// finish on their own (each later response carries `Connection: close`) before idle ones
    /// are closed.
    pub keepalive_drain: Duration,
    /// `MAX_CONNECTIONS`: connections one worker serves at once. Beyond it the oldest
    /// connection that has not sent a request yet is dropped to make room, else the new one is
    /// served for health probes only (a small reserve), else it is closed at once.
    pub max_connections: usize,
    /// `HEADER_READ_TIMEOUT`: a connection whose request header is not complete this long after
    /// the server began waiting for it is closed (silent and slow-header clients).
    pub header_read_timeout: Duration,
    /// `KEEP_ALIVE_TIMEOUT`: an idle keep-alive connection is closed after this long (at most
    /// `HEADER_READ_TIMEOUT`, which also bounds the wait for the next request).
    pub keep_alive_timeout: Duration,
    /// `BODY_READ_TIMEOUT`: a request body that has not fully arrived this long after its
    /// header is answered 408.
    pub body_read_timeout: Duration,
    /// `MAX_ANONYMOUS_BODY_BYTES`: the body limit for requests of nobody logged in (no session,
    /// or the anonymous session of the login form); never more than `MAX_JSON_BODY_BYTES`.
    pub max_anonymous_body_bytes: usize,
}

/// Settings of the WIP dataset cache.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `CACHE_CHECK_INTERVAL`: how often the cache updater compares the WIP freshness stamp
    /// with the database (Redis keys live three intervals).
    pub check_interval: Duration,
    /// `CACHE_FIRST_LOAD_WAIT_MS`: how long a request before the first load waits for it
    /// before answering 503 with `Retry-After`.
    pub first_load_wait: Duration,
}

/// The whole validated configuration of one process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `MES_ENV`.
    pub mode: Mode,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub resilience: ResilienceSettings,
    pub redis: RedisSettings,
    pub cache: CacheSettings,
    pub equipment: EquipmentSettings,
    /// How holds split into quality and non-quality.
    pub holds: HoldSettings,
    /// Background jobs of long reports and the plant's clock.
    pub reports: ReportSettings,
    pub auth: AuthSettings,
    pub lifecycle: LifecycleSettings,
    pub supervisor: SupervisorSettings,
    /// Language, time zone and CSV export of the pages.
    pub pages: PageSettings,
    /// `SECRET_KEY` and `SECRET_KEY_FALLBACKS`.
    pub secrets: SecretKeys,
    /// `LOG_FORMAT` (text in development, JSON elsewhere by default).
    pub log_format: LogFormat,
    /// `RUST_LOG`: tracing filter directives.
    pub log_filter: String,
}

impl Settings {
    /// Reads the process environment; in development (only) a `.env` file in the working
    /// directory fills variables the environment does not set.
    pub fn load_from_process() -> (Self, Diagnostics) {
        let mut src = EnvSource::from_process();
        let mode_unset_or_dev = src
            .get("MES_ENV")
            .is_none_or(|m| m.trim().is_empty() || m.trim().eq_ignore_ascii_case("development"));
        let mut extra = Diagnostics::default();
        if mode_unset_or_dev {
            load_dotenv(Path::new(".env"), &mut src, &mut extra);
        }
        let (settings, mut diag) = Self::from_source(&src);
        extra.items.append(&mut diag.items);
        (settings, extra)
    }

    /// Builds settings from an explicit source (tests use this; it never reads the process).
    pub fn from_source(src: &EnvSource) -> (Self, Diagnostics) {
        let mut diag = Diagnostics::default();
        let mut r = Reader::new(src, &mut diag);

        let mode = match r.choice(
            "MES_ENV",
            "development",
            &["development", "testing", "staging", "production"],
        ) {
            "testing" => Mode::Testing,
            "staging" => Mode::Staging,
            "production" => Mode::Production,
            _ => Mode::Development,
        };

        let bind = r.parse::<SocketAddr>("BIND", SocketAddr::from(([127, 0, 0, 1], 8080)));
        let mut http = HttpSettings {
            bind,
            max_body_bytes: r.int("MAX_JSON_BODY_BYTES", 262_144, 1_024, 64 * 1024 * 1024) as usize,
            request_timeout: r.seconds("REQUEST_TIMEOUT_SECONDS", 60, 1, 3_600),
            graceful_timeout: r.seconds("GRACEFUL_TIMEOUT", 30, 1, 600),
            keepalive_drain: r.seconds("KEEPALIVE_DRAIN_SECONDS", 2, 0, 60),
            max_connections: r.int("MAX_CONNECTIONS", 1_024, 1, 1_000_000) as usize,
            header_read_timeout: r.seconds("HEADER_READ_TIMEOUT", 10, 1, 600),
            keep_alive_timeout: r.seconds("KEEP_ALIVE_TIMEOUT", 5, 1, 600),
            body_read_timeout: r.seconds("BODY_READ_TIMEOUT", 10, 1, 600),
            max_anonymous_body_bytes: r.int(
                "MAX_ANONYMOUS_BODY_BYTES",
                16_384,
                1_024,
                64 * 1024 * 1024,
            ) as usize,
        };
        if http.keep_alive_timeout > http.header_read_timeout {
            r.diag.error(
                "KEEP_ALIVE_TIMEOUT",
                format!(
                    "must not exceed HEADER_READ_TIMEOUT ({} s), which also bounds the wait for \
                     the next request on a kept-alive connection",
                    http.header_read_timeout.as_secs()
                ),
            );
        }
        http.max_anonymous_body_bytes = http.max_anonymous_body_bytes.min(http.max_body_bytes);

        let database = database::read(&mut r, mode);
        let resilience = resilience::read(&mut r, mode);
        let redis = redis::read(&mut r);
        let auth = auth::read(&mut r, mode);
        let lifecycle = lifecycle::read(&mut r);
        let supervisor = supervisor::read(&mut r, mode);
        let cache = CacheSettings {
            check_interval: r.seconds("CACHE_CHECK_INTERVAL", 600, 1, 86_400),
            first_load_wait: r.millis("CACHE_FIRST_LOAD_WAIT_MS", 10_000, 0, 120_000),
        };
        let equipment = equipment::read(&mut r, mode);
        let holds = holds::read(&mut r, mode.is_production_like());
        let reports = reports::read(&mut r);
        let pages = pages::read(&mut r);
        let secrets = secret::read(&mut r, mode.is_production_like(), mode.as_str());

        let default_format = if mode == Mode::Development {
            "text"
        } else {
            "json"
        };
        let log_format = match r.choice("LOG_FORMAT", default_format, &["text", "json"]) {
            "json" => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let log_filter = r.string("RUST_LOG", "info,sqlx=warn,hyper=warn");

        let settings = Self {
            mode,
            http,
            database,
            resilience,
            redis,
            cache,
            equipment,
            holds,
            reports,
            auth,
            lifecycle,
            supervisor,
            pages,
            secrets,
            log_format,
            log_filter,
        };
        (settings, diag)
    }

    /// Settings for tests: testing mode, an ephemeral port and the given database.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(database_url: &str, extra: &[(&str, &str)]) -> Self {
        let mut src = EnvSource::from_pairs([
            ("MES_ENV", "testing"),
            ("BIND", "127.0.0.1:0"),
            ("DATABASE_URL", database_url),
            ("RUST_LOG", "warn"),
        ]);
        for (k, v) in extra {
            src.set(k, v);
        }
        let (settings, diag) = Self::from_source(&src);
        assert!(!diag.has_errors(), "test settings are invalid:\n{diag}");
        settings
    }

    /// Every secret value a log line must never contain.
    pub fn secret_values(&self) -> Vec<String> {
        let mut values: Vec<String> = self.secrets.all().map(str::to_string).collect();
        values.extend(self.database.password());
        values.extend(self.redis.password());
        values
    }
}

fn load_dotenv(path: &Path, src: &mut EnvSource, diag: &mut Diagnostics) {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return,
        Err(e) => {
            diag.error(".env", format!("cannot read the file: {e}"));
            return;
        }
    };
    let mut pairs = Vec::new();
    for item in iter {
        match item {
            Ok((k, v)) if k == "MES_ENV" && !v.trim().eq_ignore_ascii_case("development") => {
                diag.error(
                    "MES_ENV",
                    ".env is read in development only; set MES_ENV in the real environment of \
                     the service instead of the .env file",
                );
            }
            Ok(pair) => pairs.push(pair),
            Err(e) => diag.error(".env", format!("cannot parse the file: {e}")),
        }
    }
    src.fill_missing(pairs);
}

/// The directory for local runtime files (the embedded SQLite database).
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> (Settings, Diagnostics) {
        Settings::from_source(&EnvSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn development_defaults_need_nothing() {
        let (s, diag) = load(&[]);
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(s.mode, Mode::Development);
        assert!(matches!(
            s.database.target,
            DatabaseTarget::Sqlite { embedded: true, .. }
        ));
        assert_eq!(s.http.max_body_bytes, 262_144);
    }

    #[test]
    fn production_reports_every_problem_at_once() {
        let (_, diag) = load(&[
            ("MES_ENV", "production"),
            ("SECRET_KEY", "short"),
            ("DB_POOL_SIZE", "lots"),
            ("LOCAL_AUTH_USERS", "demo:x"),
            ("BIND", "nowhere"),
        ]);
        let vars: Vec<_> = diag.errors().map(|d| d.variable.as_str()).collect();
        for v in [
            "SECRET_KEY",
            "DB_POOL_SIZE",
            "LOCAL_AUTH_USERS",
            "BIND",
            "DATABASE_URL",
        ] {
            assert!(vars.contains(&v), "{v} missing from {vars:?}");
        }
    }

    #[test]
    fn sqlite_in_production_needs_the_explicit_switch_and_warns() {
        let key = secret::generate();
        let base = [
            ("MES_ENV", "production"),
            ("SECRET_KEY", key.as_str()),
            ("DATABASE_URL", "sqlite://data/prod.db"),
        ];
        let (_, diag) = load(&base);
        assert!(diag.errors().any(|d| d.variable == "DATABASE_URL"));

        let mut allowed = base.to_vec();
        allowed.push(("ALLOW_SQLITE_IN_PRODUCTION", "true"));
        let (_, diag) = load(&allowed);
        assert!(!diag.has_errors(), "{diag}");
        assert!(diag.warnings().any(|d| d.variable == "DATABASE_URL"));
    }

    #[test]
    fn testing_mode_does_not_enforce_the_secret_guard() {
        let (s, diag) = load(&[("MES_ENV", "testing"), ("SECRET_KEY", "short")]);
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(s.mode, Mode::Testing);
    }

    /// Every variable a config file reads is documented in `.env.example` as `NAME=…`.
    #[test]
    fn env_example_documents_every_variable() {
        let example = include_str!("../../.env.example");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for literal in code.split('"').skip(1).step_by(2) {
                let is_var = literal.len() >= 3
                    && literal.contains('_')
                    && literal
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                let build_time = literal.starts_with("CARGO_");
                if is_var && !build_time && !example.contains(&format!("\n{literal}=")) {
                    missing.push(format!("{literal} ({})", path.display()));
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "undocumented in .env.example: {missing:?}"
        );
    }

    #[test]
    fn unknown_mode_is_an_error_naming_mes_env() {
        let (_, diag) = load(&[("MES_ENV", "prod")]);
        assert!(diag.errors().any(|d| d.variable == "MES_ENV"));
    }
}
