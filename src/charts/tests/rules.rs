//! Rules every chart keeps whatever its data: well-formed, escaped, no `style`, no handlers,
//! no non-finite number, the caller's texts only, and an empty state for no data.

use super::kit::{El, check, parse};
use crate::charts::*;

const HOSTILE: &str = r#"<script>alert("x")</script> & 'q' 晶圓測試站"#;

fn text(empty: &'static str) -> ChartText<'static> {
    ChartText {
        id: "c1",
        title: "標題 <b>&",
        desc: "說明 \"d\"",
        empty,
    }
}

fn items(values: &[f64]) -> Vec<Item<'static>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let item = Item::new(format!("{HOSTILE} {i}"), v);
            if i % 2 == 0 {
                item.filter("reason", format!("\"{i}\" & <x>"))
            } else {
                item
            }
        })
        .collect()
}

fn categories(n: usize) -> Vec<Category<'static>> {
    (0..n)
        .map(|i| Category::new(format!("{HOSTILE} {i}")).filter("day", format!("d{i}")))
        .collect()
}

fn series(name: &'static str, values: &[f64]) -> Series<'static> {
    Series::new(name, values.to_vec()).filter("status", "<RUN>")
}

/// One of every chart kind over the same values.
fn every_chart(values: &[f64], empty: &'static str) -> Vec<Box<dyn Chart>> {
    let n = values.len();
    let grid: Vec<Vec<f64>> = (0..n)
        .map(|r| values.iter().map(|v| v * r as f64).collect())
        .collect();
    let bar = |orientation| Bar {
        text: text(empty),
        items: items(values),
        orientation,
        value_labels: true,
        category_label: HOSTILE,
        value_label: HOSTILE,
        format: Format::Number,
    };
    vec![
        Box::new(Donut {
            text: text(empty),
            items: items(values),
            centre_label: HOSTILE,
            ..Default::default()
        }),
        Box::new(bar(Orientation::Horizontal)),
        Box::new(bar(Orientation::Vertical)),
        Box::new(Pareto {
            text: text(empty),
            items: items(values),
            marker_80: true,
            cumulative_label: HOSTILE,
            ..Default::default()
        }),
        Box::new(Stacked {
            text: text(empty),
            categories: categories(n),
            series: vec![series(HOSTILE, values), series("b", values)],
            total_labels: true,
            ..Default::default()
        }),
        Box::new(Trend {
            text: text(empty),
            categories: categories(n),
            bars: vec![series(HOSTILE, values)],
            lines: vec![series("on hold", values)],
            lines_on_right: true,
            right_label: HOSTILE,
            ..Default::default()
        }),
        Box::new(Trend {
            text: text(empty),
            categories: categories(n),
            lines: vec![series("a", values)],
            ..Default::default()
        }),
        Box::new(Heatmap {
            text: text(empty),
            rows: categories(n),
            columns: categories(n),
            values: grid,
            cell_labels: true,
            row_label: HOSTILE,
            ..Default::default()
        }),
        Box::new(Ring {
            text: text(empty),
            item: items(&values[..n.min(1)])
                .pop()
                .unwrap_or(Item::new(HOSTILE, f64::NAN)),
            ..Default::default()
        }),
    ]
}

const DATA_SETS: &[&[f64]] = &[
    &[],
    &[0.0, 0.0, 0.0],
    &[42.0],
    &[5.0, 3.0, 2.0, 1.0],
    &[1e15, 2.5e14, 3.0],
    &[f64::MAX, f64::MAX],
    &[-5.0, 10.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5],
    &[1.0; 60],
];

fn all_outputs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for values in DATA_SETS {
        for chart in every_chart(values, "沒有資料 <none>") {
            out.push((chart.svg(), chart.table()));
        }
    }
    out
}

#[test]
fn every_output_is_well_formed_and_free_of_style_handlers_and_non_finite_numbers() {
    let outputs = all_outputs();
    assert_eq!(outputs.len(), DATA_SETS.len() * 9);
    for (svg, table) in &outputs {
        let root = check(svg);
        assert_eq!(root.name, "svg");
        assert!(
            !svg.contains("NaN")
                && !svg.contains("inf")
                && !table.contains("NaN")
                && !table.contains("inf")
        );
        check(table);
    }
}

#[test]
fn hostile_labels_are_escaped_and_read_back_intact() {
    for (svg, table) in all_outputs() {
        assert!(
            !svg.contains("<script") && !table.contains("<script"),
            "{svg}"
        );
        assert!(!svg.contains("<b>") && !table.contains("<b>"));
        let root = parse(&svg);
        assert_eq!(root.children[0].name, "title");
        assert_eq!(root.children[0].text, "標題 <b>&");
        let tooltips: Vec<&str> = root.all().iter().filter_map(|e| e.title()).collect();
        let table = parse(&table);
        assert_eq!(table.children[0].text, "標題 <b>&", "caption");
        if !root.with_class("chart-mark").is_empty()
            && root
                .with_class("chart-mark")
                .iter()
                .any(|m| m.title().unwrap().contains("script"))
        {
            assert!(tooltips.iter().any(|t| t.contains(HOSTILE)), "{tooltips:?}");
            assert!(table.deep_text().contains(HOSTILE));
        }
    }
}

