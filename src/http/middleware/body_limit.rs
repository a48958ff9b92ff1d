//! Refuses a declared body over `MAX_JSON_BODY_BYTES` (or, for nobody logged in,
//! `MAX_ANONYMOUS_BODY_BYTES`) before anything reads it. Bodies
//! without a length (chunked) are bounded where they are read, by axum's `DefaultBodyLimit`.

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::AppError;

/// The 413 answer when the request declares a body over `limit`, else `None`.
pub fn check(req: &Request, limit: usize) -> Option<Response> {
    declared_over(req, limit).map(IntoResponse::into_response)
}

/// The 413 error when the request declares a body over `limit`.
pub fn declared_over(req: &Request, limit: usize) -> Option<AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    declared
        .is_some_and(|len| len > limit as u64)
        .then_some(AppError::PayloadTooLarge { limit: Some(limit) })
}
