//! JSON computed once and served many times.
//!
//! Its own module, beside neither the caches that make it nor the envelope that writes it:
//! the caches (`cache/`, `equipment/`) serialize their answers once per data change, and
//! `http/envelope.rs` copies the bytes into each response. Keeping the type here lets the
//! domain code name it without depending on the HTTP layer.

use bytes::Bytes;
use serde::Serialize;

/// Data already serialized as JSON (computed once, served many times).
#[derive(Debug, Clone)]
pub struct RawJson(pub Bytes);

impl RawJson {
    pub fn from_value<T: Serialize>(value: &T) -> serde_json::Result<Self> {
        serde_json::to_vec(value).map(|v| Self(Bytes::from(v)))
    }
}
