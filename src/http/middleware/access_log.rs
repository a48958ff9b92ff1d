//! Request ids and the structured access log: one line per request, written after the
//! response, with the error code and internal detail the response carries (never its body).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::ErrorContext;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, echoed in `X-Request-Id` and in its log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Accepts a caller's id when it is short and plain; otherwise makes one.
fn request_id(req: &Request) -> HeaderValue {
    if let Some(v) = req.headers().get(&X_REQUEST_ID) {
        let b = v.as_bytes();
        if !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            return v.clone();
        }
    }
    new_request_id()
}

/// `<process prefix>-<counter>`: unique across workers without a random draw per request.
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(rand::random::<u32>);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 8 + 1 + 16];
    let text = {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = write!(cursor, "{prefix:08x}-{n:x}");
        let len = cursor.position() as usize;
        &buf[..len]
    };
    HeaderValue::from_bytes(text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

pub async fn access_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());

    let mut response = next.run(req).await;

    let status = response.status().as_u16();
    let duration_us = started.elapsed().as_micros() as u64;
    let request_id = id.to_str().unwrap_or_default();
    let client_ip = peer.map(|ip| ip.to_string()).unwrap_or_default();
    match response.extensions().get::<ErrorContext>() {
        Some(e) if status >= 500 => tracing::error!(
            target: "mes_dashboard::access",
            duration_us, http.method = %method, http.path = %path, http.status = status,
            request_id, client.ip = %client_ip, error.code = e.code_str,
            error.detail = e.detail.as_deref().unwrap_or(""), "request failed"
        ),
        Some(e) => tracing::info!(
            target: "mes_dashboard::access",
            duration_us, http.method = %method, http.path = %path, http.status = status,
            request_id, client.ip = %client_ip, error.code = e.code_str, "request"
        ),
        None => tracing::info!(
            target: "mes_dashboard::access",
            duration_us, http.method = %method, http.path = %path, http.status = status,
            request_id, client.ip = %client_ip, "request"
        ),
    }
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_plain() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert!(a.to_str().unwrap().contains('-'));
    }

    #[test]
    fn a_hostile_incoming_id_is_replaced() {
        let req = Request::builder()
            .header("x-request-id", "abc<script>")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_ne!(request_id(&req), "abc<script>");
        let req = Request::builder()
            .header("x-request-id", "lb-1234.abc")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(request_id(&req), "lb-1234.abc");
    }
}
