//! While the server drains (shutdown or reload), every response says `Connection: close`, so
//! keep-alive clients move to another worker after their current request instead of sending
//! the next one into a connection that is about to close.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderValue, header};

pub fn apply(headers: &mut HeaderMap, draining: &AtomicBool) {
    if draining.load(Ordering::Relaxed) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}
