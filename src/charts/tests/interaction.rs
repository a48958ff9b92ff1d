//! What a page builds on: filter attributes, cut labels with their full text, the caller's format.

use super::kit::{El, check};
use super::rules::{items, text};
use crate::charts::*;

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
