//! HTML templates (minijinja), embedded in the binary from `templates/`.
//!
//! Auto-escaping is on for every `.html` template. The one way a value enters a `<script>`
//! element is `|tojson`, replaced here by an HTML-safe version (DESIGN §4.4): on top of JSON it
//! escapes `<`, `>`, `&`, `'` and U+2028 / U+2029, so no value can close the element, open a
//! comment, or break a JavaScript string literal. A test walks every template and fails when a
//! `{{ … }}` inside `<script>` lacks it.
//!
//! Pages extend `base.html` and render through [`render`] with a [`Layout`] (title, user, CSRF
//! token, navigation, language, plant time zone) plus their own fields.
//!
//! Functions and filters every template has:
//! - `t("key", name=value…)`: the message in the page's language ([`crate::i18n`]); a test
//!   fails when a template shows text that does not come from it;
//! - `asset("css/app.css")`: the content-hashed URL of a static file ([`crate::assets`]);
//! - `|num` (thousands separators), `|when` (an RFC 3339 time shown in the plant's time zone,
//!   `PLANT_TIME_ZONE`).
//!
//! No template holds an inline script or style: the Content-Security-Policy allows neither.
//! Data a script needs goes into a `<script type="application/json">` block through `tojson`.

use std::sync::LazyLock;

use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde::Serialize;

use crate::http::AppError;
use crate::i18n::{self, FluentValue, Lang};

/// Every template, embedded at compile time (name, source). A test checks the list against
/// the folder so a new file cannot be forgotten.
pub const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("logout.html", include_str!("../templates/logout.html")),
    ("portal.html", include_str!("../templates/portal.html")),
    ("qc_gate.html", include_str!("../templates/qc_gate.html")),
    ("resource.html", include_str!("../templates/resource.html")),
    (
        "resource_history.html",
        include_str!("../templates/resource_history.html"),
    ),
    (
        "job_query.html",
        include_str!("../templates/job_query.html"),
    ),
    (
        "wip_overview.html",
        include_str!("../templates/wip_overview.html"),
    ),
    (
        "wip_detail.html",
        include_str!("../templates/wip_detail.html"),
    ),
    (
        "wip_overview_content.html",
        include_str!("../templates/wip_overview_content.html"),
    ),
    (
        "hold_overview.html",
        include_str!("../templates/hold_overview.html"),
    ),
    (
        "hold_detail.html",
        include_str!("../templates/hold_detail.html"),
    ),
    (
        "hold_lots.html",
        include_str!("../templates/hold_lots.html"),
    ),
    (
        "hold_history.html",
        include_str!("../templates/hold_history.html"),
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
    env.add_function("t", translate);
    env.add_function("asset", asset_url);
    env.add_filter("num", format_number);
    env.add_filter("when", format_time);
    env.add_filter("chart", chart_markup);
    env.add_filter("duration", format_duration);
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

/// The language of the page being rendered, read from the context's `layout.lang`.
fn page_lang(state: &State) -> Lang {
    state
        .lookup("layout")
        .and_then(|layout| layout.get_attr("lang").ok())
        .and_then(|lang| lang.as_str().and_then(Lang::parse))
        .unwrap_or_default()
}

/// `t("key", name=value…)`.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = page_lang(state);
    if !i18n::has(lang, key) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("no message {key:?} in the {lang} catalogue"),
        ));
    }
    let mut args = i18n::args(std::iter::empty::<(&str, FluentValue)>());
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let fluent = if let Some(n) = value.as_i64() {
            FluentValue::from(n)
        } else if value.is_number() {
            FluentValue::from(f64::try_from(value.clone()).unwrap_or_default())
        } else if value.is_none() || value.is_undefined() {
            FluentValue::from("—")
        } else {
            FluentValue::from(value.to_string())
        };
        args.set(name.to_string(), fluent);
    }
    kwargs.assert_all_used()?;
    Ok(i18n::t_args(lang, key, &args))
}

/// `asset("css/app.css")` → `/static/css/app.3f2a9c1e.css`. Marked safe: the URLs are our own
/// (letters, digits, `/`, `.`, `_`), so escaping would only turn `/` into `&#x2f;`.
fn asset_url(path: &str) -> Result<Value, Error> {
    crate::assets::url(path)
        .map(|url| Value::from_safe_string(url.to_string()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("no static file {path:?} (is it in assets::FILES?)"),
            )
        })
}

/// `|num`: thousands separators (`12,345`); a fraction keeps one decimal.
fn format_number(value: &Value) -> String {
    if let Some(n) = value.as_i64() {
        crate::timefmt::group_thousands(n)
    } else if let Ok(f) = f64::try_from(value.clone()) {
        crate::timefmt::format_decimal(f, 1)
    } else {
        value.to_string()
    }
}

/// `|duration`: seconds as people read a duration, in the page's language ("3 d 4 h",
/// [`i18n::duration`]).
fn format_duration(state: &State, value: &Value) -> String {
    match f64::try_from(value.clone()) {
        Ok(seconds) if seconds.is_finite() => {
            i18n::duration(page_lang(state), seconds.round() as i64)
        }
        _ => value.to_string(),
    }
}

