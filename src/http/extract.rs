//! Extractors that turn bad input into the contract's errors instead of axum's plain-text
//! rejections: wrong content type → 415, oversized body → 413, a body slower than
//! `BODY_READ_TIMEOUT` → 408, malformed or mistyped JSON,
//! query or path parameter → 400 `VALIDATION_ERROR` naming the problem.
//!
//! Each is axum's own extractor, derived with our rejection: the `From` impls below are the
//! whole of the translation.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use super::AppError;
use super::middleware::request_body::timeout_in;

/// A JSON body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Query-string parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

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
