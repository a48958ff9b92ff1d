//! HTML pages for errors: not found, internal error, and the degraded page that counts down
//! its `Retry-After` and retries by itself.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::http::ErrorContext;
use crate::http::error::ErrorCode;

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn title(status: StatusCode, code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "Page not found",
        ErrorCode::CsrfTokenMissing
        | ErrorCode::CsrfTokenInvalid
        | ErrorCode::CsrfOriginRejected => "The form expired",
        ErrorCode::Unauthorized => "Please log in",
        ErrorCode::Forbidden => "Not allowed",
        _ if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::GATEWAY_TIMEOUT => {
            "Temporarily degraded"
        }
        _ if status.is_server_error() => "Something went wrong",
        _ => "Request not accepted",
    }
}

/// The page for an error response; `detail` is only passed in development.
pub fn error_page(status: StatusCode, ctx: &ErrorContext, detail: Option<&str>) -> Response {
    let title = title(status, ctx.code);
    let mut body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · MES Dashboard</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}\
         code{{background:#f0f4f8;padding:.1rem .3rem}}</style></head><body>\
         <h1>{title}</h1><p>{message}</p><p><small>Error <code>{code}</code> (HTTP {status})</small></p>",
        message = escape_html(&ctx.message),
        code = ctx.code_str,
        status = status.as_u16(),
    );
    if matches!(
        ctx.code,
        ErrorCode::CsrfTokenMissing | ErrorCode::CsrfTokenInvalid | ErrorCode::CsrfOriginRejected
    ) {
        body.push_str("<p>Go back, reload the form, and send it again.</p>");
    }
    if let Some(seconds) = ctx.retry_after {
        body.push_str(&format!(
            "<p id=\"retry\" data-retry-after=\"{seconds}\">Retrying in <span id=\"countdown\">{seconds}</span> s…</p>\
             <script>(function(){{var el=document.getElementById('retry');\
             var left=parseInt(el.dataset.retryAfter,10)||5;var out=document.getElementById('countdown');\
             var t=setInterval(function(){{left-=1;out.textContent=String(Math.max(left,0));\
             if(left<=0){{clearInterval(t);location.reload();}}}},1000);}})();</script>"
        ));
    }
    if let Some(detail) = detail {
        body.push_str(&format!(
            "<h2>Details (development only)</h2><pre>{}</pre>",
            escape_html(detail)
        ));
    }
    body.push_str("<p><a href=\"/\">Back to the portal</a></p></body></html>");
    (status, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_messages_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }
}
