//! The page registry from both sides: `GET /admin/api/pages`, `PUT /admin/api/pages/{route}`
//! (JSON, `X-CSRF-Token`) and the `/admin/pages` page whose forms post `csrf_token`.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, put};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::{AdminUser, User};
use crate::db::{self, audit, pages::PageRow};
use crate::http::client::ClientIp;
use crate::http::extract::ApiForm;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiResponse, AppError};
use crate::i18n::Lang;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/pages", get(list))
        .route("/admin/api/pages/{route}", put(update))
        .route("/admin/pages", get(page).post(page_form))
}

/// The catalog's report pages with their stored status (released when not stored yet).
async fn rows(app: &AppState) -> Result<Vec<PageRow>, AppError> {
    let stored = db::pages::list(&app.db.request).await?;
    Ok(catalog::PAGES
        .iter()
        .filter(|p| p.registered)
        .map(|p| {
            stored
                .iter()
                .find(|s| s.route == p.route)
                .cloned()
                .unwrap_or_else(|| PageRow {
                    route: p.route.into(),
                    title: p.title(Lang::En),
                    status: "released".into(),
                    updated_at: Utc::now(),
                    updated_by: None,
                })
        })
        .collect())
}

async fn list(
    State(app): State<AppState>,
    _admin: AdminUser,
) -> Result<ApiResponse<Vec<PageRow>>, AppError> {
    Ok(ApiResponse::new(rows(&app).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: String,
}

/// Validates and stores a status change, and writes it to the audit log.
async fn change(
    app: &AppState,
    user: &User,
    ip: std::net::IpAddr,
    route: &str,
    status: &str,
) -> Result<PageRow, AppError> {
    let route = if route.starts_with('/') {
        route.to_string()
    } else {
        format!("/{route}")
    };
    let page = catalog::find(&route)
        .filter(|p| p.registered)
        .ok_or_else(|| AppError::not_found(format!("{route} is not a page of the registry")))?;
    if !matches!(status, "released" | "dev") {
        return Err(AppError::validation(
            "status: must be \"released\" or \"dev\"",
        ));
    }
    let row = db::pages::set_status(
        &app.db.request,
        page.route,
        &page.title(Lang::En),
        status,
        &user.username,
        Utc::now(),
    )
    .await?;
    // This worker hides or shows the page's APIs at once; the others within a refresh.
    app.pages.set(page.route, status == "dev");
    audit::record(
        &app.db.request,
        &audit::NewEntry {
            actor: &user.username,
            ip: Some(&ip.to_string()),
            action: "page.status",
            target: Some(page.route),
            detail: json!({ "status": status }),
        },
    )
    .await?;
    Ok(row)
}

async fn update(
    State(app): State<AppState>,
    AdminUser(user): AdminUser,
    ClientIp(ip): ClientIp,
    ApiPath(route): ApiPath<String>,
    ApiJson(body): ApiJson<StatusChange>,
) -> Result<ApiResponse<PageRow>, AppError> {
    Ok(ApiResponse::new(
        change(&app, &user, ip, &route, &body.status).await?,
    ))
}

async fn page(
    State(app): State<AppState>,
    AdminUser(user): AdminUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::layout(&app, &session, &user, "/admin/pages", lang).await?;
    // The stored title is the registry's; the page shows the catalogue's, in the user's
    // language.
    let pages: Vec<_> = rows(&app)
        .await?
        .into_iter()
        .map(|row| {
            let title = catalog::find(&row.route).map_or(row.title.clone(), |p| p.title(lang));
            PageRow { title, ..row }
        })
        .collect();
    templates::render(
        "admin_pages.html",
        &layout,
        &json!({ "pages": pages, "message": null }),
    )
}

#[derive(Deserialize)]
struct StatusForm {
    route: String,
    status: String,
}

async fn page_form(
    State(app): State<AppState>,
    AdminUser(user): AdminUser,
    ClientIp(ip): ClientIp,
    form: ApiForm<StatusForm>,
) -> Result<Response, AppError> {
    let ApiForm(form) = form;
    change(&app, &user, ip, &form.route, &form.status).await?;
    Ok(Redirect::to("/admin/pages").into_response())
}
