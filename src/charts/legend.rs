//! A legend of series names that wraps across the chart's width.

use std::borrow::Cow;

use super::svg::{Doc, N, text_width};

const ROW: f64 = 16.0;
const NAME_MAX: f64 = 120.0;

/// One legend entry: a swatch (bars) or a short stroke (lines) in the series' colour class.
pub(crate) struct Entry<'s> {
    pub name: &'s str,
    pub class: Cow<'s, str>,
    pub line: bool,
}

/// Where each entry goes, and the height of the whole legend.
fn layout(entries: &[Entry], width: f64) -> (Vec<(f64, f64)>, f64) {
    let (mut x, mut y) = (0.0, 0.0);
    let mut places = Vec::with_capacity(entries.len());
    for entry in entries {
        let w = 18.0 + text_width(entry.name).min(NAME_MAX) + 14.0;
        if x > 0.0 && x + w > width {
            x = 0.0;
            y += ROW;
        }
        places.push((x, y));
        x += w;
    }
    let height = if entries.is_empty() { 0.0 } else { y + ROW };
    (places, height)
}

pub(crate) fn height(entries: &[Entry], width: f64) -> f64 {
    layout(entries, width).1
}

/// Draws the legend with its top-left corner at (`left`, `top`).
pub(crate) fn draw(doc: &mut Doc, entries: &[Entry], left: f64, top: f64, width: f64) {
    let (places, _) = layout(entries, width);
    doc.raw(format_args!(r#"<g class="chart-legend">"#));
    for (entry, (x, y)) in entries.iter().zip(places) {
        let (x, y) = (left + x, top + y);
        if entry.line {
            doc.line(
                (x, y + 7.0),
                (x + 12.0, y + 7.0),
                &format!("chart-legend-line {}", entry.class),
            );
        } else {
            doc.raw(format_args!(
                r#"<rect x="{}" y="{}" width="12" height="12" class="chart-swatch {}"/>"#,
                N(x),
                N(y + 1.0),
                super::svg::Esc(&entry.class)
            ));
        }
        doc.label(
            x + 16.0,
            y + 11.0,
            "chart-legend-text",
            "start",
            entry.name,
            NAME_MAX,
        );
    }
    doc.raw(format_args!("</g>"));
}
