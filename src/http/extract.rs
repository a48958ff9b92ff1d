//! Extractors that turn bad input into the contract's errors instead of axum's plain-text
//! rejections: wrong content type → 415, oversized body → 413, malformed or mistyped JSON or
//! query → 400 `VALIDATION_ERROR` naming the problem.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppError;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
            "this endpoint takes JSON: send the body with Content-Type: application/json".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            AppError::validation(format!("malformed JSON body: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => {
            AppError::validation(format!("invalid JSON body: {}", e.body_text()))
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

/// Query-string parameters.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AppError::validation(
                format!("invalid query parameters: {}", e.body_text()),
            )),
            Err(other) => Err(AppError::validation(other.body_text())),
        }
    }
}
