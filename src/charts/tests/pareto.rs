//! Pareto: largest first, cumulative line ending at exactly 100 % on the right axis.

use super::kit::{El, check, path_numbers};
use crate::charts::{Chart, Item, Pareto};

fn pareto(values: &[f64], marker_80: bool) -> Pareto<'static> {
    let items = values
        .iter()
        .enumerate()
        .map(|(i, &v)| Item::new(format!("r{i}"), v))
        .collect();
    Pareto {
        items,
        marker_80,
        ..Default::default()
    }
}

/// (top, bottom) of the plot, from the left value axis line.
fn plot_span(svg: &El) -> (f64, f64) {
    let axis = svg.with_class("chart-axis")[0];
    (axis.num("y1"), axis.num("y2"))
}

#[test]
fn bars_are_sorted_largest_first_and_ties_keep_their_order() {
    let svg = check(&pareto(&[3.0, 9.0, 1.0, 9.0, 4.0], false).svg());
    let titles: Vec<&str> = svg
        .with_class("chart-bar")
        .iter()
        .map(|b| b.title().unwrap())
        .collect();
    assert_eq!(titles, ["r1: 9", "r3: 9", "r4: 4", "r0: 3", "r2: 1"]);
    let heights: Vec<f64> = svg
        .with_class("chart-bar")
        .iter()
        .map(|b| b.num("height"))
        .collect();
    assert!(heights.windows(2).all(|w| w[0] >= w[1]), "{heights:?}");
    let (top, bottom) = plot_span(&svg);
    assert!(
        (heights[0] - (bottom - top)).abs() < 0.02,
        "largest at full height"
    );
}

#[test]
fn the_cumulative_share_ends_at_exactly_one_hundred_percent() {
    for values in [
        &[0.1, 0.2, 0.3, 0.7, 1e-9, 3.3][..],
        &[1.0 / 3.0; 7],
        &[5.0],
        &[2.0, 0.0, 1e12],
    ] {
        let chart = pareto(values, false);
        let rows = chart.sorted();
        assert_eq!(rows.last().unwrap().2, 100.0, "{values:?}");
        assert!(rows.windows(2).all(|w| w[0].2 <= w[1].2), "non-decreasing");
        let svg = check(&chart.svg());
        let points = svg.with_class("chart-cumulative-point");
        assert_eq!(points.len(), values.len());
        let (top, _) = plot_span(&svg);
        assert_eq!(
            points.last().unwrap().num("cy"),
            top,
            "last point on the 100 % line"
        );
        assert!(
            points
                .last()
                .unwrap()
                .title()
                .unwrap()
                .ends_with(": 100.0%")
        );
        let line = path_numbers(svg.with_class("chart-cumulative")[0].attr("d").unwrap());
        assert_eq!(*line.last().unwrap(), top);
    }
}

#[test]
fn each_point_sits_at_its_running_share_of_the_right_axis() {
    let svg = check(&pareto(&[50.0, 30.0, 20.0], false).svg());
    let (top, bottom) = plot_span(&svg);
    let cys: Vec<f64> = svg
        .with_class("chart-cumulative-point")
        .iter()
        .map(|p| p.num("cy"))
        .collect();
    for (cy, share) in cys.iter().zip([0.5, 0.8, 1.0]) {
        assert!((cy - (bottom - (bottom - top) * share)).abs() < 0.02);
    }
    let right_ticks: Vec<String> = svg
        .with_class("chart-tick")
        .iter()
        .map(|t| t.text.clone())
        .filter(|t| t.ends_with('%'))
        .collect();
    assert_eq!(
        right_ticks,
        ["0.0%", "20.0%", "40.0%", "60.0%", "80.0%", "100.0%"]
    );
}

#[test]
fn the_eighty_percent_marker_is_drawn_only_when_asked() {
    let without = check(&pareto(&[3.0, 1.0], false).svg());
    assert!(without.with_class("chart-marker").is_empty());
    let with = check(&pareto(&[3.0, 1.0], true).svg());
    let marker = with.with_class("chart-marker")[0];
    let (top, bottom) = plot_span(&with);
    assert!((marker.num("y1") - (bottom - 0.8 * (bottom - top))).abs() < 0.02);
    assert_eq!(marker.num("y1"), marker.num("y2"));
}

#[test]
fn a_zero_total_draws_no_line_and_the_table_says_zero() {
    let chart = pareto(&[0.0, -4.0, f64::NAN], false);
    let svg = check(&chart.svg());
    assert!(
        svg.with_class("chart-cumulative").is_empty() && svg.with_class("chart-bar").is_empty()
    );
    let table = check(&chart.table());
    let cells: Vec<String> = table
        .all()
        .iter()
        .filter(|e| e.name == "td")
        .map(|e| e.text.clone())
        .collect();
    assert_eq!(cells, ["0", "0.0%", "0", "0.0%", "0", "0.0%"]);
}

#[test]
fn the_table_lists_causes_largest_first_with_their_running_share() {
    let table = check(&pareto(&[1.0, 3.0], false).table());
    let rows: Vec<Vec<&str>> = table
        .all()
        .into_iter()
        .filter(|e| {
            e.name == "tr"
                && e.children[0].name == "th"
                && e.children[0].attr("scope") == Some("row")
        })
        .map(|r| r.children.iter().map(|c| c.text.as_str()).collect())
        .collect();
    assert_eq!(rows, [["r1", "3", "75.0%"], ["r0", "1", "100.0%"]]);
}
