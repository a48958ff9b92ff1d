//! Turns error responses into what the client can use: an HTML page for browser paths, the
//! JSON envelope for API paths — with `error.details` added in development only. Also gives
//! the router's bare 405 the contract's shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::error_response;
use crate::http::{AppError, ErrorContext, pages};
use crate::i18n::Lang;

/// `json`: the request's path answers JSON; `expose_details`: development mode; `lang`: the
/// request's language, for `error.message` and the error page.
pub fn render(
    response: Response,
    json: bool,
    expose_details: bool,
    lang: Lang,
    time_zone: &'static str,
) -> Response {
    let response = if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && response.extensions().get::<ErrorContext>().is_none()
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut replaced = AppError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            replaced.headers_mut().insert(header::ALLOW, allow);
        }
        replaced
    } else {
        response
    };

    let Some(ctx) = response.extensions().get::<ErrorContext>().cloned() else {
        return response;
    };
    let status = response.status();
    let detail = expose_details.then_some(ctx.detail.clone()).flatten();
    if json && detail.is_none() && !ctx.needs_translation(lang) {
        // The envelope already written is the answer.
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let rendered = if json {
        error_response(status, ctx.localized_context(lang), detail.as_deref())
    } else {
        pages::error_page(status, &ctx, detail.as_deref(), lang, time_zone)
    };
    let (new_parts, body) = rendered.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in new_parts.headers.iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    if !json {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    parts.extensions.insert(ctx);
    Response::from_parts(parts, body)
}
