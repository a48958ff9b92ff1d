//! The one error type of the HTTP layer and its contract (DESIGN §3.1–3.2).
//!
//! Policy:
//! - every failure a handler can meet is an [`AppError`]; its [`ErrorCode`] fixes the HTTP status
//!   and the stable `error.code` string, pinned by a unit test;
//! - database errors are translated once, at the data-layer boundary ([`crate::db::DbError`]),
//!   and arrive here already classified: [`AppError::Db`] holds one, and its code, retry hint
//!   and public message come from it ([`db_code`] is the one table from its classes to the
//!   contract);
//! - the response body never carries internal text; the internal detail travels in the
//!   response's extensions as [`ErrorContext`] so the access log can record it and, in
//!   development only, the error-render middleware can show it as `error.details`.

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::envelope::{self, Meta};
use crate::db::DbError;
use crate::i18n::{self, FluentValue, Lang};

/// Stable error codes of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    CsrfTokenMissing,
    CsrfTokenInvalid,
    CsrfOriginRejected,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    Conflict,
    JobExpired,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    InternalError,
    DbQueryError,
    DbPoolExhausted,
    CircuitBreakerOpen,
    DbConnectionFailed,
    ServiceUnavailable,
    DbQueryTimeout,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 21] = [
        Self::ValidationError,
        Self::Unauthorized,
        Self::Forbidden,
        Self::CsrfTokenMissing,
        Self::CsrfTokenInvalid,
        Self::CsrfOriginRejected,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Conflict,
        Self::JobExpired,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::TooManyRequests,
        Self::InternalError,
        Self::DbQueryError,
        Self::DbPoolExhausted,
        Self::CircuitBreakerOpen,
        Self::DbConnectionFailed,
        Self::ServiceUnavailable,
        Self::DbQueryTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::CsrfTokenMissing => "CSRF_TOKEN_MISSING",
            Self::CsrfTokenInvalid => "CSRF_TOKEN_INVALID",
            Self::CsrfOriginRejected => "CSRF_ORIGIN_REJECTED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::Conflict => "CONFLICT",
            Self::JobExpired => "JOB_EXPIRED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::TooManyRequests => "TOO_MANY_REQUESTS",
            Self::InternalError => "INTERNAL_ERROR",
            Self::DbQueryError => "DB_QUERY_ERROR",
            Self::DbPoolExhausted => "DB_POOL_EXHAUSTED",
            Self::CircuitBreakerOpen => "CIRCUIT_BREAKER_OPEN",
            Self::DbConnectionFailed => "DB_CONNECTION_FAILED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::DbQueryTimeout => "DB_QUERY_TIMEOUT",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::ValidationError => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::CsrfTokenMissing
            | Self::CsrfTokenInvalid
            | Self::CsrfOriginRejected => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::JobExpired => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError | Self::DbQueryError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::DbPoolExhausted
            | Self::CircuitBreakerOpen
            | Self::DbConnectionFailed
            | Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::DbQueryTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// Every error a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A parameter or body field is wrong; the message names it.
    #[error("{0}")]
    Validation(String),
    /// A 400 with a more specific stable code than `VALIDATION_ERROR` (for example
    /// `RESTART_OVERRIDE_REASON_REQUIRED`).
    #[error("{message}")]
    BadRequest { message: String, code: &'static str },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Csrf { code: ErrorCode, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request body did not arrive within `BODY_READ_TIMEOUT`.
    #[error(
        "the request body did not arrive within {seconds} seconds (BODY_READ_TIMEOUT); send it \
         at once after the header"
    )]
    BodyTimeout { seconds: u64 },
    /// The request conflicts with the current state (for example a restart the policy blocks).
    #[error("{message}")]
    Conflict {
        message: String,
        /// A more specific stable code for clients, such as `RESTART_POLICY_BLOCKED`.
        code: Option<&'static str>,
    },
    /// A background job's result is no longer kept (`JOB_RESULT_TTL`): run the query again.
    #[error("{0}")]
    JobExpired(String),
    #[error("{}", payload_message(*limit))]
    PayloadTooLarge { limit: Option<usize> },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// A bug. The message shown outside development is generic.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    /// The data layer failed (classified there: pool, breaker, connection, timeout, query,
    /// slow-query slots).
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{message}")]
    ServiceUnavailable { message: String, retry_after: u64 },
}

fn payload_message(limit: Option<usize>) -> String {
    match limit {
        Some(limit) => format!("the request body is larger than the limit of {limit} bytes"),
        None => "the request body is larger than the limit (MAX_JSON_BODY_BYTES)".into(),
    }
}

/// What the logging and rendering layers need to know about an error response.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    pub code: ErrorCode,
    /// The specific code written in the body (usually `code.as_str()`).
    pub code_str: &'static str,
    /// The client-facing message.
    pub message: Arc<str>,
    /// Internal text for the log, and for `details` in development only.
    pub detail: Option<Arc<str>>,
    pub retry_after: Option<u64>,
}

