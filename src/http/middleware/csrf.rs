//! CSRF protection on every state-changing request (DESIGN §4.2), in front of every route.
//!
//! Safe methods are GET, HEAD and OPTIONS, nothing else; TRACE is refused with 405; every other
//! method, known or not, is checked. The verdict, in order:
//!
//! 1. `Sec-Fetch-Site: cross-site` is refused, and `same-site` unless the request's `Origin`
//!    is one of `TRUSTED_ORIGINS`;
//! 2. an `Origin` header, when present, must be the origin this request was served under or one
//!    of `TRUSTED_ORIGINS` (exact scheme, host and port; `null` is refused);
//! 3. the token: the `X-CSRF-Token` header or the `csrf_token` field of an urlencoded or
//!    multipart form body (never the query string). Two headers, two fields, or a header and a
//!    field that differ are refused; the token must unmask to the session's secret. The header
//!    is judged before any body is read, and a form body is read only when the request can
//!    still pass (see [`check`]), so a forged post costs no buffer.
//!
//! Method-override headers and `_method` fields are never read, so they cannot change the
//! verdict. Rejections are 403 with a code and a message that says what to send; they happen
//! before any handler, so they create no session and set no cookie. In `report-only` mode the
//! same verdict is logged (its reason, never the token) and counted, and the request goes on.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::app::AppState;
use crate::config::auth::CsrfMode;
use crate::http::error::ErrorCode;
use crate::http::{AppError, client};
use crate::session::{SessionHandle, csrf};

use super::{body_limit, request_body};

pub const HEADER: &str = "x-csrf-token";
/// The headers read on every checked request, as names (a `&str` is parsed each lookup).
const TOKEN_HEADER: HeaderName = HeaderName::from_static(HEADER);
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
pub const FIELD: &str = "csrf_token";

/// Counters of CSRF verdicts since start (report-only mode counts what it let through).
#[derive(Debug, Default)]
pub struct CsrfStats {
    pub rejected: AtomicU64,
    pub reported: AtomicU64,
}

/// Why a request failed the check; `reason` is for the log, `message` for the client.
struct Failure {
    code: ErrorCode,
    reason: &'static str,
    message: String,
}

impl Failure {
    fn origin(reason: &'static str, detail: String) -> Self {
        Self {
            code: ErrorCode::CsrfOriginRejected,
            reason,
            message: format!(
                "cross-site request refused: {detail}. State-changing requests must come from \
                 this site's own pages (or an origin listed in TRUSTED_ORIGINS)"
            ),
        }
    }

    fn missing() -> Self {
        Self {
            code: ErrorCode::CsrfTokenMissing,
            reason: "no token",
            message: "this request changes state and needs a CSRF token: send it in the \
                      X-CSRF-Token header (get one from GET /api/auth/csrf) or, from a form, in \
                      the hidden csrf_token field the page renders"
                .into(),
        }
    }

    fn invalid(reason: &'static str) -> Self {
        Self {
            code: ErrorCode::CsrfTokenInvalid,
            reason,
            message: format!(
                "the CSRF token was refused ({reason}); tokens belong to one session and change \
                 at login and logout: send a current one in the X-CSRF-Token header (get it \
                 from GET /api/auth/csrf), or reload the form and send it again"
            ),
        }
    }
}

pub fn is_safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD || method == Method::OPTIONS
}

/// Runs `next` when the request passes (or in report-only mode), else answers the 403.
pub async fn guard(app: &AppState, req: Request, next: Next) -> Response {
    if is_safe(req.method()) {
        return next.run(req).await;
    }
    if req.method() == Method::TRACE {
        return AppError::MethodNotAllowed.into_response();
    }
    // Boxed: the check (body and multipart reading, session loading) is a large future that
    // would otherwise be part of every request's future, copied on each safe request too.
    let (req, verdict) = match Box::pin(check(app, req)).await {
        Ok(checked) => checked,
        Err(error) => return error.into_response(),
    };
    let Err(failure) = verdict else {
        return next.run(req).await;
    };
    let enforce = app.config.auth.csrf_mode == CsrfMode::Enforce;
    tracing::warn!(
        csrf.code = failure.code.as_str(),
        csrf.reason = failure.reason,
        csrf.enforced = enforce,
        http.method = %req.method(),
        http.path = req.uri().path(),
        "CSRF check failed"
    );
    if enforce {
        app.csrf_stats.rejected.fetch_add(1, Ordering::Relaxed);
        AppError::Csrf {
            code: failure.code,
            message: failure.message,
        }
        .into_response()
    } else {
        app.csrf_stats.reported.fetch_add(1, Ordering::Relaxed);
        next.run(req).await
    }
}

