//! Security headers on every response (DESIGN §4.5). HSTS only where TLS is expected
//! (staging and production). A header a handler set itself is left alone.

use std::sync::LazyLock;

use axum::http::header::Entry;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

const ALWAYS: [(HeaderName, &str); 5] = [
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