impl ErrorContext {
    /// Whether `error.message` differs in `lang` from the English text written by the handler.
    pub fn needs_translation(&self, lang: Lang) -> bool {
        lang != Lang::En
    }

    /// The client-facing message in `lang`. The handlers write English; the catalogue
    /// (`locales/*/errors.ftl`) has, for each code, a sentence of its own (with the retry
    /// seconds where the code has them), and for codes whose English names a field, parameter
    /// or header, the English specifics follow it so the name stays literal (`page_size`,
    /// `X-CSRF-Token`). Runs only on error responses, never on the success path.
    pub fn localized(&self, lang: Lang) -> Cow<'_, str> {
        if !self.needs_translation(lang) {
            return Cow::Borrowed(&self.message);
        }
        let specific = format!(
            "err-{}",
            self.code_str.to_ascii_lowercase().replace('_', "-")
        );
        let key = if i18n::has(lang, &specific) {
            specific
        } else {
            format!(
                "err-{}",
                self.code.as_str().to_ascii_lowercase().replace('_', "-")
            )
        };
        let seconds = FluentValue::from(self.retry_after.unwrap_or(1) as i64);
        let message = FluentValue::from(self.message.to_string());
        Cow::Owned(i18n::t_args(
            lang,
            &key,
            &i18n::args([("seconds", seconds), ("detail", message)]),
        ))
    }

    /// This context with its message in `lang`.
    pub fn localized_context(&self, lang: Lang) -> ErrorContext {
        ErrorContext {
            message: Arc::from(self.localized(lang).as_ref()),
            ..self.clone()
        }
    }
}

impl AppError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) | Self::BadRequest { .. } => ErrorCode::ValidationError,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Csrf { code, .. } => *code,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::BodyTimeout { .. } => ErrorCode::RequestTimeout,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::JobExpired(_) => ErrorCode::JobExpired,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::TooManyRequests { .. } => ErrorCode::TooManyRequests,
            Self::Internal(_) => ErrorCode::InternalError,
            Self::Db(e) => db_code(e),
            Self::ServiceUnavailable { .. } => ErrorCode::ServiceUnavailable,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// Seconds a client should wait before retrying, where the contract promises one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. }
            | Self::ServiceUnavailable { retry_after, .. } => Some((*retry_after).max(1)),
            Self::Db(e) => e.retry_after().map(|seconds| seconds.max(1)),
            _ => None,
        }
    }

    /// The text a client sees: specific for 4xx, generic and stable for 5xx.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "An internal error occurred; it has been logged.".into(),
            Self::Db(e) => e.public_message(),
            other => other.to_string(),
        }
    }

    /// Internal text kept out of the body (logged; shown in development only).
    fn detail(&self) -> Option<String> {
        match self {
            Self::Internal(e) => Some(format!("{e:#}")),
            Self::Db(e) => e.detail().map(str::to_string),
            _ => None,
        }
    }

    pub fn context(&self) -> ErrorContext {
        let code = self.code();
        let code_str = match self {
            Self::Conflict {
                code: Some(specific),
                ..
            }
            | Self::BadRequest { code: specific, .. } => specific,
            _ => code.as_str(),
        };
        ErrorContext {
            code,
            code_str,
            message: self.public_message().into(),
            detail: self.detail().map(Into::into),
            retry_after: self.retry_after(),
        }
    }
}

/// The contract code of each class of data-layer failure (the table of `db/errors.rs`).
pub fn db_code(error: &DbError) -> ErrorCode {
    match error {
        DbError::PoolExhausted { .. } => ErrorCode::DbPoolExhausted,
        DbError::CircuitOpen { .. } => ErrorCode::CircuitBreakerOpen,
        DbError::Connection { .. } => ErrorCode::DbConnectionFailed,
        DbError::Timeout { .. } => ErrorCode::DbQueryTimeout,
        DbError::Query { .. } => ErrorCode::DbQueryError,
        DbError::Saturated { .. } => ErrorCode::ServiceUnavailable,
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        error_response(self.status(), self.context(), None)
    }
}

