//! A panicking handler becomes a 500 `INTERNAL_ERROR` envelope (or page), never a dropped
//! connection. Written here rather than with tower-http's `CatchPanicLayer` because the
//! answer depends on the request path (JSON or HTML), which that layer's callback cannot see;
//! error rendering, run after this, makes that choice from the error context.

use std::panic::AssertUnwindSafe;

use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::http::AppError;

/// Runs the rest of the request, turning a panic into an error response.
pub async fn guard(inner: impl Future<Output = Response>) -> Response {
    match AssertUnwindSafe(inner).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".into());
            AppError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
        }
    }
}
