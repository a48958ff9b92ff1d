//! One login attempt, shared by `POST /api/auth/login` and the login form: empty fields,
//! the per-IP limit, the per-user failure limit, the provider, and the session rotation on success.

use std::net::IpAddr;
use std::sync::Arc;

use super::User;
use super::provider::{LoginError, LoginProvider};
use super::rate_limit::LoginLimiter;
use crate::app::AppState;
use crate::http::AppError;
use crate::session::SessionHandle;

/// The login machinery of one process.
pub struct Login {
    /// `None` when no provider is configured (nobody can log in).
    pub provider: Option<Arc<dyn LoginProvider>>,
    pub limiter: Arc<LoginLimiter>,
}

/// Longest user name or password accepted (a guard against absurd bodies, not a policy).
const MAX_FIELD: usize = 1_024;

/// Checks the credentials and, on success, logs the request's session in (new id, new CSRF
/// secret). Every failure is an [`AppError`] with a message fit for the user.
pub async fn attempt(
    app: &AppState,
    session: &SessionHandle,
    ip: IpAddr,
    username: &str,
    password: &str,
) -> Result<User, AppError> {
    let username = username.trim();
    if username.is_empty() {
        return Err(AppError::validation("username: enter your user name"));
    }
    if password.is_empty() {
        return Err(AppError::validation("password: enter your password"));
    }
    if username.len() > MAX_FIELD || password.len() > MAX_FIELD {
        return Err(AppError::validation(format!(
            "username and password are at most {MAX_FIELD} bytes each"
        )));
    }
    if let Err(retry_after) = app.login.limiter.hit(ip).await {
        tracing::warn!(client.ip = %ip, retry_after_s = retry_after, "login rate limit reached");
        return Err(AppError::TooManyRequests {
            message: format!(
                "too many login attempts from your address; try again in {retry_after} seconds"
            ),
            retry_after,
        });
    }
    if let Err(retry_after) = app.login.limiter.check_user(username).await {
        tracing::warn!(user = %username, client.ip = %ip, retry_after_s = retry_after, "login failure limit reached for the user");
        return Err(AppError::TooManyRequests {
            message: format!(
                "too many failed logins for this user name; try again in {retry_after} seconds"
            ),
            retry_after,
        });
    }
    let Some(provider) = &app.login.provider else {
        return Err(AppError::ServiceUnavailable {
            message: "no login provider is configured (LDAP_API_URL); ask the administrator".into(),
            retry_after: 60,
        });
    };
    match provider.authenticate(username, password).await {
        Ok(user) => {
            session.login(user.clone()).await?;
            tracing::info!(user = %user.username, provider = provider.name(), client.ip = %ip, "login");
            Ok(user)
        }
        Err(LoginError::BadCredentials) => {
            app.login.limiter.failed(username).await;
            tracing::info!(user = %username, provider = provider.name(), client.ip = %ip, "login refused");
            Err(AppError::Unauthorized("wrong username or password".into()))
        }
        Err(LoginError::Unavailable(reason)) => {
            tracing::warn!(provider = provider.name(), client.ip = %ip, reason = %reason, "login service failed");
            Err(AppError::Unauthorized(
                "the login service did not answer properly, so you are not logged in; try again \
                 in a moment"
                    .into(),
            ))
        }
    }
}
