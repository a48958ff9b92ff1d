//! A handler that has not produced its response within `REQUEST_TIMEOUT_SECONDS` is cut and
//! answered with 503 `SERVICE_UNAVAILABLE`. Streaming bodies (server-sent events) are not
//! affected: the bound covers producing the response head only.

use std::time::Duration;

use axum::response::{IntoResponse, Response};

use crate::http::AppError;

/// Runs the rest of the request within `limit`.
pub async fn bounded(limit: Duration, inner: impl Future<Output = Response>) -> Response {
    match tokio::time::timeout(limit, inner).await {
        Ok(response) => response,
        Err(_) => AppError::ServiceUnavailable {
            message: format!(
                "the request did not complete within {} seconds (REQUEST_TIMEOUT_SECONDS)",
                limit.as_secs()
            ),
            retry_after: 5,
        }
        .into_response(),
    }
}