/// `|chart`: the markup of a server-rendered chart (`charts::Chart::svg` / `table`), placed as
/// markup. Only what the chart module writes passes: an `<svg>` of class `chart` or a
/// `<table class="chart-table …">` (the module escapes every label it writes); anything else
/// is escaped as text, so the filter cannot be turned into a general `|safe`.
fn chart_markup(value: &Value) -> Value {
    let text = value.as_str().unwrap_or_default();
    let ours = text.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart "#)
        || text.starts_with(r#"<table class="chart-table"#);
    if ours && !text.to_ascii_lowercase().contains("<script") {
        Value::from_safe_string(text.to_string())
    } else {
        Value::from(text)
    }
}

/// `|when`: an RFC 3339 time as `2026-12-06 14:05:09` in the plant's time zone (the context's
/// `layout.time_zone`); anything else is shown as it is.
fn format_time(state: &State, value: &Value) -> String {
    let zone = state
        .lookup("layout")
        .and_then(|layout| layout.get_attr("time_zone").ok())
        .and_then(|zone| zone.as_str().and_then(|z| z.parse().ok()))
        .unwrap_or(chrono_tz::Tz::Asia__Taipei);
    match value.as_str() {
        Some(text) => crate::timefmt::plant_time(text, zone).unwrap_or_else(|| text.to_string()),
        None => value.to_string(),
    }
}

/// The part of every page the base layout reads.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub title: String,
    /// The logged-in user, for the header (none on the login and error pages).
    pub user: Option<LayoutUser>,
    /// A fresh masked CSRF token for `<meta name="csrf-token">` and forms.
    pub csrf_token: Option<String>,
    /// The navigation drawers with the entries this user may open.
    pub nav: Vec<NavGroup>,
    /// The current path, to mark the active entry.
    pub path: String,
    /// The page's language (`<html lang>`, `t(…)`).
    pub lang: Lang,
    /// The plant's IANA time zone (`PLANT_TIME_ZONE`), for `|when` and the client script.
    pub time_zone: &'static str,
    /// A small centred page (login, logout).
    pub narrow: bool,
}

impl Layout {
    /// A layout without user or navigation (login, logout, error pages).
    pub fn bare(title: impl Into<String>, lang: Lang, time_zone: &'static str) -> Self {
        Self {
            title: title.into(),
            user: None,
            csrf_token: None,
            nav: Vec::new(),
            path: String::new(),
            lang,
            time_zone,
            narrow: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LayoutUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

/// One drawer of the header: real-time reports, history reports, query tools, administration.
#[derive(Debug, Clone, Serialize)]
pub struct NavGroup {
    pub title: String,
    pub items: Vec<NavItem>,
    /// The current page is in this drawer.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub route: String,
    pub title: String,
    pub description: String,
    /// `released` or `dev` (only administrators see `dev` entries).
    pub status: String,
}

/// A language the switch offers, named in its own language.
#[derive(Serialize)]
struct LanguageOption {
    tag: &'static str,
    name: &'static str,
}

const LANGUAGES: [LanguageOption; 2] = [
    LanguageOption {
        tag: "zh-TW",
        name: "中文",
    },
    LanguageOption {
        tag: "en",
        name: "English",
    },
];

/// What `static/js/api.js` reads from the page's `#mes-config` block: the language, the plant's
/// time zone and the client's words in that language (placeholders in braces, filled by the
/// script).
#[derive(Serialize)]
struct ClientConfig {
    lang: Lang,
    time_zone: &'static str,
    text: ClientText,
}

#[derive(Serialize)]
struct ClientText {
    retrying: String,
    retry_failed: String,
    retry_now: String,
    stale: String,
    as_of: String,
    unreachable: String,
    health: std::collections::BTreeMap<&'static str, String>,
    /// `MES.fmt.duration`'s words ([`i18n::duration`]'s rule).
    duration: std::collections::BTreeMap<&'static str, String>,
}

fn client_config(layout: &Layout) -> ClientConfig {
    let lang = layout.lang;
    let slot = |name: &'static str| (name, FluentValue::from(format!("{{{name}}}")));
    ClientConfig {
        lang,
        time_zone: layout.time_zone,
        text: ClientText {
            retrying: i18n::t_args(
                lang,
                "client-retrying",
                &i18n::args([slot("message"), slot("seconds")]),
            ),
            retry_failed: i18n::t_args(lang, "client-retry-failed", &i18n::args([slot("message")])),
            retry_now: i18n::t(lang, "client-retry-now").into_owned(),
            stale: i18n::t_args(lang, "client-stale", &i18n::args([slot("time")])),
            as_of: i18n::t_args(lang, "client-as-of", &i18n::args([slot("time")])),
            unreachable: i18n::t(lang, "client-unreachable").into_owned(),
            health: ["healthy", "degraded", "unhealthy", "unknown"]
                .map(|s| (s, i18n::t(lang, &format!("health-{s}")).into_owned()))
                .into(),
            duration: [
                ("days_hours", "duration-days-hours"),
                ("hours_minutes", "duration-hours-minutes"),
                ("minutes", "duration-minutes"),
            ]
            .map(|(name, key)| {
                let slots = i18n::args([slot("days"), slot("hours"), slot("minutes")]);
                (name, i18n::t_args(lang, key, &slots))
            })
            .into(),
        },
    }
}

#[derive(Serialize)]
struct LayoutView<'a> {
    #[serde(flatten)]
    layout: &'a Layout,
    languages: &'static [LanguageOption; 2],
    client: ClientConfig,
}

#[derive(Serialize)]
struct Context<'a, T: Serialize> {
    layout: LayoutView<'a>,
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
        .render(Serde(Context {
            layout: LayoutView {
                layout,
                languages: &LANGUAGES,
                client: client_config(layout),
            },
            page,
        }))
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
