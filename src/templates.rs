//! HTML templates (minijinja), embedded in the binary from `templates/`.
//!
//! Auto-escaping is on for every `.html` template. The one way a value enters a `<script>`
//! element is `|tojson`, replaced here by an HTML-safe version (DESIGN §4.4): on top of JSON it
//! escapes `<`, `>`, `&`, `'` and U+2028 / U+2029, so no value can close the element, open a
//! comment, or break a JavaScript string literal. A test walks every template and fails when a
//! `{{ … }}` inside `<script>` lacks it.
//!
//! Pages extend `base.html` and render through [`render`] with a [`Layout`] (title, user, CSRF
//! token, navigation) plus their own fields.

use std::sync::LazyLock;

use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, Value};
use serde::Serialize;

use crate::http::AppError;

/// Every template, embedded at compile time (name, source). A test checks the list against
/// the folder so a new file cannot be forgotten.
pub const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("logout.html", include_str!("../templates/logout.html")),
    ("portal.html", include_str!("../templates/portal.html")),
    ("resource.html", include_str!("../templates/resource.html")),
    (
        "resource_history.html",
        include_str!("../templates/resource_history.html"),
    ),
    (
        "wip_overview.html",
        include_str!("../templates/wip_overview.html"),
    ),
    (
        "hold_overview.html",
        include_str!("../templates/hold_overview.html"),
    ),
    (
        "admin_performance.html",
        include_str!("../templates/admin_performance.html"),
    ),
    (
        "admin_pages.html",
        include_str!("../templates/admin_pages.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_filter("tojson", html_safe_tojson);
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e:#}"));
    }
    env
});

/// JSON that is safe inside `<script>` and inside HTML attributes.
pub fn to_safe_json(value: &impl Serialize) -> serde_json::Result<String> {
    let json = serde_json::to_string(value)?;
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn html_safe_tojson(value: &Value) -> Result<Value, Error> {
    to_safe_json(value)
        .map(Value::from_safe_string)
        .map_err(|e| {
            Error::new(ErrorKind::BadSerialization, "cannot serialize to JSON").with_source(e)
        })
}

/// The part of every page the base layout reads.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Layout {
    pub title: String,
    /// The logged-in user, for the header (none on the login and error pages).
    pub user: Option<LayoutUser>,
    /// A fresh masked CSRF token for `<meta name="csrf-token">` and forms.
    pub csrf_token: Option<String>,
    /// The navigation entries this user may open.
    pub nav: Vec<NavItem>,
    /// The current path, to mark the active entry.
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayoutUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub route: String,
    pub title: String,
    /// `released` or `dev` (only administrators see `dev` entries).
    pub status: String,
}

#[derive(Serialize)]
struct Context<'a, T: Serialize> {
    layout: &'a Layout,
    #[serde(flatten)]
    page: &'a T,
}

/// Renders `template` with the layout and the page's own fields.
pub fn render_string<T: Serialize>(
    template: &str,
    layout: &Layout,
    page: &T,
) -> Result<String, AppError> {
    let template = ENV
        .get_template(template)
        .map_err(|e| AppError::internal(anyhow::anyhow!("template {template}: {e:#}")))?;
    template
        .render(Serde(Context { layout, page }))
        .map_err(|e| AppError::internal(anyhow::anyhow!("rendering {}: {e:#}", template.name())))
}

/// [`render_string`] as an HTML response. Pages carry a CSRF token and user data, so no cache
/// (browser or proxy) may keep them.
pub fn render<T: Serialize>(
    template: &str,
    layout: &Layout,
    page: &T,
) -> Result<Response, AppError> {
    let mut response = Html(render_string(template, layout, page)?).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_json_escapes_what_could_end_a_script_or_a_string() {
        let tricky = "</script><!--<script>'&\u{2028}\u{2029}\"\\";
        let json = to_safe_json(&tricky).unwrap();
        for bad in ["<", ">", "&", "'", "\u{2028}", "\u{2029}"] {
            assert!(!json.contains(bad), "{bad:?} in {json}");
        }
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, tricky);
    }

    #[test]
    fn every_template_compiles_and_the_list_matches_the_folder() {
        LazyLock::force(&ENV);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".html"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(
            on_disk, listed,
            "every file in templates/ must be listed in SOURCES"
        );
    }
}
