//! Request ids and the structured access log: one line per request, written after the
//! response, with the error code and internal detail the response carries (never its body).
//!
//! The line is formatted by hand rather than through a tracing event: it is the one log line
//! every request writes, and a direct format costs a fraction of the generic field visitor.
//! It keeps the shape of the other log lines (JSON, or text in development), honours the
//! `RUST_LOG` filter for the `mes_dashboard::access` target, and goes through the same
//! redaction, batched: the line is formatted into a buffer the thread reuses and appended to
//! the access batch ([`telemetry::write_access_line`]), which a writer thread writes whole.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;

use crate::config::LogFormat;
use crate::http::ErrorContext;
use crate::telemetry;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, echoed in `X-Request-Id` and in its log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Accepts a caller's id when it is short and plain; otherwise makes one.
pub fn request_id(req: &Request) -> HeaderValue {
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

/// `<process prefix>-<counter>` in lowercase hex: unique across workers without a random draw
/// per request, and written by hand (no formatting machinery on the hot path).
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<[u8; 9]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let prefix = PREFIX.get_or_init(|| {
        let p = rand::random::<u32>();
        let mut out = [b'-'; 9];
        for (i, byte) in out[..8].iter_mut().enumerate() {
            *byte = HEX[((p >> (28 - 4 * i)) & 0xf) as usize];
        }
        out
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 25];
    buf[..9].copy_from_slice(prefix);
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for i in 0..digits {
        buf[9 + i] = HEX[((n >> (4 * (digits - 1 - i))) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&buf[..9 + digits])
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// What the log line needs from the request, captured before the request is handed on.
pub struct RequestInfo {
    pub started: Instant,
    pub method: Method,
    /// The URI (a reference-counted copy, not a new string); only its path is logged.
    pub uri: Uri,
    pub peer: Option<IpAddr>,
}

impl RequestInfo {
    /// From a request whose peer is in its extensions (`ConnectInfo`).
    pub fn capture(req: &Request) -> Self {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Self::from_peer(req, peer)
    }

    pub fn from_peer(req: &Request, peer: Option<SocketAddr>) -> Self {
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            peer: peer.map(|addr| addr.ip()),
        }
    }
}

fn enabled(error: bool) -> bool {
    if error {
        tracing::enabled!(target: "mes_dashboard::access", tracing::Level::ERROR)
    } else {
        tracing::enabled!(target: "mes_dashboard::access", tracing::Level::INFO)
    }
}

/// Writes the request's line, when the access target is enabled.
pub fn record(info: &RequestInfo, id: &HeaderValue, response: &Response) {
    let status = response.status().as_u16();
    let error = response.extensions().get::<ErrorContext>();
    let is_error = status >= 500 && error.is_some();
    if !enabled(is_error) {
        return;
    }
    thread_local! {
        static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        format_line_into(
            line,
            telemetry::format(),
            info,
            id.to_str().unwrap_or_default(),
            status,
            error,
        );
        telemetry::write_access_line(line.as_bytes());
    });
}

#[cfg(test)]
fn format_line(
    format: LogFormat,
    info: &RequestInfo,
    id: &str,
    status: u16,
    error: Option<&ErrorContext>,
) -> String {
    let mut line = String::new();
    format_line_into(&mut line, format, info, id, status, error);
    line
}

fn format_line_into(
    line: &mut String,
    format: LogFormat,
    info: &RequestInfo,
    id: &str,
    status: u16,
    error: Option<&ErrorContext>,
) {
    let level = if status >= 500 && error.is_some() {
        "ERROR"
    } else {
        "INFO"
    };
    let message = if level == "ERROR" {
        "request failed"
    } else {
        "request"
    };
    let duration_us = info.started.elapsed().as_micros() as u64;
    let path = info.uri.path();
    let mut n = itoa::Buffer::new();
    match format {
        LogFormat::Json => {
            line.push_str("{\"timestamp\":\"");
            crate::timefmt::now_micros(line);
            line.push_str("\",\"level\":\"");
            line.push_str(level);
            line.push_str("\",\"message\":\"");
            line.push_str(message);
            line.push_str("\",\"duration_us\":");
            line.push_str(n.format(duration_us));
            line.push_str(",\"http.method\":");
            push_json_str(line, info.method.as_str());
            line.push_str(",\"http.path\":");
            push_json_str(line, path);
            line.push_str(",\"http.status\":");
            line.push_str(n.format(status));
            line.push_str(",\"request_id\":\"");
            line.push_str(id);
            line.push_str("\",\"client.ip\":\"");
            if let Some(ip) = info.peer {
                push_ip(line, ip);
            }
            line.push('"');
            if let Some(e) = error {
                let _ = write!(line, ",\"error.code\":\"{}\"", e.code_str);
                if let Some(detail) = e.detail.as_deref().filter(|_| level == "ERROR") {
                    line.push_str(",\"error.detail\":");
                    push_json_str(line, detail);
                }
            }
            line.push_str(",\"target\":\"mes_dashboard::access\"}\n");
        }
        LogFormat::Text => {
            crate::timefmt::now_micros(line);
            let ip = info.peer.map(|ip| ip.to_string()).unwrap_or_default();
            let _ = write!(
                line,
                " {level:>5} mes_dashboard::access: {message} duration_us={duration_us} \
                 http.method={} http.path={path:?} http.status={status} request_id={id} \
                 client.ip={ip}",
                info.method
            );
            if let Some(e) = error {
                let _ = write!(line, " error.code={}", e.code_str);
                if let Some(detail) = e.detail.as_deref().filter(|_| level == "ERROR") {
                    let _ = write!(line, " error.detail={detail:?}");
                }
            }
            line.push('\n');
        }
    }
}

/// Appends `ip` (an IPv4 address digit by digit, without the formatting machinery).
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut n = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(n.format(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends `s` as a JSON string literal (copied whole when nothing in it needs an escape: the
/// usual method and path).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !crate::json::needs_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{AppError, ErrorCode};

    #[test]
    fn generated_ids_are_unique_and_plain() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        // `<8 hex digits>-<counter in hex>`, the counter one more each time.
        let parse = |v: &HeaderValue| {
            let (prefix, n) = v.to_str().unwrap().split_once('-').unwrap();
            assert_eq!(prefix.len(), 8);
            assert!(
                prefix
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            (prefix.to_string(), u64::from_str_radix(n, 16).unwrap())
        };
        let (pa, na) = parse(&a);
        let (pb, nb) = parse(&b);
        assert_eq!(pa, pb);
        assert!(nb > na);
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

    #[test]
    fn json_lines_parse_and_escape_hostile_paths() {
        let info = RequestInfo {
            started: Instant::now(),
            method: Method::GET,
            uri: Uri::from_static("/api/%22x%22%5C%0A%01%C3%A9"),
            peer: Some("10.1.2.3".parse().unwrap()),
        };
        let ctx = AppError::Db(crate::db::DbError::Query {
            detail: "relation \"lots\" does not exist".into(),
        })
        .context();
        let line = format_line(LogFormat::Json, &info, "ab-1", 500, Some(&ctx));
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["http.path"], "/api/%22x%22%5C%0A%01%C3%A9");
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["error.code"], ErrorCode::DbQueryError.as_str());
        assert_eq!(v["error.detail"], "relation \"lots\" does not exist");
        assert_eq!(v["client.ip"], "10.1.2.3");
        assert_eq!(v["target"], "mes_dashboard::access");

        let ok = format_line(LogFormat::Json, &info, "ab-2", 200, None);
        let v: serde_json::Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(v["level"], "INFO");
        assert!(v.get("error.code").is_none());
        let text = format_line(LogFormat::Text, &info, "ab-3", 404, None);
        assert!(text.contains("http.status=404"), "{text}");

        let v6 = RequestInfo {
            peer: Some("2001:db8::7".parse().unwrap()),
            ..info
        };
        let line = format_line(LogFormat::Json, &v6, "ab-4", 200, None);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["client.ip"], "2001:db8::7");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é");
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }
}
