//! The pages of the portal (DESIGN §3.0) and their place in the page registry.
//!
//! Report pages are registered in the `pages` table by the migration `0002_page_registry.sql`
//! (released); an administrator may move one back to `dev` (administrators only). A page
//! missing from the table counts as released. A page that is not built
//! yet may be listed: its link answers the 404 page, never a 500.

use crate::app::AppState;
use crate::auth::User;
use crate::auth::extract::is_admin;
use crate::http::AppError;
use crate::i18n::{self, Lang};
use crate::routes::page_registry::{EQUIPMENT_EVENTS, WIP_EVENTS};
use crate::templates::{Layout, LayoutUser, NavGroup, NavItem};

/// The drawers of the header (PRODUCT §3), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawer {
    Realtime,
    History,
    Query,
    Admin,
}

impl Drawer {
    pub const ALL: [Drawer; 4] = [
        Drawer::Realtime,
        Drawer::History,
        Drawer::Query,
        Drawer::Admin,
    ];

    /// The catalogue key of its title.
    pub fn key(self) -> &'static str {
        match self {
            Self::Realtime => "nav-realtime",
            Self::History => "nav-history",
            Self::Query => "nav-query",
            Self::Admin => "nav-admin",
        }
    }
}

/// One page of the portal.
#[derive(Debug, Clone, Copy)]
pub struct PageInfo {
    pub route: &'static str,
    /// The catalogue key of its title (`page-…`); `page-…-desc` is its description.
    pub key: &'static str,
    /// The drawer of the header it is listed in (none: the home page, reached by the brand).
    pub drawer: Option<Drawer>,
    /// In the page registry (report pages); administration pages are for admins anyway.
    pub registered: bool,
    /// The API paths (prefixes, whole segments) and event topics the page uses: while every
    /// page listing one is `dev`, non-administrators get 403 there (see [`super::page_registry`]).
    /// A prefix names APIs other pages may not be built yet.
    pub apis: &'static [&'static str],
}

pub const PAGES: &[PageInfo] = &[
    PageInfo {
        route: "/",
        key: "page-portal",
        drawer: None,
        registered: true,
        apis: &[
            "/api/wip/overview/summary",
            "/api/wip/overview/hold",
            "/api/resource/status/summary",
            WIP_EVENTS,
            EQUIPMENT_EVENTS,
        ],
    },
    PageInfo {
        route: "/wip-overview",
        key: "page-wip-overview",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &[
            "/api/wip/overview",
            "/api/wip/meta",
            "/api/wip/lots",
            WIP_EVENTS,
        ],
    },
    PageInfo {
        route: "/wip-detail",
        key: "page-wip-detail",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &[
            "/api/wip/detail",
            "/api/wip/lot",
            "/api/wip/lots",
            "/api/wip/meta",
            WIP_EVENTS,
        ],
    },
    PageInfo {
        route: "/hold-overview",
        key: "page-hold-overview",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &[
            "/api/hold-overview",
            "/api/wip/overview/hold",
            "/api/wip/lot",
            WIP_EVENTS,
        ],
    },
    PageInfo {
        route: "/hold-detail",
        key: "page-hold-detail",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &["/api/hold-detail", "/api/wip/lot", WIP_EVENTS],
    },
    PageInfo {
        route: "/resource",
        key: "page-resource",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &["/api/resource/status", EQUIPMENT_EVENTS],
    },
    PageInfo {
        route: "/qc-gate",
        key: "page-qc-gate",
        drawer: Some(Drawer::Realtime),
        registered: true,
        apis: &["/api/qc-gate", WIP_EVENTS],
    },
    PageInfo {
        route: "/resource-history",
        key: "page-resource-history",
        drawer: Some(Drawer::History),
        registered: true,
        apis: &["/api/resource/history", "/api/jobs"],
    },
    PageInfo {
        route: "/hold-history",
        key: "page-hold-history",
        drawer: Some(Drawer::History),
        registered: true,
        apis: &["/api/hold-history", "/api/jobs"],
    },
    PageInfo {
        route: "/job-query",
        key: "page-job-query",
        drawer: Some(Drawer::Query),
        registered: true,
        apis: &["/api/jobs-maintenance"],
    },
    PageInfo {
        route: "/admin/pages",
        key: "page-admin-pages",
        drawer: Some(Drawer::Admin),
        registered: false,
        apis: &[],
    },
    PageInfo {
        route: "/admin/performance",
        key: "page-admin-performance",
        drawer: Some(Drawer::Admin),
        registered: false,
        apis: &[],
    },
];

impl PageInfo {
    pub fn title(&self, lang: Lang) -> String {
        i18n::t(lang, self.key).into_owned()
    }

    pub fn description(&self, lang: Lang) -> String {
        i18n::t(lang, &format!("{}-desc", self.key)).into_owned()
    }
}

pub fn find(route: &str) -> Option<&'static PageInfo> {
    PAGES.iter().find(|p| p.route == route)
}

/// Whether `user` may open the registered page `route`: released pages are for everyone,
/// `dev` pages for administrators only. Read from this worker's page registry (memory; at most
/// [`super::page_registry::REFRESH_EVERY`] behind a change made on another worker), so opening
/// a page costs no database call.
pub fn check_access(app: &AppState, user: &User, route: &str) -> Result<(), AppError> {
    if !is_admin(app, user) && app.pages.is_dev(route) {
        return Err(AppError::Forbidden(format!(
            "the page {route} is still in development and open to administrators only"
        )));
    }
    Ok(())
}

/// Opens the registered page `route` for `user`: refuses a `dev` page to non-administrators
/// and returns the base layout in `lang` (title from the catalog). The one call a page
/// handler needs before rendering its template.
pub async fn open_page(
    app: &AppState,
    session: &crate::session::SessionHandle,
    user: &User,
    route: &str,
    lang: Lang,
) -> Result<Layout, AppError> {
    check_access(app, user, route)?;
    layout(app, session, user, route, lang).await
}

/// The base layout for a logged-in page at `path`: the drawers with the pages this user may
/// open (by the in-memory registry), a fresh CSRF token, the language and the plant's time zone.
pub async fn layout(
    app: &AppState,
    session: &crate::session::SessionHandle,
    user: &User,
    path: &str,
    lang: Lang,
) -> Result<Layout, AppError> {
    let admin = is_admin(app, user);
    let visible: Vec<(&PageInfo, String)> = PAGES
        .iter()
        .filter(|p| admin || p.registered)
        .filter_map(|p| {
            let dev = p.registered && app.pages.is_dev(p.route);
            let status = if dev { "dev" } else { "released" };
            (admin || !dev).then_some((p, status.to_string()))
        })
        .collect();
    let nav = Drawer::ALL
        .iter()
        .filter_map(|&drawer| {
            let items: Vec<NavItem> = visible
                .iter()
                .filter(|(p, _)| p.drawer == Some(drawer))
                .map(|(p, status)| NavItem {
                    route: p.route.into(),
                    title: p.title(lang),
                    description: p.description(lang),
                    status: status.clone(),
                })
                .collect();
            (!items.is_empty()).then(|| NavGroup {
                title: i18n::t(lang, drawer.key()).into_owned(),
                current: items.iter().any(|i| i.route == path),
                items,
            })
        })
        .collect();
    let title = find(path).map_or_else(|| path.to_string(), |p| p.title(lang));
    let mut layout = Layout::bare(title, lang, app.config.pages.time_zone.name());
    layout.user = Some(LayoutUser {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        is_admin: admin,
    });
    layout.csrf_token = Some(session.csrf_token().await?);
    layout.nav = nav;
    layout.path = path.into();
    Ok(layout)
}
