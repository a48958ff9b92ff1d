//! A panicking handler becomes a 500 `INTERNAL_ERROR` envelope (or page), never a dropped
//! connection. Written here rather than with tower-http's `CatchPanicLayer` because the
//! answer depends on the request path (JSON or HTML), which that layer's callback cannot see;
//! the error-render layer outside this one makes that choice from the error context.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::http::AppError;

pub async fn catch_panic(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
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
