//! Security headers on every response (DESIGN §4.5). HSTS only where TLS is expected
//! (staging and production). A header a handler set itself is left alone. The answers hyper
//! writes by itself (400, 414, 431 to a request it cannot parse) get the same headers from
//! [`crate::http::hyper_errors`], which writes [`raw_lines`].

use std::sync::LazyLock;

use axum::http::header::Entry;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

const ALWAYS: [(HeaderName, &str); 6] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
    ),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    // The dashboard uses none of these browser features; no embedded content may either.
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
];

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The values, validated once.
static VALUES: LazyLock<Vec<(HeaderName, HeaderValue)>> = LazyLock::new(|| {
    ALWAYS
        .iter()
        .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
        .collect()
});

pub fn apply(headers: &mut HeaderMap, hsts: bool) {
    headers.reserve(VALUES.len() + usize::from(hsts));
    for (name, value) in VALUES.iter() {
        if let Entry::Vacant(slot) = headers.entry(name) {
            slot.insert(value.clone());
        }
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

/// The headers as raw HTTP/1 header lines (`name: value\r\n` each), for answers written
/// below the router.
pub fn raw_lines(hsts: bool) -> &'static [u8] {
    static WITHOUT: LazyLock<Vec<u8>> = LazyLock::new(|| lines(false));
    static WITH: LazyLock<Vec<u8>> = LazyLock::new(|| lines(true));
    if hsts { &WITH } else { &WITHOUT }
}

fn lines(hsts: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let hsts = hsts.then_some((header::STRICT_TRANSPORT_SECURITY, HSTS));
    for (name, value) in ALWAYS.iter().cloned().chain(hsts) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}
