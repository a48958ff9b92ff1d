//! The four charts of a history report, drawn by `crate::charts` in the reader's language
//! when the report is read (a stored report is language-free): the OU % / AVAIL % trend, the
//! hours per state stacked per period, the workcenter groups side by side, and the OU % heatmap
//! group × period. Each comes with its table for screen readers.

use serde_json::{Value, json};

use crate::charts::{Category, Chart, ChartText, Format, Heatmap, Series, Stacked, Trend};
use crate::equipment::E10_STATES;
use crate::i18n::{self, Lang};

fn pct(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn drawn(chart: &dyn Chart) -> Value {
    json!({"svg": chart.svg(), "table": chart.table()})
}

/// `{trend, hours, groups, heatmap}`, each `{svg, table}`.
pub fn render(report: &Value, lang: Lang) -> Value {
    let t = |key: &str| i18n::t(lang, key).into_owned();
    let empty = t("rh-empty");
    let series = report["series"].as_array().cloned().unwrap_or_default();
    let periods: Vec<Category<'_>> = series
        .iter()
        .map(|s| {
            let label = s["period"].as_str().unwrap_or_default().to_string();
            let first = s["first"].as_str().unwrap_or_default().to_string();
            let last = s["last"].as_str().unwrap_or_default().to_string();
            Category::new(label)
                .filter("from", first)
                .filter("to", last)
        })
        .collect();
    let (period_label, ou, avail, hours_label, group_label) = (
        t("rh-period"),
        t("rh-col-ou"),
        t("rh-col-avail"),
        t("rh-hours"),
        t("rh-col-group"),
    );

    let trend_title = t("rh-chart-trend");
    let trend = Trend {
        text: ChartText {
            id: "rh-trend",
            title: &trend_title,
            desc: "",
            empty: &empty,
        },
        categories: periods.clone(),
        lines: vec![
            Series::new(
                ou.as_str(),
                series.iter().map(|s| pct(&s["ou_pct"])).collect(),
            )
            .class("c-prd"),
            Series::new(
                avail.as_str(),
                series.iter().map(|s| pct(&s["avail_pct"])).collect(),
            )
            .class("c-sby"),
        ],
        category_label: &period_label,
        value_label: "%",
        format: Format::Percent,
        ..Trend::default()
    };

    let state_names: Vec<String> = E10_STATES.to_vec().iter().map(|s| s.to_string()).collect();
    let by_state = |rows: &[Value]| -> Vec<Series<'static>> {
        E10_STATES
            .iter()
            .zip(&state_names)
            .map(|(state, name)| {
                let key = state.to_lowercase();
                Series::new(
                    name.clone(),
                    rows.iter()
                        .map(|r| r["hours"][&key].as_f64().unwrap_or(0.0))
                        .collect(),
                )
                .class(format!("c-{key}"))
            })
            .collect()
    };
    let hours_title = t("rh-chart-hours");
    let hours = Stacked {
        text: ChartText {
            id: "rh-hours",
            title: &hours_title,
            desc: "",
            empty: &empty,
        },
        categories: periods.clone(),
        series: by_state(&series),
        total_labels: false,
        category_label: &period_label,
        value_label: &hours_label,
        format: Format::Number,
    };

    let groups = report["groups"].as_array().cloned().unwrap_or_default();
    let group_names: Vec<Category<'_>> = groups
        .iter()
        .map(|g| {
            let name = g["workcenter_group"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Category::new(name.clone()).filter("workcenter_group", name)
        })
        .collect();
    let groups_title = t("rh-chart-groups");
    let by_group = Trend {
        text: ChartText {
            id: "rh-groups",
            title: &groups_title,
            desc: "",
            empty: &empty,
        },
        categories: group_names.clone(),
        bars: vec![
            Series::new(
                ou.as_str(),
                groups.iter().map(|g| pct(&g["ou_pct"])).collect(),
            )
            .class("c-prd"),
            Series::new(
                avail.as_str(),
                groups.iter().map(|g| pct(&g["avail_pct"])).collect(),
            )
            .class("c-sby"),
        ],
        category_label: &group_label,
        value_label: "%",
        format: Format::Percent,
        ..Trend::default()
    };

    let heat = &report["heatmap"];
    let heat_title = t("rh-chart-heatmap");
    let heatmap = Heatmap {
        text: ChartText {
            id: "rh-heatmap",
            title: &heat_title,
            desc: "",
            empty: &empty,
        },
        rows: group_names,
        columns: periods,
        values: heat["ou_pct"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|cells| cells.iter().map(pct).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        range: Some((0.0, 100.0)),
        cell_labels: series.len() <= 16,
        row_label: &group_label,
        format: Format::Percent,
    };

    json!({
        "trend": drawn(&trend),
        "hours": drawn(&hours),
        "groups": drawn(&by_group),
        "heatmap": drawn(&heatmap),
    })
}
