//! The `/hold-overview` and `/hold-detail` pages, server-rendered from the in-memory WIP
//! snapshot with the URL's filters (the same hold filters as the APIs): KPIs, the matrix and
//! the charts arrive as markup (SVG from `charts/`), the held-lot table is filled by the page
//! script from the lot API (sorted and paged on the server). A live `wip` event re-renders the
//! page's regions in place (`static/js/pages/hold.js`).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::hold_query::{self, Group, HoldFigures};
use crate::charts::{Bar, Chart, ChartText, Item, Orientation, Pareto};
use crate::http::AppError;
use crate::i18n::{self, Lang};
use crate::routes::catalog;
use crate::routes::hold::{ByType, held_matrix};
use crate::routes::hold_params::{self as hp, HOLD_FILTERS, LIST_EXTRA};
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hold-overview", get(overview))
        .route("/hold-detail", get(detail))
}

/// The page's query without what is not a hold filter (`lang`, `kiosk`, …), as pairs.
fn filter_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(name, _)| HOLD_FILTERS.contains(&&**name) || LIST_EXTRA.contains(&&**name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The Pareto of the reasons of one hold type; a bar opens the reason's detail.
fn pareto(lang: Lang, id: &str, title: &str, reasons: &[&Group<'_>]) -> Value {
    let empty = i18n::t(lang, "hold-chart-empty");
    let desc = i18n::t(lang, "hold-ov-pareto-desc");
    let category = i18n::t(lang, "hold-ov-reason");
    let value = i18n::t(lang, "hold-value-lots");
    let cumulative = i18n::t(lang, "hold-cumulative");
    let chart = Pareto {
        text: ChartText {
            id,
            title,
            desc: &desc,
            empty: &empty,
        },
        items: reasons
            .iter()
            .map(|g| Item::new(g.key, g.lots as f64).filter("reason", g.key))
            .collect(),
        marker_80: true,
        category_label: &category,
        value_label: &value,
        cumulative_label: &cumulative,
        ..Pareto::default()
    };
    json!({"id": id, "title": title, "svg": chart.svg(), "table": chart.table()})
}

/// A bar chart of groups whose bars filter the table on `param`.
fn bars(lang: Lang, id: &str, title: &str, param: &str, groups: &[Group<'_>]) -> Value {
    let empty = i18n::t(lang, "hold-chart-empty");
    let desc = i18n::t(lang, "hold-dt-chart-desc");
    let value = i18n::t(lang, "hold-value-lots");
    let chart = Bar {
        text: ChartText {
            id,
            title,
            desc: &desc,
            empty: &empty,
        },
        items: groups
            .iter()
            .map(|g| {
                let label = match param {
                    "age_range" => i18n::t(lang, &age_key(g.key)).into_owned(),
                    _ => g.name.unwrap_or(g.key).to_string(),
                };
                Item::new(label, g.lots as f64).filter(param.to_string(), g.key)
            })
            .collect(),
        orientation: if param == "age_range" {
            Orientation::Vertical
        } else {
            Orientation::Horizontal
        },
        value_labels: true,
        category_label: title,
        value_label: &value,
        format: Default::default(),
    };
    json!({"id": id, "title": title, "svg": chart.svg(), "table": chart.table()})
}

/// `hold-age-0-1` … `hold-age-7` (for `7+`).
fn age_key(range: &str) -> String {
    format!("hold-age-{}", range.trim_end_matches('+'))
}

/// KPIs as the template shows them: the days at station in seconds, which the template's
/// `|duration` writes as the tables do ("3 d 4 h", PRODUCT §1).
fn kpis(figures: &HoldFigures<'_>) -> Value {
    let seconds = |days: f64| (days * 86_400.0).round() as i64;
    json!({
        "lots": figures.total.lots,
        "quantity": figures.total.quantity,
        "average_age_seconds": figures.average_age_days.map(seconds),
        "longest_age_seconds": figures.longest_age_days.map(seconds),
        "workcenter_groups": figures.workcenter_groups,
    })
}

async fn overview(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/hold-overview", lang).await?;
    let pairs = filter_pairs(query.as_deref());
    let qs = encode(&pairs);
    let params = hp::parse(Some(&qs), &LIST_EXTRA)?;
    let filter = hp::filter(&params)?;
    // The charts and the matrix show the page's filters but not the table's own (the matrix
    // cell: workcenter and package), so every cell stays choosable.
    let mut chart_filter = filter.clone();
    chart_filter.workcenter = None;
    if filter.workcenter.is_some() {
        chart_filter
            .wip
            .exact
            .retain(|(f, _)| *f != crate::cache::filter::FilterField::Package);
    }
    let served = app.wip.get().await?;
    let snapshot = &served.snapshot;
    let table = &snapshot.table;
    let (now, as_of) = hp::now();
    let held = snapshot.held(&chart_filter, now);
    let figures = hold_query::figures(table, &held.positions, now);
    let by_type = hold_query::by_type(table, &held.any_type);
    let quality: Vec<&Group> = figures
        .by_reason
        .iter()
        .filter(|g| g.hold_type == Some("quality"))
        .collect();
    let non_quality: Vec<&Group> = figures
        .by_reason
        .iter()
        .filter(|g| g.hold_type == Some("non-quality"))
        .collect();
    let mut paretos = Vec::new();
    if filter.hold_type != Some(crate::config::HoldType::NonQuality) {
        let title = i18n::t(lang, "hold-ov-pareto-quality");
        paretos.push(pareto(lang, "pareto-quality", &title, &quality));
    }
    if filter.hold_type != Some(crate::config::HoldType::Quality) {
        let title = i18n::t(lang, "hold-ov-pareto-non-quality");
        paretos.push(pareto(lang, "pareto-non-quality", &title, &non_quality));
    }
    // Segment links keep every other filter.
    let segment: Vec<Value> = ["all", "quality", "non-quality"]
        .iter()
        .map(|t| {
            let mut p: Vec<(String, String)> = pairs
                .iter()
                .filter(|(n, _)| n != "hold_type" && n != "page")
                .cloned()
                .collect();
            if *t != "all" {
                p.push(("hold_type".into(), (*t).into()));
            }
            let lots = match *t {
                "quality" => by_type[0].lots,
                "non-quality" => by_type[1].lots,
                _ => by_type[0].lots + by_type[1].lots,
            };
            json!({
                "type": t,
                "href": format!("/hold-overview?{}", encode(&p)),
                "current": hp::hold_type_echo(&filter) == *t,
                "lots": lots,
            })
        })
        .collect();
    let matrix = held_matrix(table, &held.positions);
    templates::render(
        "hold_overview.html",
        &layout,
        &json!({
            "kpis": kpis(&figures),
            "by_type": ByType::new(by_type),
            "segment": segment,
            "matrix": matrix,
            "paretos": paretos,
            "as_of": iso8601(as_of),
            "updated_at": iso8601(snapshot.computed_at),
            "page": {
                "api": "/api/hold-overview/lots",
                "query": qs,
                "version": snapshot.version,
                "columns": columns(lang),
                "text": texts(lang),
            },
        }),
    )
}

async fn detail(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/hold-detail", lang).await?;
    let pairs = filter_pairs(query.as_deref());
    let qs = encode(&pairs);
    let params = hp::parse(Some(&qs), &LIST_EXTRA)?;
    let filter = hp::filter(&params)?;
    let served = app.wip.get().await?;
    let snapshot = &served.snapshot;
    let table = &snapshot.table;
    let (now, as_of) = hp::now();
    // The cards and charts count under the page's filters, not the table's own (a bucket, a
    // workcenter, a package chosen on a chart).
    let mut base = filter.clone();
    base.age = None;
    base.workcenter = None;
    base.wip
        .exact
        .retain(|(f, _)| *f != crate::cache::filter::FilterField::Package);
    let reason = base.reason.clone();
    let (charts, figures, reason_name, reason_type) = match &reason {
        None => (Vec::new(), None, None, None),
        Some(r) => {
            let held = snapshot.held(&base, now);
            let figures = hold_query::figures(table, &held.positions, now);
            let (name, kind) = match r {
                crate::cache::hold_query::ReasonFilter::Named(n) => (
                    n.clone(),
                    app.config.holds.non_quality_reasons.hold_type(Some(n)),
                ),
                crate::cache::hold_query::ReasonFilter::None => (
                    crate::cache::aggregate::NO_REASON.to_string(),
                    crate::config::HoldType::Quality,
                ),
            };
            let charts = vec![
                bars(
                    lang,
                    "by-age",
                    &i18n::t(lang, "hold-age-title"),
                    "age_range",
                    &figures.by_age,
                ),
                bars(
                    lang,
                    "by-workcenter",
                    &i18n::t(lang, "hold-dt-by-workcenter"),
                    "workcenter",
                    &figures.by_workcenter,
                ),
                bars(
                    lang,
                    "by-package",
                    &i18n::t(lang, "hold-dt-by-package"),
                    "package",
                    &figures.by_package,
                ),
            ];
            let k = json!({
                "kpis": kpis(&figures),
                "workcenters": figures.by_workcenter.len(),
                "packages": figures.by_package.len(),
            });
            (charts, Some(k), Some(name), Some(kind.as_str()))
        }
    };
    templates::render(
        "hold_detail.html",
        &layout,
        &json!({
            "reason": reason_name,
            "reason_type": reason_type,
            "figures": figures,
            "charts": charts,
            "as_of": iso8601(as_of),
            "updated_at": iso8601(snapshot.computed_at),
            "page": {
                "api": "/api/hold-detail/lots",
                "query": qs,
                "version": snapshot.version,
                "columns": columns(lang),
                "text": texts(lang),
                "active": reason.is_some(),
            },
        }),
    )
}

/// The held-lot table's columns: the lot field, its sort key (the same name) and its heading.
fn columns(lang: Lang) -> Vec<Value> {
    [
        ("lot_id", "hold-lot-col-lot"),
        ("work_order", "hold-lot-col-work-order"),
        ("quantity", "hold-lot-col-quantity"),
        ("product", "hold-lot-col-product"),
        ("package_id", "hold-lot-col-package"),
        ("workcenter_id", "hold-lot-col-workcenter"),
        ("hold_reason", "hold-lot-col-reason"),
        ("step", "hold-lot-col-step"),
        ("age_days", "hold-lot-col-age"),
        ("hold_at", "hold-lot-col-hold-at"),
        ("hold_duration_hours", "hold-col-duration"),
        ("hold_by", "hold-lot-col-by"),
        ("hold_department", "hold-lot-col-department"),
        ("hold_comment", "hold-lot-col-comment"),
        ("future_hold_comment", "hold-lot-col-future-comment"),
    ]
    .iter()
    .map(|(field, key)| {
        let sortable = hold_query::HoldSortKey::parse(field).is_some();
        json!({"field": field, "title": i18n::t(lang, key), "sortable": sortable})
    })
    .collect()
}

/// The script's words, in the page's language.
fn texts(lang: Lang) -> Value {
    // Placeholders are left as `{name}` for MES.fill.
    let args = i18n::args([
        ("total", "{total}"),
        ("page", "{page}"),
        ("pages", "{pages}"),
        ("filter", "{filter}"),
    ]);
    let mut out = serde_json::Map::new();
    for (name, key) in [
        ("count", "hold-lots-count"),
        ("page_of", "hold-page-of"),
        ("empty", "hold-empty"),
        ("loading", "hold-loading"),
        ("filter", "hold-table-filter"),
        ("quality", "hold-type-quality"),
        ("non_quality", "hold-type-non-quality"),
    ] {
        out.insert(name.into(), i18n::t_args(lang, key, &args).into());
    }
    Value::Object(out)
}