/// Writes the error envelope; `details` is only passed in development.
pub fn error_response(status: StatusCode, ctx: ErrorContext, details: Option<&str>) -> Response {
    let mut meta = Meta::now();
    meta.retry_after_seconds = ctx.retry_after;
    let body = envelope::error_body(ctx.code_str, &ctx.message, details, &meta);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = ctx.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response.extensions_mut().insert(ctx);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract table of DESIGN §3.2, pinned: changing a row here is an API change.
    #[test]
    fn every_code_maps_to_its_contract_status() {
        let table: &[(ErrorCode, &str, u16)] = &[
            (ErrorCode::ValidationError, "VALIDATION_ERROR", 400),
            (ErrorCode::Unauthorized, "UNAUTHORIZED", 401),
            (ErrorCode::Forbidden, "FORBIDDEN", 403),
            (ErrorCode::CsrfTokenMissing, "CSRF_TOKEN_MISSING", 403),
            (ErrorCode::CsrfTokenInvalid, "CSRF_TOKEN_INVALID", 403),
            (ErrorCode::CsrfOriginRejected, "CSRF_ORIGIN_REJECTED", 403),
            (ErrorCode::NotFound, "NOT_FOUND", 404),
            (ErrorCode::MethodNotAllowed, "METHOD_NOT_ALLOWED", 405),
            (ErrorCode::RequestTimeout, "REQUEST_TIMEOUT", 408),
            (ErrorCode::Conflict, "CONFLICT", 409),
            (ErrorCode::JobExpired, "JOB_EXPIRED", 410),
            (ErrorCode::PayloadTooLarge, "PAYLOAD_TOO_LARGE", 413),
            (
                ErrorCode::UnsupportedMediaType,
                "UNSUPPORTED_MEDIA_TYPE",
                415,
            ),
            (ErrorCode::TooManyRequests, "TOO_MANY_REQUESTS", 429),
            (ErrorCode::InternalError, "INTERNAL_ERROR", 500),
            (ErrorCode::DbQueryError, "DB_QUERY_ERROR", 500),
            (ErrorCode::DbPoolExhausted, "DB_POOL_EXHAUSTED", 503),
            (ErrorCode::CircuitBreakerOpen, "CIRCUIT_BREAKER_OPEN", 503),
            (ErrorCode::DbConnectionFailed, "DB_CONNECTION_FAILED", 503),
            (ErrorCode::ServiceUnavailable, "SERVICE_UNAVAILABLE", 503),
            (ErrorCode::DbQueryTimeout, "DB_QUERY_TIMEOUT", 504),
        ];
        assert_eq!(table.len(), ErrorCode::ALL.len());
        for (code, name, status) in table {
            assert_eq!(code.as_str(), *name);
            assert_eq!(code.status().as_u16(), *status, "{name}");
            let serialized = serde_json::to_value(code).unwrap();
            assert_eq!(serialized, *name, "serde name of {name}");
        }
    }

    #[test]
    fn retry_codes_carry_retry_after_of_at_least_one_second() {
        let cases = [
            AppError::Db(DbError::PoolExhausted { retry_after: 5 }),
            AppError::Db(DbError::CircuitOpen { retry_after: 0 }),
            AppError::Db(DbError::Connection {
                detail: "x".into(),
                retry_after: 5,
            }),
            AppError::Db(DbError::Saturated { retry_after: 2 }),
            AppError::ServiceUnavailable {
                message: "x".into(),
                retry_after: 3,
            },
            AppError::TooManyRequests {
                message: "x".into(),
                retry_after: 60,
            },
            AppError::Db(DbError::Timeout {
                detail: "x".into(),
                retry_after: 5,
            }),
        ];
        for e in cases {
            let seconds = e.retry_after().expect("retry-aware code");
            assert!(seconds >= 1);
            let response = e.into_response();
            let header = response.headers()[header::RETRY_AFTER].to_str().unwrap();
            assert_eq!(header, seconds.to_string());
        }
        assert_eq!(AppError::validation("x").retry_after(), None);
        let query = AppError::Db(DbError::Query { detail: "x".into() });
        assert_eq!(query.retry_after(), None);
    }

    #[test]
    fn each_database_failure_class_has_its_contract_code() {
        let cases = [
            (
                DbError::classify(sqlx::Error::PoolTimedOut, 5),
                ErrorCode::DbPoolExhausted,
            ),
            (
                DbError::classify(sqlx::Error::PoolClosed, 5),
                ErrorCode::DbConnectionFailed,
            ),
            (
                DbError::classify(
                    sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
                    5,
                ),
                ErrorCode::DbConnectionFailed,
            ),
            (
                DbError::classify(sqlx::Error::RowNotFound, 5),
                ErrorCode::DbQueryError,
            ),
            (
                DbError::CircuitOpen { retry_after: 5 },
                ErrorCode::CircuitBreakerOpen,
            ),
            (
                DbError::Timeout {
                    detail: "x".into(),
                    retry_after: 5,
                },
                ErrorCode::DbQueryTimeout,
            ),
            (
                DbError::Saturated { retry_after: 5 },
                ErrorCode::ServiceUnavailable,
            ),
        ];
        for (error, want) in cases {
            let app: AppError = error.into();
            assert_eq!(app.code(), want);
        }
    }

    #[test]
    fn internal_text_stays_out_of_the_public_message() {
        let e = AppError::internal(anyhow::anyhow!("secret table layout"));
        assert!(!e.public_message().contains("secret"));
        let e = AppError::Db(DbError::Query {
            detail: "relation lots does not exist".into(),
        });
        assert!(!e.public_message().contains("relation"));
        assert_eq!(
            e.context().detail.as_deref(),
            Some("relation lots does not exist")
        );
    }
}
