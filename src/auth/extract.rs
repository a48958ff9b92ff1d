//! `CurrentUser`, `AdminUser` and `MaybeUser`: authentication in the type system.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::User;
use crate::app::AppState;
use crate::http::{AppError, is_json_path};
use crate::session::SessionHandle;

/// A logged-in user; handlers that take it answer 401 (JSON) or redirect to the login page.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Arc<User>);

/// A logged-in administrator (mail in `ADMIN_EMAILS`); others get 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Arc<User>);

/// The user if one is logged in; never rejects (the portal and the login page use it).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Arc<User>>);

/// Why an extractor refused: a redirect to the login page, or an error answer.
#[derive(Debug)]
pub enum AuthRejection {
    Login { location: String },
    Error(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Error(e) => e.into_response(),
            Self::Login { location } => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                if let Ok(value) = HeaderValue::try_from(location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
        }
    }
}

impl From<AppError> for AuthRejection {
    fn from(e: AppError) -> Self {
        Self::Error(e)
    }
}

impl FromRequestParts<AppState> for SessionHandle {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<SessionHandle>()
            .cloned()
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!(
                    "no session handle: the session middleware is not in front of this route"
                ))
            })
    }
}

/// Whether `user` is an administrator under the current `ADMIN_EMAILS`.
pub fn is_admin(app: &AppState, user: &User) -> bool {
    user.provider_admin || app.config.auth.is_admin_mail(&user.mail)
}

/// The login page URL that comes back to this request's path afterwards.
pub fn login_location(parts: &Parts) -> String {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/admin/login?next={encoded}")
}

async fn user_of(parts: &mut Parts, app: &AppState) -> Result<Option<Arc<User>>, AppError> {
    let session = SessionHandle::from_request_parts(parts, app).await?;
    Ok(session.user().await?)
}

fn unauthenticated(parts: &Parts) -> AuthRejection {
    if is_json_path(parts.uri.path()) {
        AuthRejection::Error(AppError::Unauthorized(
            "log in first: POST /api/auth/login with your username and password (and the \
             X-CSRF-Token header from GET /api/auth/csrf)"
                .into(),
        ))
    } else {
        AuthRejection::Login {
            location: login_location(parts),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match user_of(parts, app).await? {
            Some(user) => Ok(Self(user)),
            None => Err(unauthenticated(parts)),
        }
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(user) = user_of(parts, app).await? else {
            return Err(unauthenticated(parts));
        };
        if is_admin(app, &user) {
            Ok(Self(user))
        } else {
            Err(AuthRejection::Error(AppError::Forbidden(format!(
                "administrators only: the account {} is not listed in ADMIN_EMAILS",
                user.username
            ))))
        }
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        Ok(Self(user_of(parts, app).await?))
    }
}
