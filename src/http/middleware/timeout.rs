//! A handler that has not produced its response within `REQUEST_TIMEOUT_SECONDS` is cut and
//! answered with 503 `SERVICE_UNAVAILABLE`. Streaming bodies (server-sent events) are not
//! affected: the bound covers producing the response head only.
//!
//! The handler is polled once before any timer exists: an answer from memory (the cached WIP
//! data, the health probes) is ready on that first poll and never touches the timer wheel
//! (registering a timer and removing it again cost more than the rest of the edge). Only a
//! handler that waits gets the timer, counted from its first wait; a handler cannot be cut
//! while it computes anyway, only while it waits.

use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use axum::response::{IntoResponse, Response};

use crate::http::AppError;

/// Runs the rest of the request within `limit`.
pub async fn bounded(limit: Duration, inner: impl Future<Output = Response>) -> Response {
    let mut inner = pin!(inner);
    if let Poll::Ready(response) =
        std::future::poll_fn(|cx| Poll::Ready(inner.as_mut().poll(cx))).await
    {
        return response;
    }
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
