//! Rules every chart keeps whatever its data: well-formed, escaped, no `style`, no handlers,
//! no non-finite number, the caller's texts only, and an empty state for no data.

use super::kit::{El, check, parse};
use crate::charts::*;

const HOSTILE: &str = r#"<script>alert("x")</script> & 'q' 晶圓測試站"#;

pub(super) fn text(empty: &'static str) -> ChartText<'static> {
    ChartText {
        id: "c1",
        title: "標題 <b>&",
        desc: "說明 \"d\"",
        empty,
    }
}

pub(super) fn items(values: &[f64]) -> Vec<Item<'static>> {
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
        assert_eq!(parse(&svg).children[0].text, "標題 <b>&");
        assert_eq!(parse(&table).children[0].text, "標題 <b>&", "caption");
    }
    let mut read_back = 0;
    for values in DATA_SETS.iter().filter(|v| !v.is_empty()) {
        for chart in every_chart(values, "none") {
            let svg = parse(&chart.svg());
            let full_label = |e: &&El| e.title().is_some_and(|t| t.contains(HOSTILE));
            assert!(
                svg.all().iter().any(full_label),
                "a title holds the whole label"
            );
            assert!(parse(&chart.table()).deep_text().contains(HOSTILE));
            read_back += 1;
        }
    }
    assert_eq!(read_back, (DATA_SETS.len() - 1) * 9);
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
