//! The pages of the portal (DESIGN §3.0) and their place in the page registry.
//!
//! Report pages are registered in the `pages` table by the migration `0002_page_registry.sql`
//! (released); an administrator may move one back to `dev` (administrators only). A page
//! missing from the table counts as released. A page that is not built
//! yet may be listed: its link answers the 404 page, never a 500.

use crate::app::AppState;
use crate::auth::User;
use crate::auth::extract::is_admin;
use crate::db;
use crate::http::AppError;
use crate::templates::{Layout, LayoutUser, NavItem};

/// One page of the portal.
#[derive(Debug, Clone, Copy)]
pub struct PageInfo {
    pub route: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// In the page registry (report pages); administration pages are for admins anyway.
    pub registered: bool,
}

pub const PAGES: &[PageInfo] = &[
    PageInfo {
        route: "/",
        title: "Portal",
        description: "Start page: every report in one place.",
        registered: true,
    },
    PageInfo {
        route: "/wip-overview",
        title: "WIP overview",
        description: "Lots and quantity in process by workcenter and package.",
        registered: true,
    },
    PageInfo {
        route: "/hold-overview",
        title: "Hold overview",
        description: "Lots on hold, by reason and age.",
        registered: true,
    },
    PageInfo {
        route: "/resource",
        title: "Equipment status",
        description: "Live SEMI E10 state of every tool.",
        registered: true,
    },
    PageInfo {
        route: "/resource-history",
        title: "Equipment history",
        description: "State history and utilization over a period.",
        registered: true,
    },
    PageInfo {
        route: "/admin/pages",
        title: "Pages",
        description: "Release report pages or keep them in development.",
        registered: false,
    },
    PageInfo {
        route: "/admin/performance",
        title: "Performance",
        description: "Health, pools, caches and workers.",
        registered: false,
    },
];

pub fn find(route: &str) -> Option<&'static PageInfo> {
    PAGES.iter().find(|p| p.route == route)
}

/// Whether `user` may open the registered page `route`: released pages are for everyone,
/// `dev` pages for administrators only.
pub async fn check_access(app: &AppState, user: &User, route: &str) -> Result<(), AppError> {
    if is_admin(app, user) {
        return Ok(());
    }
    match db::pages::status(&app.db.request, route).await?.as_deref() {
        Some("dev") => Err(AppError::Forbidden(format!(
            "the page {route} is still in development and open to administrators only"
        ))),
        _ => Ok(()),
    }
}

/// Opens the registered page `route` for `user`: refuses a `dev` page to non-administrators
/// and returns the base layout (title from the catalog). The one call a page handler needs
/// before rendering its template.
pub async fn open_page(
    app: &AppState,
    session: &crate::session::SessionHandle,
    user: &User,
    route: &str,
) -> Result<Layout, AppError> {
    check_access(app, user, route).await?;
    let title = find(route).map_or(route, |p| p.title);
    layout(app, session, user, title, route).await
}

/// The base layout for a logged-in page: navigation by the registry, a fresh CSRF token.
pub async fn layout(
    app: &AppState,
    session: &crate::session::SessionHandle,
    user: &User,
    title: &str,
    path: &str,
) -> Result<Layout, AppError> {
    let admin = is_admin(app, user);
    let statuses = db::pages::list(&app.db.request).await?;
    let nav = PAGES
        .iter()
        .filter(|p| admin || p.registered)
        .filter_map(|p| {
            let status = statuses
                .iter()
                .find(|s| s.route == p.route)
                .map(|s| s.status.clone())
                .unwrap_or_else(|| "released".into());
            (admin || status == "released").then(|| NavItem {
                route: p.route.into(),
                title: p.title.into(),
                status,
            })
        })
        .collect();
    Ok(Layout {
        title: title.into(),
        user: Some(LayoutUser {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            is_admin: admin,
        }),
        csrf_token: Some(session.csrf_token().await?),
        nav,
        path: path.into(),
    })
}
