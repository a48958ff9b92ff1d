//! Security headers on every response (DESIGN §4.5). HSTS only where TLS is expected
//! (staging and production). A header a handler set itself is left alone. The answers hyper
//! writes by itself (400, 414, 431 to a request it cannot parse) get the same headers from
//! [`crate::http::hyper_errors`], which writes [`raw_lines`].
//!
//! The Content-Security-Policy is strict on every response (PRODUCT §1): scripts, styles,
//! images, fonts and connections from our own origin only — no inline script or style, no
//! `eval`, nothing from outside. Pages get data into scripts only through
//! `<script type="application/json">` blocks (not executed), styles only from
//! `static/css/*.css`; the SVG charts colour themselves with classes. `data:` images are
//! allowed for the browser's own form controls.

use std::sync::LazyLock;

use axum::http::header::Entry;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

const ALWAYS: [(HeaderName, &str); 6] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CONTENT_SECURITY_POLICY, CSP),
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

/// The policy of every response (see the module doc).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

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
