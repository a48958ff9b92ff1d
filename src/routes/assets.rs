//! `/static/…` and `/favicon.ico`: the embedded files of [`crate::assets`], public (the login
//! page needs them before anyone is logged in).
//!
//! A hashed URL never changes its bytes, so it is cached for a year as `immutable`; the ETag
//! still answers a revalidation with 304. An unknown or stale name is a 404.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::assets::{self, Asset};
use crate::http::AppError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `/favicon.ico` has a fixed name, so it may change: a day, then revalidate.
const FAVICON_CACHE: &str = "public, max-age=86400";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{*path}", get(file))
        .route("/favicon.ico", get(favicon))
}

async fn file(req: Request) -> Result<Response, AppError> {
    let asset = assets::by_url(req.uri().path())
        .ok_or_else(|| AppError::not_found(format!("no static file at {}", req.uri().path())))?;
    Ok(serve(asset, req.headers(), IMMUTABLE))
}

/// Browsers ask for `/favicon.ico` on their own; the SVG answers it.
async fn favicon(headers: HeaderMap) -> Result<Response, AppError> {
    let asset = assets::by_path("favicon.svg")
        .ok_or_else(|| AppError::not_found("no favicon is embedded"))?;
    Ok(serve(asset, &headers, FAVICON_CACHE))
}

fn serve(asset: &'static Asset, request: &HeaderMap, cache: &'static str) -> Response {
    let etag = HeaderValue::from_str(&asset.etag).expect("a hex ETag is a valid header");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    let headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, etag),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        headers,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.bytes,
    )
        .into_response()
}