/// Computes the verdict; the request comes back whole (its body re-attached when a form was
/// read). Header evidence decides first — the origin headers, then the header token against
/// the session — and a form body is read only for a request that can still pass: one whose
/// header token is valid (to check that a `csrf_token` field agrees) or one without a header
/// token that has a session and sends a form. `Err` only when the body cannot be read (too
/// large, too slow) or the session cannot be loaded.
async fn check(app: &AppState, req: Request) -> Result<(Request, Result<(), Failure>), AppError> {
    if let Err(failure) = check_origin(app, &req) {
        return Ok((req, Err(failure)));
    }
    let header_token = match single_header_token(req.headers()) {
        Ok(token) => token,
        Err(failure) => return Ok((req, Err(failure))),
    };
    let form = form_kind(req.headers());
    if header_token.is_none() && form.is_none() {
        return Ok((req, Err(Failure::missing())));
    }
    let handle = req
        .extensions()
        .get::<SessionHandle>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the session layer is missing")))?;
    let Some(session) = handle.get().await? else {
        return Ok((req, Err(Failure::invalid("no session"))));
    };
    let secret = &session.data.csrf_secret;
    if let Some(token) = &header_token
        && !csrf::verify(secret, token)
    {
        return Ok((
            req,
            Err(Failure::invalid("token does not match the session")),
        ));
    }
    // The request can pass: its body may be read, within the limit of who sends it.
    let limit = if session.data.user.is_some() {
        app.config.http.max_body_bytes
    } else {
        app.config.http.max_anonymous_body_bytes
    };
    if let Some(refused) = body_limit::declared_over(&req, limit) {
        return Err(refused);
    }
    let Some(kind) = form else {
        let req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
        return Ok((req, Ok(())));
    };
    let (req, field_token) = read_form_field(req, kind, limit).await?;
    let verdict = match (header_token, field_token) {
        (_, Err(failure)) => Err(failure),
        (Some(h), Ok(Some(f))) if h != f => Err(Failure::invalid("header and form field disagree")),
        (Some(_), _) => Ok(()),
        (None, Ok(Some(token))) if csrf::verify(secret, &token) => Ok(()),
        (None, Ok(Some(_))) => Err(Failure::invalid("token does not match the session")),
        (None, Ok(None)) => Err(Failure::missing()),
    };
    Ok((req, verdict))
}

/// Reads the form body (bounded by the body limits and `BODY_READ_TIMEOUT`) and its
/// `csrf_token` field; the request comes back with the body re-attached.
async fn read_form_field(
    req: Request,
    kind: FormKind,
    limit: usize,
) -> Result<(Request, Result<Option<String>, Failure>), AppError> {
    let (parts, body) = req.into_parts();
    let bytes =
        axum::body::to_bytes(body, limit)
            .await
            .map_err(|error| match request_body::timeout_in(&error) {
                Some(seconds) => AppError::BodyTimeout { seconds },
                None => AppError::PayloadTooLarge { limit: Some(limit) },
            })?;
    let field = field_token(kind, &parts.headers, &bytes).await;
    Ok((Request::from_parts(parts, Body::from(bytes)), field))
}