#[test]
fn the_svg_is_named_by_its_title_and_description() {
    let svg = check(
        &Donut {
            text: text("none"),
            items: items(&[1.0, 2.0]),
            ..Default::default()
        }
        .svg(),
    );
    assert_eq!(svg.attr("aria-labelledby"), Some("c1-title c1-desc"));
    assert_eq!(svg.children[0].attr("id"), Some("c1-title"));
    assert_eq!(svg.children[1].name, "desc");
    assert_eq!(svg.children[1].text, "說明 \"d\"");
    assert_eq!(
        svg.attr("role"),
        Some("group"),
        "clickable shapes inside: not an img"
    );
    let plain = check(
        &Donut {
            text: ChartText {
                id: "x\" onload=\"y",
                ..text("none")
            },
            items: vec![Item::new("a", 1.0)],
            ..Default::default()
        }
        .svg(),
    );
    assert_eq!(plain.attr("role"), Some("img"));
    assert_eq!(
        plain.attr("aria-labelledby"),
        Some("x--onload--y-title x--onload--y-desc")
    );
}

#[test]
fn no_data_shows_the_callers_empty_text_in_the_svg_and_the_table() {
    for chart in every_chart(&[], "沒有資料 <none>") {
        let svg = check(&chart.svg());
        let empty = svg.with_class("chart-empty");
        assert_eq!(empty.len(), 1, "one empty-state text");
        assert_eq!(
            empty[0].title().unwrap_or(&empty[0].text),
            "沒有資料 <none>",
            "in full or in the title of a cut text"
        );
        assert!(
            svg.with_class("chart-mark")
                .iter()
                .all(|m| m.has_class("chart-track")),
            "no data shapes"
        );
        let table = check(&chart.table());
        assert!(table.deep_text().contains("沒有資料 <none>"));
    }
}

#[test]
fn filter_attributes_appear_only_on_items_with_a_payload_and_are_escaped() {
    let svg = check(
        &Bar {
            text: text(""),
            items: items(&[3.0, 2.0, 1.0]),
            ..Default::default()
        }
        .svg(),
    );
    let bars: Vec<&El> = svg.with_class("chart-bar");
    assert_eq!(bars.len(), 3);
    assert_eq!(bars[0].attr("data-filter-reason"), Some("\"0\" & <x>"));
    assert!(bars[0].has_class("chart-link"));
    assert!(
        bars[1]
            .attrs
            .iter()
            .all(|(n, _)| !n.starts_with("data-") && n != "tabindex" && n != "role")
    );
    assert_eq!(bars[2].attr("data-filter-reason"), Some("\"2\" & <x>"));
}

#[test]
fn a_segment_combines_category_and_series_filters_and_names_are_made_safe() {
    let chart = Stacked {
        text: text(""),
        categories: vec![
            Category::new("QFN")
                .filter("package", "QFN")
                .filter("status", "category wins"),
        ],
        series: vec![
            Series::new("RUN", vec![4.0])
                .filter("status", "RUN")
                .filter("Bad Name\"=x", "v"),
        ],
        ..Default::default()
    };
    let svg = check(&chart.svg());
    let segment = svg.with_class("chart-bar")[0];
    assert_eq!(segment.attr("data-filter-package"), Some("QFN"));
    assert_eq!(segment.attr("data-filter-status"), Some("category wins"));
    assert_eq!(segment.attr("data-filter-badnamex"), Some("v"));
}

#[test]
fn long_labels_are_cut_with_an_ellipsis_and_keep_their_full_text_in_a_title() {
    let long = "封裝測試站 Final Test Workcenter Number Seven With A Very Long Name";
    let svg = check(
        &Bar {
            text: text(""),
            items: vec![Item::new(long, 1.0)],
            ..Default::default()
        }
        .svg(),
    );
    let label = svg
        .all()
        .into_iter()
        .find(|e| e.name == "text" && e.title() == Some(long))
        .expect("cut label");
    assert!(
        label.text.ends_with('…') && label.text.len() < long.len(),
        "{}",
        label.text
    );
    assert_eq!(
        svg.with_class("chart-bar")[0].title(),
        Some(format!("{long}: 1").as_str())
    );
}

#[test]
fn a_custom_format_reaches_tooltips_ticks_and_the_table() {
    let pcs = |v: f64| format!("{} pcs", number(v));
    let chart = Bar {
        text: text(""),
        items: vec![Item::new("A", 1500.0)],
        format: Format::Custom(&pcs),
        ..Default::default()
    };
    let svg = check(&chart.svg());
    assert_eq!(svg.with_class("chart-bar")[0].title(), Some("A: 1,500 pcs"));
    assert!(
        svg.with_class("chart-tick")
            .iter()
            .any(|t| t.text == "1,000 pcs")
    );
    assert!(check(&chart.table()).deep_text().contains("1,500 pcs"));
}
