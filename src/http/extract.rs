//! Extractors that turn bad input into the contract's errors instead of axum's plain-text
//! rejections: wrong content type → 415, oversized body → 413, a body slower than
//! `BODY_READ_TIMEOUT` → 408, malformed or mistyped JSON,
//! query or path parameter → 400 `VALIDATION_ERROR` naming the problem.
//!
//! Each wraps axum's own extractor: the text checks of [`super::text`] first (no NUL, valid
//! UTF-8: 400 naming the parameter), then axum's parse, whose rejections the `From` impls
//! below translate.

use axum::extract::rejection::{
    JsonRejection, MissingJsonContentType, PathRejection, QueryRejection,
};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::middleware::request_body::timeout_in;
use super::{AppError, text};

/// A JSON body; no string in it may hold a NUL ([`super::text`]).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(JsonRejection::from(MissingJsonContentType::default()).into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::from(JsonRejection::from(e)))?;
        text::check_json(&bytes)?;
        // serde_json alone on the way that succeeds; axum's parse (which tracks the path of
        // every value to name the one that failed, about half the parse's instructions) only
        // to word the error of a body that did not parse.
        if let Ok(value) = serde_json::from_slice::<T>(&bytes) {
            return Ok(Self(value));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// `application/json` or `application/<anything>+json`, as axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(essence) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .map(str::trim)
    else {
        return false;
    };
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() >= 5 && sub.as_bytes()[sub.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// Query-string parameters; each name and value UTF-8 without NUL.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let raw = parts.uri.query().unwrap_or_default();
        text::check_urlencoded(raw.as_bytes(), "query parameter")?;
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Path parameters; none may hold a NUL (axum already refuses invalid UTF-8).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if let Ok(params) = RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = params.iter().find(|(_, v)| v.contains('\0'))
        {
            return Err(AppError::validation(format!(
                "path parameter `{name}`: contains a NUL character, which no text accepts"
            )));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// An `application/x-www-form-urlencoded` body; each name and value UTF-8 without NUL.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| AppError::from(JsonRejection::from(e)))?;
        text::check_urlencoded(&bytes, "form field")?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let axum::Form(value) = axum::Form::<T>::from_request(req, state)
            .await
            .map_err(|e| {
                AppError::validation(format!("the form could not be read: {}", e.body_text()))
            })?;
        Ok(Self(value))
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "this endpoint takes JSON: send the body with Content-Type: application/json"
                    .into(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                AppError::validation(format!("malformed JSON body: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                AppError::validation(format!("invalid JSON body: {}", e.body_text()))
            }
            JsonRejection::BytesRejection(e) if let Some(seconds) = timeout_in(&e) => {
                AppError::BodyTimeout { seconds }
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge { limit: None }
            }
            other => AppError::validation(format!(
                "cannot read the request body: {}",
                other.body_text()
            )),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        match rejection {
            QueryRejection::FailedToDeserializeQueryString(e) => {
                AppError::validation(format!("invalid query parameters: {}", e.body_text()))
            }
            other => AppError::validation(other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            // axum names the parameter (`Invalid UTF-8 in `lotid``, `Cannot parse `id` …`).
            PathRejection::FailedToDeserializePathParams(e) => {
                AppError::validation(format!("invalid path parameter: {}", e.body_text()))
            }
            // The route has no such parameter: a bug in the route table.
            other => AppError::internal(anyhow::anyhow!("path parameters: {}", other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, header};
    use axum::routing::{get, post};
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;
    use crate::http::ErrorCode;

    #[derive(Deserialize)]
    struct Body1 {
        n: u32,
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/json",
                post(|ApiJson(b): ApiJson<Body1>| async move { b.n.to_string() }),
            )
            .route(
                "/query",
                get(|ApiQuery(b): ApiQuery<Body1>| async move { b.n.to_string() }),
            )
            .route(
                "/path/{n}",
                get(|ApiPath(n): ApiPath<u32>| async move { n.to_string() }),
            )
    }

    async fn call(request: Request<Body>) -> (u16, String) {
        let response = app().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn json_post(body: &str, content_type: Option<&str>) -> Request<Body> {
        let mut request = Request::post("/json");
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        request.body(Body::from(body.to_string())).unwrap()
    }

    fn code_of(body: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["error"]["code"].as_str().unwrap().to_string()
    }

    #[test]
    fn json_content_types_are_recognised_without_regard_to_case() {
        let headers = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            h
        };
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ",
            "application/problem+json",
            "application/VND.MES+JSON;v=1",
        ] {
            assert!(is_json(&headers(yes)), "{yes}");
        }
        for no in [
            "text/json",
            "application/jsonx",
            "application/x-www-form-urlencoded",
            "json",
            "application/",
            "application/json5",
        ] {
            assert!(!is_json(&headers(no)), "{no}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn each_bad_input_gets_the_contract_error() {
        let ok = call(json_post(r#"{"n":7}"#, Some("application/json"))).await;
        assert_eq!(ok, (200, "7".into()));
        let cases = [
            (
                json_post(r#"{"n":7}"#, None),
                415,
                ErrorCode::UnsupportedMediaType,
            ),
            (
                json_post("{", Some("application/json")),
                400,
                ErrorCode::ValidationError,
            ),
            (
                json_post(r#"{"n":"x"}"#, Some("application/json")),
                400,
                ErrorCode::ValidationError,
            ),
            (
                Request::get("/query?n=x").body(Body::empty()).unwrap(),
                400,
                ErrorCode::ValidationError,
            ),
            (
                Request::get("/path/x").body(Body::empty()).unwrap(),
                400,
                ErrorCode::ValidationError,
            ),
        ];
        for (request, status, code) in cases {
            let uri = request.uri().clone();
            let (got, body) = call(request).await;
            assert_eq!(got, status, "{uri}: {body}");
            assert_eq!(code_of(&body), code.as_str(), "{uri}");
        }
        let (_, body) = call(Request::get("/path/x").body(Body::empty()).unwrap()).await;
        assert!(body.contains("invalid path parameter"), "{body}");
        let (_, body) = call(Request::get("/query?n=1").body(Body::empty()).unwrap()).await;
        assert_eq!(body, "1");
    }
}