fn check_origin(app: &AppState, req: &Request) -> Result<(), Failure> {
    let settings = &app.config.auth;
    let headers = req.headers();
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let origin = match (origins.next(), origins.next()) {
        (None, _) => None,
        (Some(value), None) => Some(value.to_str().unwrap_or("null").trim()),
        (Some(_), Some(_)) => {
            return Err(Failure::origin(
                "two Origin headers",
                "two Origin headers were sent".into(),
            ));
        }
    };
    let trusted = |o: &str| {
        client::normalized_origin(o)
            .is_some_and(|o| settings.trusted_origins.iter().any(|t| **t == *o))
    };
    match headers
        .get(SEC_FETCH_SITE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        Some(site) if site.eq_ignore_ascii_case("cross-site") => {
            return Err(Failure::origin(
                "Sec-Fetch-Site: cross-site",
                "the browser marked it Sec-Fetch-Site: cross-site".into(),
            ));
        }
        Some(site) if site.eq_ignore_ascii_case("same-site") && !origin.is_some_and(trusted) => {
            return Err(Failure::origin(
                "Sec-Fetch-Site: same-site",
                "the browser marked it Sec-Fetch-Site: same-site and its origin is not trusted"
                    .into(),
            ));
        }
        _ => {}
    }
    let Some(origin) = origin else {
        return Ok(());
    };
    if origin.eq_ignore_ascii_case("null") {
        return Err(Failure::origin("Origin: null", "its Origin is null".into()));
    }
    let normalized = client::normalized_origin(origin);
    let authority = req.uri().authority().map(|a| a.as_str());
    // A page of this site sends as `Origin` the very text the served origin is joined from:
    // the same text has the same normal form, so the served origin is not built again.
    let served = match client::served_origin_parts(settings, headers, req.extensions(), authority) {
        Some((scheme, host))
            if origin
                .strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix("://"))
                == Some(host) =>
        {
            normalized.clone()
        }
        Some((scheme, host)) => client::joined_origin(scheme, host),
        None => None,
    };
    if normalized.is_some() && (normalized == served || trusted(origin)) {
        Ok(())
    } else {
        Err(Failure::origin(
            "foreign Origin",
            format!(
                "its Origin {} is not {}",
                printable(origin),
                served.as_deref().unwrap_or("this site")
            ),
        ))
    }
}

/// An origin for a message: at most 100 printable characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn single_header_token(headers: &HeaderMap) -> Result<Option<String>, Failure> {
    let mut values = headers.get_all(TOKEN_HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(Failure::invalid("two X-CSRF-Token headers")),
        (Some(value), None) => match value.to_str() {
            // Empty (or blank) is no token at all: CSRF_TOKEN_MISSING, not INVALID.
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) if v.len() <= csrf::TOKEN_CHARS * 2 => Ok(Some(v.trim().to_string())),
            _ => Err(Failure::invalid("malformed or oversized token")),
        },
    }
}

#[derive(Clone, Copy)]
enum FormKind {
    UrlEncoded,
    Multipart,
}

fn form_kind(headers: &HeaderMap) -> Option<FormKind> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(FormKind::UrlEncoded)
    } else if essence.eq_ignore_ascii_case("multipart/form-data") {
        Some(FormKind::Multipart)
    } else {
        None
    }
}

/// The single `csrf_token` field of a form body.
async fn field_token(
    kind: FormKind,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<String>, Failure> {
    let mut found: Vec<String> = Vec::new();
    match kind {
        FormKind::UrlEncoded => {
            for (name, value) in form_urlencoded::parse(body) {
                if name == FIELD {
                    found.push(value.into_owned());
                }
            }
        }
        FormKind::Multipart => {
            let boundary = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|ct| multer::parse_boundary(ct).ok());
            if let Some(boundary) = boundary {
                let stream = futures_util::stream::once(std::future::ready(
                    Ok::<_, std::io::Error>(body.clone()),
                ));
                let mut multipart = multer::Multipart::new(stream, boundary);
                while let Ok(Some(field)) = multipart.next_field().await {
                    if field.name() == Some(FIELD) {
                        match field.text().await {
                            Ok(text) => found.push(text),
                            Err(_) => return Err(Failure::invalid("unreadable csrf_token field")),
                        }
                    }
                }
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => {
            let token = found.pop().unwrap_or_default();
            if token.trim().is_empty() {
                // An empty field is no token at all, as an empty header is.
                Ok(None)
            } else if token.len() > csrf::TOKEN_CHARS * 2 {
                Err(Failure::invalid("malformed or oversized token"))
            } else {
                Ok(Some(token.trim().to_string()))
            }
        }
        _ => Err(Failure::invalid("two csrf_token fields")),
    }
}
