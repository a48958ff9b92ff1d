//! Refuses a declared body over `MAX_JSON_BODY_BYTES` before anything reads it. Bodies
//! without a length (chunked) are bounded where they are read, by axum's `DefaultBodyLimit`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::AppError;

pub async fn body_limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return AppError::PayloadTooLarge { limit: Some(limit) }.into_response();
    }
    next.run(req).await
}
