//! The JSON envelope of every API answer (DESIGN §3.1).
//!
//! Success: `{"success": true, "data": …, "meta": {"timestamp", "app_version", …}}`.
//! Cached answers keep their `data` as pre-serialized bytes ([`RawJson`]) so a request only
//! writes the envelope around them.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use crate::cache::{CacheFreshness, CacheState};
use crate::config::APP_VERSION;
use crate::db::breaker::{Breaker, BreakerState};
pub use crate::json::RawJson;

/// `meta` of the envelope. Optional fields are omitted when unset.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub timestamp: String,
    pub app_version: &'static str,
    /// `fresh` or `stale` for answers served from a cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_state: Option<&'static str>,
    /// When the cached data was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Age of the cached data, in whole seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl Meta {
    pub fn now() -> Self {
        let mut timestamp = String::with_capacity(24);
        crate::timefmt::now_millis(&mut timestamp);
        Self {
            timestamp,
            app_version: APP_VERSION,
            cache_state: None,
            updated_at: None,
            age_seconds: None,
            retry_after_seconds: None,
        }
    }
}

impl Meta {
    /// The meta of an answer served from a cache: its state, when the data was computed, and
    /// its age in whole seconds. While the database's breaker is not closed (the database is
    /// known to be failing) the answer is `stale` whatever the cache thinks: nothing can
    /// confirm the data any more.
    pub fn cached(freshness: CacheFreshness, breaker: &Breaker) -> Self {
        let mut meta = Self::now();
        let state = if breaker.state() == BreakerState::Closed {
            freshness.state
        } else {
            CacheState::Stale
        };
        meta.cache_state = Some(state.as_str());
        meta.updated_at = Some(freshness.updated_at);
        meta.age_seconds = Some(freshness.age.as_secs());
        meta
    }

    /// The same JSON as the `Serialize` derive, written directly: every value is plain ASCII
    /// we produced (timestamps, the version, fixed words, numbers), so nothing needs escaping.
    /// Used on the cached-data hot path.
    pub fn write_json(&self, out: &mut BytesMut) {
        out.put_slice(b"{\"timestamp\":\"");
        out.put_slice(self.timestamp.as_bytes());
        out.put_slice(b"\",\"app_version\":\"");
        out.put_slice(self.app_version.as_bytes());
        out.put_u8(b'"');
        if let Some(state) = self.cache_state {
            out.put_slice(b",\"cache_state\":\"");
            out.put_slice(state.as_bytes());
            out.put_u8(b'"');
        }
        if let Some(at) = &self.updated_at {
            out.put_slice(b",\"updated_at\":\"");
            out.put_slice(at.as_bytes());
            out.put_u8(b'"');
        }
        let mut n = itoa::Buffer::new();
        if let Some(age) = self.age_seconds {
            out.put_slice(b",\"age_seconds\":");
            out.put_slice(n.format(age).as_bytes());
        }
        if let Some(retry) = self.retry_after_seconds {
            out.put_slice(b",\"retry_after_seconds\":");
            out.put_slice(n.format(retry).as_bytes());
        }
        out.put_u8(b'}');
    }
}

/// A successful answer with typed data.
pub struct ApiResponse<T> {
    pub data: T,
    pub meta: Meta,
}

impl<T: Serialize> ApiResponse<T> {
    pub fn new(data: T) -> Self {
        Self {
            data,
            meta: Meta::now(),
        }
    }
}

#[derive(Serialize)]
struct SuccessBody<'a, T> {
    success: bool,
    data: &'a T,
    meta: &'a Meta,
}

impl<T: Serialize> IntoResponse for ApiResponse<T> {
    fn into_response(self) -> Response {
        let body = SuccessBody {
            success: true,
            data: &self.data,
            meta: &self.meta,
        };
        match serde_json::to_vec(&body) {
            Ok(bytes) => json_response(Bytes::from(bytes)),
            Err(e) => super::AppError::internal(e).into_response(),
        }
    }
}

/// A successful answer whose data is pre-serialized.
pub struct RawApiResponse {
    pub data: RawJson,
    pub meta: Meta,
}

impl IntoResponse for RawApiResponse {
    fn into_response(self) -> Response {
        let mut buf = BytesMut::with_capacity(self.data.0.len() + 200);
        buf.put_slice(b"{\"success\":true,\"data\":");
        buf.put_slice(&self.data.0);
        buf.put_slice(b",\"meta\":");
        self.meta.write_json(&mut buf);
        buf.put_u8(b'}');
        json_response(buf.freeze())
    }
}

pub fn json_response(body: Bytes) -> Response {
    // Room for what the edge adds on the way out (security headers, `X-Request-Id`, at times
    // a cookie): a map that grows rehashes every entry (under callgrind the growth was a
    // third of the security headers' cost on a JSON answer).
    let mut headers = HeaderMap::with_capacity(RESPONSE_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut response = Response::new(axum::body::Body::from(body));
    *response.headers_mut() = headers;
    response
}

/// Headers a JSON answer holds once the edge is done with it, and a few spare.
const RESPONSE_HEADERS: usize = 14;

#[derive(Serialize)]
struct ErrorBody<'a> {
    success: bool,
    error: ErrorPart<'a>,
    meta: &'a Meta,
}

#[derive(Serialize)]
struct ErrorPart<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
}

pub fn error_body(code: &str, message: &str, details: Option<&str>, meta: &Meta) -> Bytes {
    let body = ErrorBody {
        success: false,
        error: ErrorPart {
            code,
            message,
            details,
        },
        meta,
    };
    // Serializing these plain strings cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn the_hand_written_meta_equals_the_derived_one() {
        let mut meta = Meta::now();
        let mut plain = BytesMut::new();
        meta.write_json(&mut plain);
        assert_eq!(&plain[..], &serde_json::to_vec(&meta).unwrap()[..]);
        meta.cache_state = Some("stale");
        meta.updated_at = Some(crate::timefmt::iso8601(chrono::Utc::now()));
        meta.age_seconds = Some(42);
        meta.retry_after_seconds = Some(5);
        let mut full = BytesMut::new();
        meta.write_json(&mut full);
        assert_eq!(&full[..], &serde_json::to_vec(&meta).unwrap()[..]);
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn raw_and_typed_answers_write_the_same_envelope() {
        let data = serde_json::json!({"lots": 3, "name": "a\"b"});
        let typed = body_json(ApiResponse::new(data.clone()).into_response()).await;
        let raw = RawApiResponse {
            data: RawJson::from_value(&data).unwrap(),
            meta: Meta::now(),
        };
        let raw = body_json(raw.into_response()).await;
        for v in [&typed, &raw] {
            assert_eq!(v["success"], true);
            assert_eq!(v["data"], data);
            assert_eq!(v["meta"]["app_version"], APP_VERSION);
            assert!(v["meta"]["timestamp"].as_str().unwrap().ends_with('Z'));
            assert!(v["meta"].get("cache_state").is_none());
        }
    }
}
