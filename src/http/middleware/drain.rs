//! While the server drains (shutdown or reload), every response says `Connection: close`, so
//! keep-alive clients move to another worker after their current request instead of sending
//! the next one into a connection that is about to close.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub async fn drain(State(draining): State<Arc<AtomicBool>>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if draining.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
