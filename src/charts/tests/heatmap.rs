//! Heatmap: colours darken with the value, the legend's ends are the data's ends.

use super::kit::{El, check};
use crate::charts::heatmap::colour_at;
use crate::charts::{Category, Chart, Heatmap};

fn rgb(hex: &str) -> [f64; 3] {
    let channel = |i: usize| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64;
    [channel(0), channel(1), channel(2)]
}

/// Relative luminance (Rec. 709 weights) of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let [r, g, b] = rgb(hex);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

fn heatmap(values: Vec<Vec<f64>>, range: Option<(f64, f64)>) -> Heatmap<'static> {
    let rows = (0..values.len())
        .map(|r| Category::new(format!("r{r}")).filter("workcenter", format!("w{r}")))
        .collect();
    let columns = (0..values[0].len())
        .map(|c| Category::new(format!("c{c}")).filter("package", format!("p{c}")))
        .collect();
    Heatmap {
        rows,
        columns,
        values,
        range,
        cell_labels: true,
        ..Default::default()
    }
}

fn cells(svg: &El) -> Vec<&El> {
    svg.with_class("chart-cell")
}

#[test]
fn the_scale_darkens_steadily_from_light_to_dark() {
    let colours: Vec<String> = (0..=100).map(|i| colour_at(i as f64 / 100.0)).collect();
    for pair in colours.windows(2) {
        let (a, b) = (rgb(&pair[0]), rgb(&pair[1]));
        assert!(
            (0..3).all(|i| b[i] <= a[i]),
            "every channel non-increasing: {pair:?}"
        );
    }
    assert!(luminance(&colours[0]) > 230.0 && luminance(&colours[100]) < 60.0);
    assert_eq!(colour_at(f64::NAN), colour_at(0.0));
    assert_eq!(colour_at(7.0), colour_at(1.0));
}

#[test]
fn cell_colours_are_monotone_in_value() {
    let values = vec![vec![-20.0, 0.0, 15.0, 3.0], vec![120.0, 64.0, 64.0, 7.5]];
    let svg = check(&heatmap(values.clone(), None).svg());
    let mut pairs: Vec<(f64, f64)> = values
        .concat()
        .into_iter()
        .zip(
            cells(&svg)
                .iter()
                .map(|c| luminance(c.attr("fill").unwrap())),
        )
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in pairs.windows(2) {
        if w[0].0 < w[1].0 {
            assert!(w[1].1 < w[0].1, "larger value, darker cell: {pairs:?}");
        } else {
            assert_eq!(w[0].1, w[1].1, "equal values, equal colours");
        }
    }
}

#[test]
fn legend_extremes_are_the_data_extremes() {
    let svg = check(&heatmap(vec![vec![12.0, 7.0], vec![f64::NAN, 1234.0]], None).svg());
    assert_eq!(svg.with_class("chart-scale-min")[0].text, "7");
    assert_eq!(svg.with_class("chart-scale-max")[0].text, "1,234");
    let stops: Vec<&str> = svg
        .all()
        .into_iter()
        .filter(|e| e.name == "stop")
        .map(|e| e.attr("stop-color").unwrap())
        .collect();
    let fill_of = |title: &str| {
        cells(&svg)
            .iter()
            .find(|c| c.title() == Some(title))
            .unwrap()
            .attr("fill")
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        fill_of("r0 · c1: 7"),
        stops[0],
        "the smallest value has the legend's first colour"
    );
    assert_eq!(
        fill_of("r1 · c1: 1,234"),
        *stops.last().unwrap(),
        "the largest has its last"
    );
    let gradient = svg
        .all()
        .into_iter()
        .find(|e| e.name == "linearGradient")
        .unwrap();
    assert_eq!(
        svg.with_class("chart-scale")[0].attr("fill"),
        Some(format!("url(#{})", gradient.attr("id").unwrap()).as_str())
    );
}

#[test]
fn a_given_range_sets_the_ends_and_clamps_values_outside() {
    let svg = check(&heatmap(vec![vec![50.0, 150.0, -5.0]], Some((0.0, 100.0))).svg());
    assert_eq!(svg.with_class("chart-scale-max")[0].text, "100");
    let fills: Vec<&str> = cells(&svg)
        .iter()
        .map(|c| c.attr("fill").unwrap())
        .collect();
    assert_eq!(fills, [colour_at(0.5), colour_at(1.0), colour_at(0.0)]);
}

#[test]
fn missing_values_are_blank_cells_without_filters_or_labels() {
    let svg = check(&heatmap(vec![vec![1.0, f64::INFINITY], vec![2.0]], None).svg());
    let missing = svg.with_class("chart-cell-missing");
    assert_eq!(missing.len(), 2, "non-finite and absent");
    for cell in &missing {
        assert!(cell.attr("fill").is_none() && !cell.has_class("chart-link"));
    }
    let present = cells(&svg)
        .into_iter()
        .find(|c| c.title() == Some("r0 · c0: 1"))
        .unwrap();
    assert_eq!(present.attr("data-filter-workcenter"), Some("w0"));
    assert_eq!(present.attr("data-filter-package"), Some("p0"));
    assert_eq!(svg.with_class("chart-cell-label").len(), 2);
    let table = check(&heatmap(vec![vec![1.0, f64::NAN]], None).table());
    let tds: Vec<&str> = table
        .all()
        .iter()
        .filter(|e| e.name == "td")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(tds, ["1", ""]);
}

#[test]
fn labels_on_dark_cells_switch_to_a_light_colour() {
    let svg = check(&heatmap(vec![vec![0.0, 100.0]], None).svg());
    let labels = svg.with_class("chart-cell-label");
    assert!(!labels[0].has_class("chart-on-dark") && labels[1].has_class("chart-on-dark"));
}

#[test]
fn equal_values_take_one_colour_and_the_legend_shows_that_value_twice() {
    let svg = check(&heatmap(vec![vec![4.0, 4.0], vec![4.0, 4.0]], None).svg());
    assert!(
        cells(&svg)
            .iter()
            .all(|c| c.attr("fill") == Some(colour_at(0.0).as_str()))
    );
    assert_eq!(
        svg.with_class("chart-scale-min")[0].text,
        svg.with_class("chart-scale-max")[0].text
    );
}
