//! The `/resource` page (PRODUCT §3): KPIs (OU %, AVAIL %, tools per E10 state with their
//! share), an OU ring per workcenter group, an OU heatmap workcenter × package group, the
//! longest open maintenance jobs, the status matrix workcenter group → family → tool × state
//! (`<details>`: expands without script), and a card per tool when filtered. Everything is
//! rendered on the server from the equipment snapshot with the filters of the URL; the page
//! script (`static/js/pages/resource.js`) follows the `equipment` events and updates in place.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::equipment::aggregate::summarize;
use crate::equipment::{E10_STATES, EquipmentSnapshot, Field, StatusFilter};
use crate::http::AppError;
use crate::http::extract::ApiQuery;
use crate::i18n::{self, Lang};
use crate::routes::catalog;
use crate::routes::resource::{options, snapshot};
use crate::routes::resource_markup as markup;
use crate::routes::resource_params::{self as params, Accept, to_pairs};
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

/// Open jobs listed on the page.
const TOP_JOBS: usize = 10;
/// Cards shown when filtered; past it the page says how many more there are.
const CARDS_MAX: usize = 300;

/// A link of the page: the current filters with some replaced.
fn href(filter: &StatusFilter, set: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut pairs = to_pairs(filter);
    for (name, value) in set {
        pairs.retain(|(n, _)| n != name);
        pairs.push((*name, (*value).to_string()));
    }
    for (name, value) in &pairs {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        "/resource".into()
    } else {
        format!("/resource?{query}")
    }
}

#[derive(Serialize)]
struct StateKpi {
    state: &'static str,
    count: u64,
    /// Percent of all tools, one decimal.
    share: Option<f64>,
    href: String,
}

#[derive(Serialize)]
struct Card<'a> {
    id: &'a str,
    state: &'a str,
    reason: Option<&'a str>,
    workcenter: &'a str,
    family: Option<&'a str>,
    location: Option<&'a str>,
    package_group: Option<&'a str>,
    lots: usize,
    quantity: i64,
    job: Option<&'a str>,
    job_status: Option<&'a str>,
}

#[derive(Serialize)]
struct JobView<'a> {
    job_id: &'a str,
    tool: &'a str,
    status: &'a str,
    stage: Option<&'a str>,
    symptom: Option<&'a str>,
    technician: Option<&'a str>,
    created_at: String,
    /// "3 d 4 h" / "3 天 4 小時" (`i18n::duration`).
    open_for: String,
}

/// What the template gets: the data, and the blocks written as markup by
/// [`resource_markup`] (which escapes every text; templates may not use `|safe` themselves).
#[derive(Serialize)]
struct PageView {
    #[serde(flatten)]
    data: serde_json::Value,
    /// The rings and the heatmap (also `GET /api/resource/status/charts`).
    charts: minijinja::Value,
    /// The status matrix with a row per tool.
    matrix: minijinja::Value,
    /// The tool field's `<option>`s.
    tool_list: minijinja::Value,
}

