//! `/api/auth/*`: JSON login, logout, the current user, the CSRF token and the heartbeat.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::extract::is_admin;
use crate::auth::{CurrentUser, User, login};
use crate::http::client::ClientIp;
use crate::http::extract::ApiJson;
use crate::http::{ApiResponse, AppError};
use crate::session::SessionHandle;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login_json))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/csrf", get(csrf))
        .route("/api/auth/heartbeat", patch(heartbeat))
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The user as the API shows it.
#[derive(Debug, Serialize)]
pub struct UserView {
    username: String,
    display_name: String,
    mail: String,
    department: Option<String>,
    is_admin: bool,
}

impl UserView {
    fn new(app: &AppState, user: &User) -> Self {
        Self {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            mail: user.mail.clone(),
            department: user.department.clone(),
            is_admin: is_admin(app, user),
        }
    }
}

#[derive(Serialize)]
struct LoggedIn {
    user: UserView,
    /// The new session's CSRF token (the one from before login no longer works).
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

async fn login_json(
    State(app): State<AppState>,
    session: SessionHandle,
    ClientIp(ip): ClientIp,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<ApiResponse<LoggedIn>, AppError> {
    let user = login::attempt(
        &app,
        &session,
        ip,
        &credentials.username,
        &credentials.password,
    )
    .await?;
    let current = session.ensure().await?;
    Ok(ApiResponse::new(LoggedIn {
        user: UserView::new(&app, &user),
        csrf_token: crate::session::csrf::mask(&current.data.csrf_secret),
        expires_at: current.expires_at,
    }))
}

#[derive(Serialize)]
struct LoggedOut {
    logged_out: bool,
}

async fn logout(session: SessionHandle) -> Result<ApiResponse<LoggedOut>, AppError> {
    session.logout().await?;
    Ok(ApiResponse::new(LoggedOut { logged_out: true }))
}

#[derive(Serialize)]
struct Me {
    user: UserView,
    expires_at: Option<DateTime<Utc>>,
}

async fn me(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
) -> Result<ApiResponse<Me>, AppError> {
    let expires_at = session.get().await?.map(|s| s.expires_at);
    Ok(ApiResponse::new(Me {
        user: UserView::new(&app, &user),
        expires_at,
    }))
}

#[derive(Serialize)]
struct CsrfToken {
    csrf_token: String,
    header: &'static str,
    form_field: &'static str,
}

/// A fresh masked token of the session's secret; creates an anonymous session when there is
/// none, so a login form can be protected too. Never cached.
async fn csrf(session: SessionHandle) -> Result<Response, AppError> {
    let mut response = ApiResponse::new(CsrfToken {
        csrf_token: session.csrf_token().await?,
        header: "X-CSRF-Token",
        form_field: "csrf_token",
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Serialize)]
struct Extended {
    expires_at: DateTime<Utc>,
}

/// Extends the session by a full `SESSION_LIFETIME`: pages call it while the user is active.
async fn heartbeat(
    _user: CurrentUser,
    session: SessionHandle,
) -> Result<ApiResponse<Extended>, AppError> {
    match session.extend().await? {
        Some(s) => Ok(ApiResponse::new(Extended {
            expires_at: s.expires_at,
        })),
        None => Err(AppError::Unauthorized(
            "the session ended (logged out elsewhere or expired); log in again".into(),
        )),
    }
}
