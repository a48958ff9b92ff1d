//! Stacked bar: segments stack without gaps and sum to their category's total.

use super::kit::{El, check};
use crate::charts::{Category, Chart, Series, Stacked};

fn stacked(series: Vec<Series<'static>>, n: usize) -> El {
    let categories = (0..n).map(|i| Category::new(format!("c{i}"))).collect();
    check(
        &Stacked {
            categories,
            series,
            total_labels: true,
            ..Default::default()
        }
        .svg(),
    )
}

#[test]
fn segments_stack_without_gaps_and_sum_to_the_category_total() {
    let run = [10.0, 0.0, 5.0, 2.5];
    let queue = [20.0, 4.0, 0.0, 2.5];
    let hold = [5.0, 1.0, 1.0];
    let svg = stacked(
        vec![
            Series::new("run", run.to_vec()),
            Series::new("queue", queue.to_vec()),
            Series::new("hold", hold.to_vec()),
        ],
        4,
    );
    let axis = svg.with_class("chart-axis")[0];
    let (top, bottom) = (axis.num("y1"), axis.num("y2"));
    let totals = [35.0, 5.0, 6.0, 5.0];
    let segments = svg.with_class("chart-bar");
    assert_eq!(segments.len(), 9, "zero and missing values draw nothing");
    for (c, total) in totals.iter().enumerate() {
        let mut mine: Vec<&&El> = segments
            .iter()
            .filter(|s| s.title().unwrap().starts_with(&format!("c{c} · ")))
            .collect();
        mine.sort_by(|a, b| b.num("y").total_cmp(&a.num("y")));
        let height: f64 = mine.iter().map(|s| s.num("height")).sum();
        assert!(
            (height - (bottom - top) * total / 35.0).abs() < 0.05,
            "category {c}: {height}"
        );
        let mut floor = bottom;
        for segment in mine {
            assert!(
                (segment.num("y") + segment.num("height") - floor).abs() < 0.02,
                "no gap"
            );
            floor = segment.num("y");
        }
    }
    let labels: Vec<&str> = svg
        .with_class("chart-value")
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    assert_eq!(labels, ["35", "5", "6", "5"]);
}

#[test]
fn series_keep_their_colour_class_and_the_legend_names_them() {
    let svg = stacked(
        vec![
            Series::new("RUN", vec![1.0]).class("c-run"),
            Series::new("Q", vec![1.0]),
        ],
        1,
    );
    let segments = svg.with_class("chart-bar");
    assert!(segments[0].has_class("c-run") && segments[1].has_class("c-cat-1"));
    let legend: Vec<&str> = svg
        .with_class("chart-legend-text")
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    assert_eq!(legend, ["RUN", "Q"]);
    assert_eq!(svg.with_class("chart-swatch").len(), 2);
}

#[test]
fn the_table_has_a_column_per_series() {
    let chart = Stacked {
        categories: vec![Category::new("QFN"), Category::new("SOP")],
        series: vec![
            Series::new("RUN", vec![1200.0, 3.0]),
            Series::new("HOLD", vec![7.0]),
        ],
        category_label: "package",
        ..Default::default()
    };
    let table = check(&chart.table());
    let heads: Vec<&str> = table
        .all()
        .iter()
        .filter(|e| e.attr("scope") == Some("col"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(heads, ["package", "RUN", "HOLD"]);
    let cells: Vec<&str> = table
        .all()
        .iter()
        .filter(|e| e.name == "td")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(cells, ["1,200", "7", "3", "0"]);
}
