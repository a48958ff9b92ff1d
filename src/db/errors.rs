//! The one translation from driver errors to the contract (DESIGN §3.2), done at the
//! data-layer boundary so no handler ever inspects a `sqlx::Error`.
//!
//! | driver error | [`DbError`] | HTTP |
//! |---|---|---|
//! | pool acquire timeout with every connection in use | `PoolExhausted` | 503 `DB_POOL_EXHAUSTED` |
//! | pool acquire timeout while connections could not be opened | `Connection` | 503 `DB_CONNECTION_FAILED` |
//! | I/O, TLS, protocol, closed pool; SQLSTATE 08 / 28 / 53 / 57P / 3D; SQLite CANTOPEN | `Connection` | 503 `DB_CONNECTION_FAILED` |
//! | SQLSTATE 57014; SQLite BUSY / LOCKED / INTERRUPT; our client-side call timeout | `Timeout` | 504 `DB_QUERY_TIMEOUT` |
//! | anything else the database rejects | `Query` | 500 `DB_QUERY_ERROR` |
//! | (ours) slow-query slots full past `DB_SLOW_MAX_WAIT_SECONDS` | `Saturated` | 503 `SERVICE_UNAVAILABLE` |
//! | (ours) circuit breaker open | `CircuitOpen` | 503 `CIRCUIT_BREAKER_OPEN` |
//!
//! Raw driver text stays in `detail`: it is logged, and shown to clients in development only.
//! The data layer knows nothing of HTTP: `http/error.rs` holds a `DbError` as one variant of
//! `AppError` and reads the code (the table above), the retry hint and the public message
//! from it.

#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    #[error("no connection was free within the pool timeout")]
    PoolExhausted { retry_after: u64 },
    #[error("the circuit breaker is open")]
    CircuitOpen { retry_after: u64 },
    #[error("connection failed: {detail}")]
    Connection { detail: String, retry_after: u64 },
    #[error("query timed out: {detail}")]
    Timeout { detail: String, retry_after: u64 },
    #[error("query failed: {detail}")]
    Query { detail: String },
    /// The slow pool's concurrency limit stayed full for its whole bounded wait.
    #[error("every slow-query slot is busy")]
    Saturated { retry_after: u64 },
}

/// How an error class affects the circuit breaker and retries, and what a client is told.
impl DbError {
    /// Seconds a client should wait before retrying; `None` for a rejected query (retrying
    /// it changes nothing).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Query { .. } => None,
            Self::PoolExhausted { retry_after }
            | Self::CircuitOpen { retry_after }
            | Self::Connection { retry_after, .. }
            | Self::Timeout { retry_after, .. }
            | Self::Saturated { retry_after } => Some(*retry_after),
        }
    }

    /// The text a client sees: generic and stable, never the driver's.
    pub fn public_message(&self) -> String {
        let retry = self.retry_after().unwrap_or(0).max(1);
        match self {
            Self::Query { .. } => "The database could not run the query.".into(),
            Self::PoolExhausted { .. } => {
                format!("All database connections are busy; retry in {retry} seconds.")
            }
            Self::CircuitOpen { .. } => format!(
                "The database is failing and calls to it are paused; retry in {retry} seconds."
            ),
            Self::Connection { .. } => {
                format!("The database cannot be reached; retry in {retry} seconds.")
            }
            Self::Timeout { .. } => "The database query took too long and was cancelled.".into(),
            Self::Saturated { .. } => {
                format!("Every slot for long report queries is busy; retry in {retry} seconds.")
            }
        }
    }

    /// The driver's text, for the log (and `error.details` in development).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Query { detail }
            | Self::Connection { detail, .. }
            | Self::Timeout { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// Connectivity and capacity failures count against the breaker; a rejected query does not.
    pub fn counts_as_failure(&self) -> bool {
        !matches!(
            self,
            Self::Query { .. } | Self::CircuitOpen { .. } | Self::Saturated { .. }
        )
    }

    /// Classifies a driver error; `retry_after` is the configured hint for retryable classes.
    pub fn classify(error: sqlx::Error, retry_after: u64) -> Self {
        use sqlx::Error as E;
        let detail = error.to_string();
        match error {
            E::PoolTimedOut => Self::PoolExhausted { retry_after },
            E::PoolClosed
            | E::Io(_)
            | E::Tls(_)
            | E::Protocol(_)
            | E::WorkerCrashed
            | E::Configuration(_) => Self::Connection {
                detail,
                retry_after,
            },
            E::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let class = if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    sqlite_class(&code)
                } else {
                    sqlstate_class(&code)
                };
                match class {
                    Class::Connection => Self::Connection {
                        detail,
                        retry_after,
                    },
                    Class::Timeout => Self::Timeout {
                        detail,
                        retry_after,
                    },
                    Class::Query => Self::Query { detail },
                }
            }
            _ => Self::Query { detail },
        }
    }
}

