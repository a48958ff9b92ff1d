//! Dev pages hide their APIs (issue 14, item 6): a request to an API path that the page
//! registry hides ([`crate::routes::page_registry`]: every page listing it is `dev`) is 403
//! `FORBIDDEN` for a logged-in non-administrator, before any handler runs. Anonymous requests
//! go on to the handler, which answers 401 as for any API. The decision reads the registry's
//! in-memory copy (one atomic load when no page is `dev`); the session is loaded only for a
//! hidden path, from its in-process cache on the hot path.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::extract::is_admin;
use crate::http::AppError;
use crate::session::SessionHandle;

/// The refusal for `req`, if its path is hidden from its user. The path is judged before any
/// await (the request itself is not held across one).
pub fn check<'a>(
    app: &'a AppState,
    req: &Request,
    session: &'a SessionHandle,
) -> Option<impl Future<Output = Option<Response>> + Send + 'a> {
    let path = req.uri().path();
    if !path.starts_with("/api/") || !app.pages.hides(path) {
        return None;
    }
    Some(refuse(app, path.to_owned(), session))
}

async fn refuse(app: &AppState, path: String, session: &SessionHandle) -> Option<Response> {
    let user = match session.user().await {
        Ok(user) => user?,
        Err(error) => return Some(AppError::from(error).into_response()),
    };
    if is_admin(app, &user) {
        return None;
    }
    Some(
        AppError::Forbidden(format!(
            "{path} belongs to pages still in development, open to administrators only"
        ))
        .into_response(),
    )
}
