//! Donut: arcs proportional to values and closing the circle, the lone full ring.

use std::f64::consts::TAU;

use super::kit::{El, check, radii, sector};
use crate::charts::donut::{CX, INNER, OUTER};
use crate::charts::{Chart, Donut, Item};

fn donut(values: &[f64]) -> (El, f64) {
    let items = values
        .iter()
        .enumerate()
        .map(|(i, &v)| Item::new(format!("s{i}"), v))
        .collect();
    let svg = check(
        &Donut {
            items,
            ..Default::default()
        }
        .svg(),
    );
    let height = svg
        .attr("viewBox")
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    (svg, height / 2.0)
}

fn sectors(svg: &El, cy: f64) -> Vec<(f64, f64)> {
    svg.with_class("chart-segment")
        .iter()
        .map(|p| sector(p.attr("d").unwrap(), CX, cy))
        .collect()
}

#[test]
fn arcs_fill_the_circle_in_proportion_to_their_values() {
    let values = [5.0, 3.0, 0.0, 2.0, 1.0, 1e-3];
    let total: f64 = values.iter().sum();
    let (svg, cy) = donut(&values);
    let sectors = sectors(&svg, cy);
    assert_eq!(sectors.len(), 5, "no shape for the zero value");
    let shown: Vec<f64> = values.iter().copied().filter(|&v| v > 0.0).collect();
    let mut expected_start = 0.0;
    for ((start, sweep), value) in sectors.iter().zip(&shown) {
        assert!(
            (start - expected_start)
                .rem_euclid(TAU)
                .min((expected_start - start).rem_euclid(TAU))
                < 1e-3,
            "contiguous"
        );
        assert!(
            (sweep / TAU - value / total).abs() < 1e-3,
            "{sweep} for {value}"
        );
        expected_start += sweep;
    }
    let swept: f64 = sectors.iter().map(|s| s.1).sum();
    assert!((swept - TAU).abs() < 1e-3, "{swept}");
    assert_eq!(svg.with_class("chart-centre-value")[0].text, "11");
    assert_eq!(
        svg.with_class("chart-legend-text").len(),
        6,
        "the zero value keeps its legend row"
    );
}

#[test]
fn a_single_value_is_a_full_ring_with_its_hole() {
    for values in [&[7.0][..], &[0.0, 7.0, -3.0]] {
        let (svg, cy) = donut(values);
        let segments = svg.with_class("chart-segment");
        assert_eq!(segments.len(), 1);
        let d = segments[0].attr("d").unwrap();
        assert_eq!(d.matches('M').count(), 2, "outer and inner circle: {d}");
        assert_eq!(radii(d), (OUTER, INNER));
        assert_eq!(segments[0].attr("fill-rule"), Some("evenodd"));
        assert_eq!(sector(d, CX, cy).1, TAU);
    }
}

#[test]
fn a_nearly_full_segment_still_draws_its_arc() {
    let (svg, cy) = donut(&[1e9, 1.0]);
    let sectors = sectors(&svg, cy);
    assert!(
        (sectors[0].1 - TAU).abs() < 1e-3 && sectors[0].1 > 3.0 * TAU / 4.0,
        "{sectors:?}"
    );
}

#[test]
fn all_zero_values_draw_the_track_and_a_zero_total() {
    let (svg, _) = donut(&[0.0, 0.0, f64::NAN, -1.0]);
    assert!(svg.with_class("chart-segment").is_empty());
    assert_eq!(svg.with_class("chart-track").len(), 1);
    assert_eq!(svg.with_class("chart-centre-value")[0].text, "0");
    assert!(
        svg.with_class("chart-legend-value")
            .iter()
            .all(|v| v.text == "0")
    );
}

#[test]
fn hover_titles_carry_value_and_share() {
    let (svg, _) = donut(&[1500.0, 500.0]);
    let titles: Vec<&str> = svg
        .with_class("chart-segment")
        .iter()
        .map(|s| s.title().unwrap())
        .collect();
    assert_eq!(titles, ["s0: 1,500 (75.0%)", "s1: 500 (25.0%)"]);
}
