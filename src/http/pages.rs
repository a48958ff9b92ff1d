//! HTML pages for errors, rendered from `templates/error.html`: not found, not allowed, the
//! CSRF page that says to reload the form, internal errors, and the degraded page that counts
//! down its `Retry-After` and retries by itself.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::http::ErrorContext;
use crate::http::error::ErrorCode;
use crate::i18n::{self, Lang};
use crate::templates::{self, Layout};

/// The catalogue key of the page's title.
fn title(status: StatusCode, code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "error-title-not-found",
        ErrorCode::CsrfTokenMissing
        | ErrorCode::CsrfTokenInvalid
        | ErrorCode::CsrfOriginRejected => "error-title-form-expired",
        ErrorCode::Unauthorized => "error-title-log-in",
        ErrorCode::Forbidden => "error-title-forbidden",
        _ if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::GATEWAY_TIMEOUT => {
            "error-title-degraded"
        }
        _ if status.is_server_error() => "error-title-internal",
        _ => "error-title-rejected",
    }
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    message: &'a str,
    code: &'a str,
    status: u16,
    csrf: bool,
    retry_after: Option<u64>,
    detail: Option<&'a str>,
}

/// The page for an error response in `lang`; `detail` is only passed in development.
pub fn error_page(
    status: StatusCode,
    ctx: &ErrorContext,
    detail: Option<&str>,
    lang: Lang,
    time_zone: &'static str,
) -> Response {
    let mut layout = Layout::bare(i18n::t(lang, title(status, ctx.code)), lang, time_zone);
    layout.narrow = true;
    let message = ctx.localized(lang);
    let page = ErrorPage {
        message: &message,
        code: ctx.code_str,
        status: status.as_u16(),
        csrf: matches!(
            ctx.code,
            ErrorCode::CsrfTokenMissing
                | ErrorCode::CsrfTokenInvalid
                | ErrorCode::CsrfOriginRejected
        ),
        retry_after: ctx.retry_after,
        detail,
    };
    let html = templates::render_string("error.html", &layout, &page).unwrap_or_else(|_| {
        // The templates are compiled in and tested; this is the last resort if one broke.
        format!(
            "<!doctype html><title>Error</title><h1>Error {}</h1>",
            status.as_u16()
        )
    });
    (status, Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Arc;

    async fn body(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn ctx(code: ErrorCode, message: &str, retry_after: Option<u64>) -> ErrorContext {
        ErrorContext {
            code,
            code_str: code.as_str(),
            message: Arc::from(message),
            detail: None,
            retry_after,
        }
    }

    #[tokio::test]
    async fn markup_in_messages_is_escaped() {
        let page = error_page(
            StatusCode::NOT_FOUND,
            &ctx(ErrorCode::NotFound, r#"<a href="x">'&'</a>"#, None),
            None,
            Lang::En,
            "Asia/Taipei",
        );
        let html = body(page).await;
        assert!(html.contains("&lt;a href=&quot;x&quot;&gt;"), "{html}");
        assert!(!html.contains(r#"<a href="x">"#));
    }

    #[tokio::test]
    async fn the_degraded_page_counts_down_its_retry_after() {
        let page = error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            &ctx(ErrorCode::DbPoolExhausted, "busy", Some(7)),
            None,
            Lang::En,
            "Asia/Taipei",
        );
        let html = body(page).await;
        assert!(html.contains("Temporarily degraded"));
        assert!(html.contains("data-retry-after=\"7\""), "{html}");
        let script = crate::assets::url("js/pages/error.js").unwrap();
        assert!(html.contains(script), "the countdown script: {html}");
    }

    #[tokio::test]
    async fn the_csrf_page_says_to_reload_the_form() {
        let page = error_page(
            StatusCode::FORBIDDEN,
            &ctx(ErrorCode::CsrfTokenMissing, "no token", None),
            None,
            Lang::En,
            "Asia/Taipei",
        );
        assert!(body(page).await.contains("reload the form"));
        let page = error_page(
            StatusCode::FORBIDDEN,
            &ctx(ErrorCode::CsrfTokenMissing, "no token", None),
            None,
            Lang::ZhTw,
            "Asia/Taipei",
        );
        let html = body(page).await;
        assert!(html.contains("<html lang=\"zh-TW\">"), "{html}");
        assert!(html.contains("重新載入"), "{html}");
    }
}
