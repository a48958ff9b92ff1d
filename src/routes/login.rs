//! The login and logout pages: `GET`/`POST /admin/login`, `GET`/`POST /admin/logout`.
//!
//! The form carries the hidden `csrf_token` of an anonymous session; a failed login re-renders
//! the form with a message; a successful one rotates the session and redirects to `next`,
//! which is accepted only as a local path.

use axum::Form;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{MaybeUser, login};
use crate::http::AppError;
use crate::http::client::ClientIp;
use crate::i18n::{self, Lang};
use crate::session::SessionHandle;
use crate::templates::{self, Layout};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(login_page).post(login_form))
        .route("/admin/logout", get(logout_page).post(logout_form))
}

/// `next` when it is a path on this site, else `/`: no scheme, no host, no `//`, no
/// backslash, no control characters.
pub fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control())
                && n.len() <= 2_048 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Serialize)]
struct LoginPage<'a> {
    next: &'a str,
    username: &'a str,
    message: Option<&'a str>,
}

async fn render_login(
    app: &AppState,
    session: &SessionHandle,
    lang: Lang,
    status: StatusCode,
    page: LoginPage<'_>,
) -> Result<Response, AppError> {
    let mut layout = Layout::bare(
        i18n::t(lang, "login-heading"),
        lang,
        app.config.pages.time_zone.name(),
    );
    layout.csrf_token = Some(session.csrf_token().await?);
    layout.path = "/admin/login".into();
    layout.narrow = true;
    let mut response = templates::render("login.html", &layout, &page)?;
    *response.status_mut() = status;
    Ok(response)
}

async fn login_page(
    State(app): State<AppState>,
    session: SessionHandle,
    MaybeUser(user): MaybeUser,
    lang: Lang,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let next = local_next(query.as_ref().ok().and_then(|q| q.next.as_deref()));
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render_login(
        &app,
        &session,
        lang,
        StatusCode::OK,
        LoginPage {
            next: &next,
            username: "",
            message: None,
        },
    )
    .await
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_form(
    State(app): State<AppState>,
    session: SessionHandle,
    ClientIp(ip): ClientIp,
    lang: Lang,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form.map_err(|e| {
        AppError::validation(format!(
            "the login form could not be read: {}",
            e.body_text()
        ))
    })?;
    let next = local_next(form.next.as_deref());
    match login::attempt(&app, &session, ip, &form.username, &form.password).await {
        Ok(_) => Ok(Redirect::to(&next).into_response()),
        Err(error) if error.status().is_client_error() => {
            let retry_after = error.retry_after();
            let message = error.context().localized(lang).into_owned();
            let mut response = render_login(
                &app,
                &session,
                lang,
                error.status(),
                LoginPage {
                    next: &next,
                    username: form.username.trim(),
                    message: Some(&message),
                },
            )
            .await?;
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

async fn logout_page(
    State(app): State<AppState>,
    session: SessionHandle,
    MaybeUser(user): MaybeUser,
    lang: Lang,
) -> Result<Response, AppError> {
    let mut layout = Layout::bare(
        i18n::t(lang, "logout-heading"),
        lang,
        app.config.pages.time_zone.name(),
    );
    layout.user = user.map(|u| crate::templates::LayoutUser {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        is_admin: false,
    });
    layout.csrf_token = Some(session.csrf_token().await?);
    layout.path = "/admin/logout".into();
    layout.narrow = true;
    templates::render("logout.html", &layout, &())
}

async fn logout_form(session: SessionHandle) -> Result<Response, AppError> {
    session.logout().await?;
    Ok(Redirect::to("/admin/login").into_response())
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn next_is_a_local_path_or_the_portal() {
        for ok in ["/", "/wip-overview", "/admin/pages?x=1#y"] {
            assert_eq!(local_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil",
            "javascript:alert(1)",
            "evil.example/x",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_next(None), "/");
    }
}
