//! Database settings: which backend, where, and how the request pool behaves.

use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

use super::Mode;
use super::env::Reader;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DatabaseTarget {
    /// `postgres://…`; the URL may carry a password, so it is kept secret and only ever shown
    /// through [`redact_url`].
    Postgres {
        url: SecretString,
        /// `DB_APPLICATION_NAME`: each pool's `application_name` is this plus `/request`,
        /// `/slow` or `/health`, so `pg_stat_activity` tells the app's connections apart.
        application_name: String,
    },
    /// `sqlite://path`; `embedded` marks the development default made when `DATABASE_URL` is
    /// unset (created, migrated and seeded on first run).
    Sqlite { path: PathBuf, embedded: bool },
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub target: DatabaseTarget,
    /// `DB_POOL_SIZE`: connections the request pool keeps.
    pub pool_size: u32,
    /// `DB_MAX_OVERFLOW`: extra connections it may open under load (max = size + overflow).
    pub max_overflow: u32,
    /// `DB_POOL_TIMEOUT`: how long a request waits for a connection before `DB_POOL_EXHAUSTED`.
    pub pool_timeout: Duration,
    /// `DB_CALL_TIMEOUT_MS`: statement timeout of every request-pool connection.
    pub call_timeout: Duration,
    /// `MIGRATE_ON_START`: apply pending migrations when serving starts.
    pub migrate_on_start: bool,
}

impl DatabaseSettings {
    pub fn max_connections(&self) -> u32 {
        self.pool_size + self.max_overflow
    }

    /// The URL with any password replaced, safe for logs and diagnostics.
    pub fn display_url(&self) -> String {
        match &self.target {
            DatabaseTarget::Postgres { url, .. } => redact_url(url.expose_secret()),
            DatabaseTarget::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
        }
    }

    /// The password inside the URL, if any (registered with the log redactor).
    pub fn password(&self) -> Option<String> {
        match &self.target {
            DatabaseTarget::Postgres { url, .. } => url_password(url.expose_secret()),
            DatabaseTarget::Sqlite { .. } => None,
        }
    }
}

pub(super) fn read(r: &mut Reader<'_>, mode: Mode) -> DatabaseSettings {
    let allow_sqlite = r.bool("ALLOW_SQLITE_IN_PRODUCTION", false);
    let data_dir = r
        .optional("DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(super::default_data_dir);
    let target = match r.optional("DATABASE_URL") {
        None if mode.is_production_like() => {
            r.diag.error(
                "DATABASE_URL",
                format!(
                    "required in {mode} mode; set it to the PostgreSQL URL, for example \
                     postgres://mes@db.internal/mes"
                ),
            );
            DatabaseTarget::Sqlite {
                path: data_dir.join("mes-dashboard.sqlite3"),
                embedded: true,
            }
        }
        None => DatabaseTarget::Sqlite {
            path: data_dir.join("mes-dashboard.sqlite3"),
            embedded: true,
        },
        Some(url) => parse_url(r, &url),
    };
    if let DatabaseTarget::Sqlite {
        embedded: false, ..
    } = target
        && mode.is_production_like()
    {
        if allow_sqlite {
            r.diag.warning(
                "DATABASE_URL",
                "SQLite in production: one host only, no shared sessions between machines; \
                 use PostgreSQL for a real deployment",
            );
        } else {
            r.diag.error(
                "DATABASE_URL",
                format!(
                    "SQLite is refused in {mode} mode; use PostgreSQL, or set \
                     ALLOW_SQLITE_IN_PRODUCTION=true if you really mean it"
                ),
            );
        }
    }

    let production = mode.is_production_like();
    DatabaseSettings {
        target,
        pool_size: r.int("DB_POOL_SIZE", 10, 1, 500) as u32,
        max_overflow: r.int("DB_MAX_OVERFLOW", 10, 0, 500) as u32,
        pool_timeout: r.seconds("DB_POOL_TIMEOUT", 10, 1, 600),
        call_timeout: r.millis("DB_CALL_TIMEOUT_MS", 15_000, 100, 3_600_000),
        migrate_on_start: r.bool("MIGRATE_ON_START", !production),
    }
}

fn parse_url(r: &mut Reader<'_>, url: &str) -> DatabaseTarget {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let application_name = r
            .optional("DB_APPLICATION_NAME")
            .unwrap_or_else(|| "mes-dashboard".to_string());
        if application_name.len() > 48
            || !application_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:@ ".contains(&b))
        {
            r.diag.error(
                "DB_APPLICATION_NAME",
                "must be at most 48 characters: letters, digits, spaces and - _ . : @ \
                 (PostgreSQL shows it in pg_stat_activity, followed by /request, /slow or /health)",
            );
        }
        return DatabaseTarget::Postgres {
            url: SecretString::from(url.to_string()),
            application_name,
        };
    }
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            r.diag.error(
                "DATABASE_URL",
                "a SQLite URL needs a file path: sqlite://data/mes.db",
            );
        }
        return DatabaseTarget::Sqlite {
            path: PathBuf::from(path),
            embedded: false,
        };
    }
    let scheme = url.split("://").next().filter(|s| s.len() < url.len());
    r.diag.error(
        "DATABASE_URL",
        format!(
            "unsupported scheme {}; use postgres://… or sqlite://…",
            scheme.map_or_else(|| "(none)".to_string(), |s| format!("{s:?}"))
        ),
    );
    DatabaseTarget::Sqlite {
        path: super::default_data_dir().join("mes-dashboard.sqlite3"),
        embedded: true,
    }
}

/// The `user:password@` part of a URL, split at the last `@` before the path.
fn userinfo(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some((start, start + at))
}

fn url_password(url: &str) -> Option<String> {
    let (start, at) = userinfo(url)?;
    let info = &url[start..at];
    let (_, password) = info.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match userinfo(url) {
        Some((start, at)) => {
            let info = &url[start..at];
            match info.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start], &url[at..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://mes:s3cr@t@db:5432/mes?sslmode=require"),
            "postgres://mes:***@db:5432/mes?sslmode=require"
        );
        assert_eq!(redact_url("postgres://mes@db/mes"), "postgres://mes@db/mes");
        assert_eq!(redact_url("postgres://db/mes"), "postgres://db/mes");
        assert_eq!(
            url_password("postgres://mes:s3cr@t@db/mes").as_deref(),
            Some("s3cr@t")
        );
    }
}