enum Class {
    Connection,
    Timeout,
    Query,
}

/// SQLite reports extended result codes; the primary code is the low byte.
fn sqlite_class(code: &str) -> Class {
    match code.parse::<u32>().map(|c| c & 0xff) {
        Ok(5 | 6 | 9) => Class::Timeout, // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_INTERRUPT
        Ok(10 | 14) => Class::Connection, // SQLITE_IOERR, SQLITE_CANTOPEN
        _ => Class::Query,
    }
}

/// PostgreSQL SQLSTATE: the class is the first two characters.
fn sqlstate_class(code: &str) -> Class {
    if code == "57014" {
        return Class::Timeout; // query_canceled: statement_timeout
    }
    match code.get(..2) {
        Some("08" | "28" | "53" | "3D") => Class::Connection,
        Some("57") => Class::Connection, // 57P01 admin shutdown, 57P03 cannot connect now, …
        _ => Class::Query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes_map_to_the_contract() {
        let cases = [
            ("08006", "conn"),
            ("28P01", "conn"),
            ("53300", "conn"),
            ("57P01", "conn"),
            ("3D000", "conn"),
            ("57014", "timeout"),
            ("42P01", "query"),
            ("23505", "query"),
            ("sqlite:5", "timeout"),
            ("sqlite:517", "timeout"),
            ("sqlite:6", "timeout"),
            ("sqlite:14", "conn"),
            ("sqlite:1", "query"),
            ("sqlite:19", "query"),
        ];
        for (code, want) in cases {
            let class = match code.strip_prefix("sqlite:") {
                Some(c) => sqlite_class(c),
                None => sqlstate_class(code),
            };
            let got = match class {
                Class::Connection => "conn",
                Class::Timeout => "timeout",
                Class::Query => "query",
            };
            assert_eq!(got, want, "{code}");
        }
    }

    #[test]
    fn driver_errors_become_their_classes() {
        let pool_timeout = DbError::classify(sqlx::Error::PoolTimedOut, 5);
        assert!(matches!(
            pool_timeout,
            DbError::PoolExhausted { retry_after: 5 }
        ));
        let closed = DbError::classify(sqlx::Error::PoolClosed, 5);
        assert!(matches!(closed, DbError::Connection { .. }));
        let reset = DbError::classify(
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            5,
        );
        assert!(matches!(reset, DbError::Connection { .. }));
        let missing = DbError::classify(sqlx::Error::RowNotFound, 5);
        assert!(matches!(missing, DbError::Query { .. }));
        assert_eq!(missing.retry_after(), None);
        assert!(
            !missing.public_message().contains("no rows"),
            "driver text stays out"
        );
        assert!(missing.detail().is_some());
    }

    #[test]
    fn only_connectivity_and_capacity_count_against_the_breaker() {
        assert!(DbError::PoolExhausted { retry_after: 5 }.counts_as_failure());
        assert!(
            DbError::Timeout {
                detail: String::new(),
                retry_after: 5
            }
            .counts_as_failure()
        );
        assert!(
            !DbError::Query {
                detail: String::new()
            }
            .counts_as_failure()
        );
    }
}
