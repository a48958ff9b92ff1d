//! The `/hold-history` page. The form's filters live in the URL; the page script posts them
//! to `POST /api/hold-history/query` (200 at once, or 202 with progress, cancel and polling of
//! `/api/jobs/{id}`), then asks this page again with `?job=<id>`: the cards and the charts
//! (daily trend, reason Pareto, duration buckets) are rendered here, on the server, from the
//! job's stored result, and the script swaps them in. The detail table pages through
//! `/api/jobs/{id}/result`; a 410 `JOB_EXPIRED` runs the query again.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::charts::{Bar, Category, Chart, ChartText, Item, Orientation, Pareto, Series, Trend};
use crate::http::AppError;
use crate::i18n::{self, Lang};
use crate::jobs::JobState;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new().route("/hold-history", get(page))
}

async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/hold-history", lang).await?;
    // Only `job` matters to the server; the form's fields are the script's (and the URL's).
    let mut figures = Value::Null;
    if let Some(id) = query.get("job").map(String::as_str) {
        let record = super::jobs::load(&app, &user, id).await?;
        if record.kind == crate::hold_history::KIND
            && record.state == JobState::Done
            && !record.is_expired(Utc::now())
            && let Some(text) = app
                .jobs
                .result(id)
                .await
                .map_err(super::jobs::store_error)?
        {
            let result: Value = serde_json::from_str(&text).map_err(AppError::internal)?;
            figures = render(lang, &result);
        }
    }
    templates::render(
        "hold_history.html",
        &layout,
        &json!({
            "figures": figures,
            "page": {
                "async_days": app.config.reports.async_query_days,
                // Today and shift modes run again when a `wip` event says another version.
                "wip_version": app.wip.current().map(|s| s.version.clone()),
                "text": texts(lang),
            },
        }),
    )
}

/// The duration buckets' names (the report's and the API's) and their labels.
const BUCKET_LABELS: [(&str, &str); 4] = [
    ("under_4h", "hold-hi-bucket-lt4h"),
    ("4h_to_24h", "hold-hi-bucket-4-24h"),
    ("1d_to_3d", "hold-hi-bucket-1-3d"),
    ("over_3d", "hold-hi-bucket-gt3d"),
];

/// Cards and charts of one result.
fn render(lang: Lang, result: &Value) -> Value {
    let empty = i18n::t(lang, "hold-chart-empty");
    let trend_title = i18n::t(lang, "hold-hi-trend");
    let trend_desc = i18n::t(lang, "hold-hi-trend-desc");
    let day_label = i18n::t(lang, "hold-hi-day");
    let lots_label = i18n::t(lang, "hold-value-lots");
    let on_hold = i18n::t(lang, "hold-hi-trend-on-hold");
    let days: Vec<&Value> = result["trend"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let series = |key: &str| -> Vec<f64> {
        days.iter()
            .map(|d| d[key].as_f64().unwrap_or_default())
            .collect()
    };
    let trend = Trend {
        text: ChartText {
            id: "trend",
            title: &trend_title,
            desc: &trend_desc,
            empty: &empty,
        },
        categories: days
            .iter()
            .map(|d| {
                let day = d["day"].as_str().unwrap_or_default().to_string();
                Category::new(day.clone()).filter("day", day)
            })
            .collect(),
        bars: vec![
            Series::new(
                i18n::t(lang, "hold-hi-trend-new").into_owned(),
                series("new"),
            ),
            Series::new(
                i18n::t(lang, "hold-hi-trend-released").into_owned(),
                series("released"),
            ),
            Series::new(
                i18n::t(lang, "hold-hi-trend-future").into_owned(),
                series("future"),
            ),
        ],
        lines: vec![Series::new(on_hold.clone().into_owned(), series("on_hold"))],
        lines_on_right: true,
        category_label: &day_label,
        value_label: &lots_label,
        right_label: &on_hold,
        ..Trend::default()
    };
    let pareto_title = i18n::t(lang, "hold-hi-pareto");
    let pareto_desc = i18n::t(lang, "hold-ov-pareto-desc");
    let reason_label = i18n::t(lang, "hold-ov-reason");
    let cumulative = i18n::t(lang, "hold-cumulative");
    let pareto = Pareto {
        text: ChartText {
            id: "history-pareto",
            title: &pareto_title,
            desc: &pareto_desc,
            empty: &empty,
        },
        items: result["pareto"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        let reason = p["reason"]
                            .as_str()
                            .unwrap_or(crate::cache::aggregate::NO_REASON)
                            .to_string();
                        Item::new(reason.clone(), p["count"].as_f64().unwrap_or_default())
                            .filter("reason", reason)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        marker_80: true,
        category_label: &reason_label,
        value_label: &lots_label,
        cumulative_label: &cumulative,
        ..Pareto::default()
    };
    let bucket_title = i18n::t(lang, "hold-hi-buckets");
    let bucket_keys = BUCKET_LABELS;
    let buckets = Bar {
        text: ChartText {
            id: "buckets",
            title: &bucket_title,
            desc: &bucket_title,
            empty: &empty,
        },
        items: bucket_keys
            .iter()
            .map(|(key, label)| {
                let count = result["buckets"]
                    .as_array()
                    .and_then(|a| a.iter().find(|b| b["bucket"] == *key))
                    .and_then(|b| b["count"].as_f64())
                    .unwrap_or_default();
                Item::new(i18n::t(lang, label).into_owned(), count).filter("duration_bucket", *key)
            })
            .collect(),
        orientation: Orientation::Vertical,
        value_labels: true,
        category_label: &bucket_title,
        value_label: &lots_label,
        format: Default::default(),
    };
    json!({
        "cards": result["cards"],
        "window": result["window"],
        "charts": [
            {"id": "trend", "title": trend_title, "svg": trend.svg(), "table": trend.table()},
            {"id": "history-pareto", "title": pareto_title, "svg": pareto.svg(), "table": pareto.table()},
            {"id": "buckets", "title": bucket_title, "svg": buckets.svg(), "table": buckets.table()},
        ],
    })
}

/// The script's words; placeholders left as `{name}` for MES.fill.
fn texts(lang: Lang) -> Value {
    let args = i18n::args([
        ("percent", "{percent}"),
        ("message", "{message}"),
        ("total", "{total}"),
        ("page", "{page}"),
        ("pages", "{pages}"),
        ("filter", "{filter}"),
    ]);
    let mut out = serde_json::Map::new();
    for (name, key) in [
        ("progress", "hold-hi-progress"),
        ("cancelled", "hold-hi-cancelled"),
        ("failed", "hold-hi-failed"),
        ("expired", "hold-hi-expired"),
        ("reran", "hold-hi-reran"),
        ("count", "hold-lots-count"),
        ("page_of", "hold-page-of"),
        ("empty", "hold-empty"),
        ("loading", "hold-loading"),
        ("filter", "hold-table-filter"),
    ] {
        out.insert(name.into(), i18n::t_args(lang, key, &args).into());
    }
    let buckets: serde_json::Map<String, Value> = BUCKET_LABELS
        .iter()
        .map(|(name, key)| ((*name).to_string(), i18n::t(lang, key).into()))
        .collect();
    out.insert("buckets".into(), Value::Object(buckets));
    Value::Object(out)
}
