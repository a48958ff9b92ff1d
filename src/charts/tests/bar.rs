//! Bar: lengths proportional with the largest at full length, nice ticks, robust extremes.

use super::kit::{El, check};
use crate::charts::{Bar, Chart, Item, Orientation};

fn bar(values: &[f64], orientation: Orientation, value_labels: bool) -> El {
    let items = values
        .iter()
        .enumerate()
        .map(|(i, &v)| Item::new(format!("b{i}"), v))
        .collect();
    check(
        &Bar {
            items,
            orientation,
            value_labels,
            ..Default::default()
        }
        .svg(),
    )
}

/// The value axis line: its length is the full length of a bar.
fn axis_length(svg: &El) -> f64 {
    let axis = svg.with_class("chart-axis")[0];
    (axis.num("x2") - axis.num("x1"))
        .abs()
        .max((axis.num("y2") - axis.num("y1")).abs())
}

#[test]
fn horizontal_lengths_are_proportional_and_the_largest_spans_the_axis() {
    let values = [120.0, 480.0, 60.0, 0.0, 333.0];
    let svg = bar(&values, Orientation::Horizontal, false);
    let bars = svg.with_class("chart-bar");
    assert_eq!(bars.len(), 4, "no shape for the zero value");
    let full = axis_length(&svg);
    for (rect, value) in bars.iter().zip(values.iter().filter(|&&v| v > 0.0)) {
        assert!(
            (rect.num("width") - full * value / 480.0).abs() < 0.02,
            "{value}"
        );
    }
    assert!(svg.with_class("chart-value").is_empty());
}

#[test]
fn vertical_heights_are_proportional_and_stand_on_the_axis() {
    let values = [3.0, 7.0, 1.0];
    let svg = bar(&values, Orientation::Vertical, true);
    let bars = svg.with_class("chart-bar");
    let axis = svg.with_class("chart-axis")[0];
    let (top, bottom) = (axis.num("y1"), axis.num("y2"));
    for (rect, value) in bars.iter().zip(values) {
        assert!((rect.num("height") - (bottom - top) * value / 7.0).abs() < 0.02);
        assert!((rect.num("y") + rect.num("height") - bottom).abs() < 0.02);
    }
    let labels: Vec<&str> = svg
        .with_class("chart-value")
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    assert_eq!(labels, ["3", "7", "1"]);
}

#[test]
fn ticks_are_nice_whole_numbers_for_counts() {
    let svg = bar(&[87.0, 12.0], Orientation::Vertical, false);
    let ticks: Vec<&str> = svg
        .with_class("chart-tick")
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    assert_eq!(&ticks[..5], ["0", "20", "40", "60", "80"]);
    let few = bar(&[1.0, 3.0], Orientation::Horizontal, false);
    let ticks: Vec<&str> = few
        .with_class("chart-tick")
        .iter()
        .map(|t| t.text.as_str())
        .filter(|t| !t.starts_with('b'))
        .collect();
    assert_eq!(ticks, ["0", "1", "2", "3"], "never half a lot");
}

#[test]
fn all_zero_and_huge_values_stay_inside_the_plot() {
    let zero = bar(&[0.0, 0.0], Orientation::Vertical, true);
    assert!(zero.with_class("chart-bar").is_empty());
    assert_eq!(zero.with_class("chart-value").len(), 2);
    let huge = bar(&[1e300, 5e299, f64::MAX], Orientation::Horizontal, true);
    let full = axis_length(&huge);
    let widths: Vec<f64> = huge
        .with_class("chart-bar")
        .iter()
        .map(|r| r.num("width"))
        .collect();
    assert!(
        (widths[0] - full).abs() < 0.02
            && (widths[1] - full / 2.0).abs() < 0.02
            && (widths[2] - full).abs() < 0.02,
        "{widths:?}"
    );
}

#[test]
fn a_single_bar_spans_the_axis() {
    let svg = bar(&[5.0], Orientation::Vertical, false);
    let axis = svg.with_class("chart-axis")[0];
    assert!(
        (svg.with_class("chart-bar")[0].num("height") - (axis.num("y2") - axis.num("y1"))).abs()
            < 0.02
    );
}