/// The page's view of one snapshot and filter (a pure function: the route only loads).
fn view(
    snapshot: &Arc<EquipmentSnapshot>,
    filter: &StatusFilter,
    lang: Lang,
    zone: chrono_tz::Tz,
) -> PageView {
    let set = snapshot.select(filter);
    let tools = &snapshot.tools;
    let summary = summarize(set.iter().map(|i| &tools[i]));
    let now = Utc::now();

    let kpis: Vec<StateKpi> = E10_STATES
        .iter()
        .map(|state| {
            let count = summary.by_state.get(state);
            StateKpi {
                state,
                count,
                share: (summary.total > 0)
                    .then(|| (count as f64 / summary.total as f64 * 1000.0).round() / 10.0),
                href: href(filter, &[("state", state)]),
            }
        })
        .collect();
    let (matrix_html, charts) = if filter.is_empty() {
        let blocks = markup::unfiltered(snapshot, lang, zone);
        (blocks.matrix.clone(), blocks.charts.clone())
    } else {
        let matrix = snapshot.layout().matrix(set.iter());
        (
            markup::matrix(snapshot, &set, &matrix, filter, lang, zone),
            markup::charts(snapshot, &set, &matrix, lang),
        )
    };

    let open_jobs = snapshot.jobs_for(filter);
    let jobs: Vec<JobView<'_>> = open_jobs
        .iter()
        .copied()
        .take(TOP_JOBS)
        .map(|j| {
            let job = &snapshot.open_jobs[j];
            JobView {
                job_id: &job.job_id,
                tool: &job.equipment_id,
                status: &job.status,
                stage: job.stage.as_deref(),
                symptom: job.symptom_code.as_deref(),
                technician: job.technician.as_deref(),
                created_at: iso8601(job.created_at),
                open_for: i18n::duration(lang, (now - job.created_at).num_seconds()),
            }
        })
        .collect();

    let filtered = !filter.is_empty();
    let cards: Vec<Card<'_>> = if filtered {
        set.iter()
            .take(CARDS_MAX)
            .map(|i| {
                let tool = &tools[i];
                let job = snapshot.open_job_of(i);
                Card {
                    id: &tool.equipment_id,
                    state: &tool.e10_state,
                    reason: tool.state_reason.as_deref(),
                    workcenter: &tool.workcenter_id,
                    family: tool.family.as_deref(),
                    location: tool.location.as_deref(),
                    package_group: tool.package_group.as_deref(),
                    lots: tool.lots.len(),
                    quantity: tool.track_in_quantity,
                    job: job.map(|j| j.job_id.as_str()),
                    job_status: job.map(|j| j.status.as_str()),
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut options = options(snapshot, &StatusFilter::default());
    let tool_list = markup::tool_options(&std::mem::take(&mut options.tool));
    let current: HashMap<&str, String> = to_pairs(filter).into_iter().collect();
    let query = href(filter, &[]);
    let query = query.strip_prefix("/resource").unwrap_or("").to_string();
    let data = serde_json::json!({
        "summary": summary,
        "kpis": kpis,
        "jobs": jobs,
        "jobs_total": open_jobs.len(),
        "filtered": filtered,
        "cards": cards,
        "cards_more": if filtered { set.count().saturating_sub(CARDS_MAX) } else { 0 },
        "count": set.count(),
        "states": E10_STATES,
        "current": current,
        "options": options,
        "fields": Field::ALL.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "csv": format!("/api/resource/status{}{}format=csv", query, if query.is_empty() { "?" } else { "&" }),
        "updated_at": iso8601(snapshot.computed_at),
        "script": {
            "query": query,
            "states": E10_STATES,
            "updated_at": iso8601(snapshot.computed_at),
        },
    });
    PageView {
        data,
        charts: minijinja::Value::from_safe_string(charts),
        matrix: minijinja::Value::from_safe_string(matrix_html),
        tool_list: minijinja::Value::from_safe_string(tool_list),
    }
}

/// The page, filtered by its URL (a bad filter is a 400 like the APIs').
pub async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    ApiQuery(q): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/resource", lang).await?;
    let filter = params::parse(&q, Accept::Page)?.filter;
    let snapshot = snapshot(&app).await?;
    let zone = app.config.pages.time_zone;
    templates::render(
        "resource.html",
        &layout,
        &view(&snapshot, &filter, lang, zone),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_of(tools: &[(&str, &str)]) -> Arc<EquipmentSnapshot> {
        let tools = tools.iter().map(|(id, state)| tool(id, state)).collect();
        Arc::new(EquipmentSnapshot::build(tools, vec![], vec![]).unwrap())
    }

    /// The fleet's blocks are written once per snapshot, language and zone, and are the ones
    /// written afresh; a new snapshot gets its own.
    #[test]
    fn the_unfiltered_blocks_are_kept_per_snapshot_and_language() {
        let zone = chrono_tz::Tz::Asia__Taipei;
        let first = snapshot_of(&[("T1", "PRD"), ("T2", "UDT")]);
        let en = markup::unfiltered(&first, Lang::En, zone);
        assert!(Arc::ptr_eq(
            &en,
            &markup::unfiltered(&first, Lang::En, zone)
        ));
        let zh = markup::unfiltered(&first, Lang::ZhTw, zone);
        assert!(!Arc::ptr_eq(&en, &zh));
        let all = StatusFilter::default();
        let set = first.select(&all);
        let counted = first.layout().matrix(set.iter());
        assert_eq!(en.charts, markup::charts(&first, &set, &counted, Lang::En));
        assert_eq!(
            en.matrix,
            markup::matrix(&first, &set, &counted, &all, Lang::En, zone)
        );
        assert_eq!(
            zh.charts,
            markup::charts(&first, &set, &counted, Lang::ZhTw)
        );
        assert_eq!(
            markup::charts_of(&first, &all, Lang::En),
            en.charts,
            "the charts API's fleet answer is the page's"
        );

        // A tool changed state: the next snapshot's blocks say so.
        let next = snapshot_of(&[("T1", "UDT"), ("T2", "UDT")]);
        let after = markup::unfiltered(&next, Lang::En, zone);
        assert!(!Arc::ptr_eq(&en, &after));
        assert_ne!(after.matrix, en.matrix);
        let set = next.select(&all);
        let counted = next.layout().matrix(set.iter());
        assert_eq!(
            after.matrix,
            markup::matrix(&next, &set, &counted, &all, Lang::En, zone)
        );
    }

    fn tool(id: &str, state: &str) -> crate::equipment::ToolStatus {
        let at = chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap();
        crate::equipment::ToolStatus {
            equipment_id: id.into(),
            workcenter_id: "WB".into(),
            model: "M".into(),
            e10_state: state.into(),
            state_reason: None,
            state_since: at,
            lots: vec![],
            track_in_quantity: 0,
            last_track_in_at: None,
            updated_at: at,
            workcenter_group: Some("<b>G</b>".into()),
            family: Some("F".into()),
            location: None,
            package_group: Some("QFN".into()),
            vendor: None,
            production: true,
            key: false,
            monitored: false,
        }
    }

    #[test]
    fn the_page_renders_its_charts_as_markup_and_a_tool_id_as_text() {
        let snapshot = snapshot_of(&[("<i>T1</i>", "PRD"), ("T2", "UDT")]);
        let layout = crate::templates::Layout::bare("t", Lang::En, "Asia/Taipei");
        let html = crate::templates::render_string(
            "resource.html",
            &layout,
            &view(
                &snapshot,
                &StatusFilter::default(),
                Lang::En,
                chrono_tz::Tz::Asia__Taipei,
            ),
        )
        .unwrap();
        assert!(html.contains("<svg"), "the ring and the heatmap are markup");
        assert!(!html.contains("&lt;svg"), "not escaped text");
        assert!(
            !html.contains("<i>T1</i>") && !html.contains("<b>G</b>"),
            "data stays text"
        );
        assert!(html.contains("&lt;i&gt;T1&lt;&#x2f;i&gt;") || html.contains("&lt;i&gt;T1"));
        // The matrix (written by hand): a row per tool, a group's count links as `href` would.
        assert_eq!(html.matches("<tr data-tool=\"").count(), 2);
        let link = href(
            &StatusFilter::default(),
            &[("workcenter_group", "<b>G</b>"), ("state", "UDT")],
        );
        let mut escaped = String::new();
        markup::esc(&mut escaped, &link);
        assert!(
            html.contains(&format!("<a href=\"{escaped}\">1</a>")),
            "{link}"
        );

        // Filtered: a card per admitted tool, the filter kept in the form and the links.
        let filter = StatusFilter {
            states: vec!["UDT".into()],
            fields: vec![(Field::Family, vec!["F".into()])],
            ..StatusFilter::default()
        };
        let html = crate::templates::render_string(
            "resource.html",
            &layout,
            &view(&snapshot, &filter, Lang::En, chrono_tz::Tz::Asia__Taipei),
        )
        .unwrap();
        assert_eq!(html.matches("data-card=\"").count(), 1, "T2 alone is UDT");
        assert!(html.contains("data-card=\"T2\""));
        assert!(
            html.contains("<option value=\"F\" selected>"),
            "the family stays chosen"
        );
        assert!(
            html.contains("resource?family=F&amp;state=PRD\""),
            "a state link keeps the family"
        );
        let link = href(
            &filter,
            &[
                ("workcenter_group", "<b>G</b>"),
                ("family", "F"),
                ("state", "UDT"),
            ],
        );
        let mut escaped = String::new();
        markup::esc(&mut escaped, &link);
        assert!(
            html.contains(&format!("<a href=\"{escaped}\">1</a>")),
            "a family's count links with the filters kept: {link}"
        );
    }

    #[test]
    fn links_keep_the_filters_and_replace_one() {
        let filter = StatusFilter {
            states: vec!["UDT".into()],
            fields: vec![(Field::Location, vec!["F1".into(), "F 2".into()])],
            ..StatusFilter::default()
        };
        assert_eq!(
            href(&filter, &[("state", "PRD")]),
            "/resource?location=F1%2CF+2&state=PRD"
        );
        assert_eq!(href(&StatusFilter::default(), &[]), "/resource");
    }
}
