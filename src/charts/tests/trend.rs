//! Trend: lines alone on the left axis, or over bars on their own right axis.

use super::kit::{El, check, path_numbers};
use crate::charts::{Category, Chart, Format, Series, Trend};

fn days(n: usize) -> Vec<Category<'static>> {
    (0..n)
        .map(|i| Category::new(format!("d{i}")).filter("day", format!("{i}")))
        .collect()
}

/// (top, bottom) of the plot, from the left value axis line.
fn plot_span(svg: &El) -> (f64, f64) {
    let axis = svg.with_class("chart-axis")[0];
    (axis.num("y1"), axis.num("y2"))
}

#[test]
fn bars_and_line_each_fill_their_own_axis() {
    let chart = Trend {
        categories: days(3),
        bars: vec![
            Series::new("new", vec![4.0, 8.0, 2.0]),
            Series::new("released", vec![1.0, 0.0, 6.0]),
        ],
        lines: vec![Series::new("on hold", vec![300.0, 450.0, 400.0]).filter("status", "HOLD")],
        lines_on_right: true,
        right_format: Format::Custom(&|v| format!("{v:.0} lots")),
        ..Default::default()
    };
    let svg = check(&chart.svg());
    let (top, bottom) = plot_span(&svg);
    let bars = svg.with_class("chart-bar");
    assert_eq!(bars.len(), 5);
    let tallest = bars.iter().map(|b| b.num("height")).fold(0.0, f64::max);
    assert!(
        (tallest - (bottom - top)).abs() < 0.02,
        "8 at full height on the left axis"
    );
    let points = svg.with_class("chart-point");
    let cys: Vec<f64> = points.iter().map(|p| p.num("cy")).collect();
    assert_eq!(cys.len(), 3);
    assert!(
        (cys[1] - top).abs() < 0.02,
        "450 at full height on the right axis"
    );
    assert!((cys[0] - (bottom - (bottom - top) * 300.0 / 450.0)).abs() < 0.02);
    assert_eq!(points[1].title(), Some("d1 · on hold: 450 lots"));
    assert_eq!(points[1].attr("data-filter-day"), Some("1"));
    assert_eq!(points[1].attr("data-filter-status"), Some("HOLD"));
    assert!(
        svg.with_class("chart-tick")
            .iter()
            .any(|t| t.text == "400 lots"),
        "right axis ticks in the line's format"
    );
    let line = path_numbers(svg.with_class("chart-series-line")[0].attr("d").unwrap());
    assert_eq!(line.len(), 6, "one vertex per category");
}

#[test]
fn lines_without_bars_share_the_left_axis() {
    let chart = Trend {
        categories: days(4),
        lines: vec![
            Series::new("a", vec![10.0, 20.0]),
            Series::new("b", vec![5.0, 5.0, 5.0, 40.0, 99.0]),
        ],
        lines_on_right: true,
        ..Default::default()
    };
    let svg = check(&chart.svg());
    let (top, bottom) = plot_span(&svg);
    let cys: Vec<f64> = svg
        .with_class("chart-point")
        .iter()
        .map(|p| p.num("cy"))
        .collect();
    assert_eq!(
        cys.len(),
        8,
        "missing values count as 0, extra ones are ignored"
    );
    assert_eq!(cys[2], bottom);
    assert!(
        (cys[7] - top).abs() < 0.02,
        "40 is the largest of both lines"
    );
    assert!((cys[1] - (bottom - (bottom - top) * 0.5)).abs() < 0.02);
    assert!(
        svg.with_class("chart-tick")
            .iter()
            .all(|t| !t.text.contains('%'))
    );
}

#[test]
fn bars_sit_side_by_side_inside_their_category() {
    let chart = Trend {
        categories: days(2),
        bars: vec![
            Series::new("x", vec![1.0, 1.0]),
            Series::new("y", vec![1.0, 1.0]),
            Series::new("z", vec![1.0, 1.0]),
        ],
        ..Default::default()
    };
    let svg = check(&chart.svg());
    let xs: Vec<(f64, f64)> = svg
        .with_class("chart-bar")
        .iter()
        .map(|b| (b.num("x"), b.num("width")))
        .collect();
    for pair in xs.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0 + 0.02, "{xs:?}");
    }
    let legend_lines = svg.with_class("chart-legend-line");
    assert!(legend_lines.is_empty() && svg.with_class("chart-swatch").len() == 3);
}

#[test]
fn many_days_thin_out_their_labels_but_keep_every_point() {
    let chart = Trend {
        categories: days(90),
        lines: vec![Series::new("a", vec![1.0; 90])],
        ..Default::default()
    };
    let svg = check(&chart.svg());
    assert_eq!(svg.with_class("chart-point").len(), 90);
    let day_labels = svg
        .with_class("chart-tick")
        .iter()
        .filter(|t| t.text.starts_with('d'))
        .count();
    assert!(day_labels < 90 / 2 && day_labels > 5, "{day_labels}");
}
