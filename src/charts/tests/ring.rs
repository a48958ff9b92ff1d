//! Ring: an arc proportional to the percentage, clamped to 0–100, "no data" for non-finite.

use std::f64::consts::TAU;

use super::kit::{El, check, radii, sector};
use crate::charts::{Chart, ChartText, Item, Ring};

fn ring(value: f64) -> Ring<'static> {
    Ring {
        text: ChartText {
            id: "ou",
            title: "OU",
            desc: "",
            empty: "無資料",
        },
        item: Item::new("WB", value).class("c-prd").filter("group", "WB"),
        ..Default::default()
    }
}

fn arc(svg: &El) -> Option<(f64, f64)> {
    svg.with_class("chart-ring-arc")
        .first()
        .map(|a| sector(a.attr("d").unwrap(), 60.0, 60.0))
}

#[test]
fn the_arc_is_proportional_to_the_percentage_from_twelve_o_clock() {
    for percent in [1.0, 25.0, 50.0, 62.5, 99.0] {
        let svg = check(&ring(percent).svg());
        let (start, sweep) = arc(&svg).unwrap();
        assert!(start.min(TAU - start) < 1e-3, "starts at the top");
        assert!(
            (sweep / TAU - percent / 100.0).abs() < 1e-3,
            "{percent}: {sweep}"
        );
    }
    let svg = check(&ring(87.46).svg());
    assert_eq!(svg.with_class("chart-centre-value")[0].text, "87.5%");
    assert_eq!(
        svg.with_class("chart-ring-arc")[0].attr("pointer-events"),
        Some("none")
    );
}

#[test]
fn percentages_are_clamped_to_zero_and_one_hundred() {
    for value in [100.0, 150.0, 1e300] {
        let svg = check(&ring(value).svg());
        let d = svg.with_class("chart-ring-arc")[0].attr("d").unwrap();
        assert_eq!(d.matches('M').count(), 2, "full ring");
        assert_eq!(radii(d), (54.0, 42.0));
        assert_eq!(svg.with_class("chart-centre-value")[0].text, "100.0%");
    }
    for value in [0.0, -10.0] {
        let svg = check(&ring(value).svg());
        assert!(arc(&svg).is_none());
        assert_eq!(svg.with_class("chart-centre-value")[0].text, "0.0%");
    }
}

#[test]
fn the_track_is_the_one_hover_and_click_target() {
    let svg = check(&ring(0.0).svg());
    let marks = svg.with_class("chart-mark");
    assert_eq!(marks.len(), 1);
    assert!(marks[0].has_class("chart-track") && marks[0].has_class("chart-link"));
    assert_eq!(marks[0].title(), Some("WB: 0.0%"));
    assert_eq!(marks[0].attr("data-filter-group"), Some("WB"));
    assert_eq!(svg.attr("role"), Some("group"));
}

#[test]
fn no_data_shows_the_empty_text_instead_of_a_number() {
    let chart = ring(f64::NAN);
    let svg = check(&chart.svg());
    assert!(arc(&svg).is_none() && svg.with_class("chart-centre-value").is_empty());
    assert_eq!(svg.with_class("chart-empty")[0].text, "無資料");
    assert_eq!(svg.with_class("chart-mark")[0].title(), Some("WB: 無資料"));
    let table = check(&chart.table());
    assert_eq!(
        table.all().iter().find(|e| e.name == "td").unwrap().text,
        "無資料"
    );
}
