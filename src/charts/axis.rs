//! Axes shared by the charts that have them (bar, Pareto, stacked, trend): value ticks with
//! gridlines, category labels that thin out when crowded, and rotated axis titles.

use super::model::Format;
use super::scale::Scale;
use super::svg::{Doc, N, text_width};

/// Width of every axis chart's coordinate system; heights vary by chart.
pub(crate) const WIDTH: f64 = 640.0;
/// Longest category label drawn before it is cut (the full text stays in the title).
pub(crate) const LABEL_MAX: f64 = 110.0;

/// The plotting area inside the axes, in user units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plot {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Plot {
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// The y of `value` on a vertical axis.
    pub fn y_of(&self, scale: &Scale, value: f64) -> f64 {
        self.bottom() - self.h * scale.frac(value)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

/// Most room a number beside a plot may take, so absurd values cannot squeeze the plot away
/// (a wider label runs past the edge instead).
pub(crate) const TEXT_MAX: f64 = 120.0;

/// Room a vertical value axis needs beside the plot: its widest tick label, a gap, the title.
pub(crate) fn margin(scale: &Scale, format: &Format) -> f64 {
    let widest = scale
        .ticks
        .iter()
        .map(|&t| text_width(&format.apply(t)))
        .fold(0.0, f64::max);
    widest.min(TEXT_MAX) + 26.0
}

/// Tick labels (and, on the left, gridlines) of a vertical value axis, with its title turned
/// along the axis.
pub(crate) fn value_axis_y(
    doc: &mut Doc,
    plot: Plot,
    scale: &Scale,
    format: &Format,
    side: Side,
    title: &str,
) {
    for &tick in &scale.ticks {
        let y = plot.y_of(scale, tick);
        let text = format.apply(tick);
        match side {
            Side::Left => {
                doc.line((plot.x, y), (plot.right(), y), "chart-grid");
                doc.text(plot.x - 5.0, y + 4.0, "chart-tick", "end", &text);
            }
            Side::Right => doc.text(plot.right() + 5.0, y + 4.0, "chart-tick", "start", &text),
        }
    }
    let (x, angle) = match side {
        Side::Left => (plot.x - margin(scale, format) + 10.0, -90),
        Side::Right => (plot.right() + margin(scale, format) - 10.0, 90),
    };
    let axis_x = if side == Side::Left {
        plot.x
    } else {
        plot.right()
    };
    doc.line((axis_x, plot.y), (axis_x, plot.bottom()), "chart-axis");
    if !title.is_empty() {
        let y = plot.y + plot.h / 2.0;
        doc.raw(format_args!(
            r#"<g transform="rotate({angle} {} {})">"#,
            N(x),
            N(y)
        ));
        doc.label(x, y, "chart-axis-title", "middle", title, plot.h);
        doc.raw(format_args!("</g>"));
    }
}

/// Ticks and vertical gridlines of a horizontal value axis under the plot, title below.
pub(crate) fn value_axis_x(doc: &mut Doc, plot: Plot, scale: &Scale, format: &Format, title: &str) {
    for &tick in &scale.ticks {
        let x = plot.x + plot.w * scale.frac(tick);
        doc.line((x, plot.y), (x, plot.bottom()), "chart-grid");
        doc.text(
            x,
            plot.bottom() + 14.0,
            "chart-tick",
            "middle",
            &format.apply(tick),
        );
    }
    doc.line(
        (plot.x, plot.bottom()),
        (plot.right(), plot.bottom()),
        "chart-axis",
    );
    if !title.is_empty() {
        doc.label(
            plot.x + plot.w / 2.0,
            plot.bottom() + 32.0,
            "chart-axis-title",
            "middle",
            title,
            plot.w,
        );
    }
}

/// Category labels centred under their bands. When they would overlap, only every k-th is
/// drawn (each shape still names its category in its title).
pub(crate) fn category_axis_x(doc: &mut Doc, plot: Plot, labels: &[&str], title: &str) {
    doc.line(
        (plot.x, plot.bottom()),
        (plot.right(), plot.bottom()),
        "chart-axis",
    );
    if !labels.is_empty() {
        let band = plot.w / labels.len() as f64;
        let widest = labels
            .iter()
            .map(|l| text_width(l))
            .fold(0.0, f64::max)
            .min(LABEL_MAX);
        let every = ((widest + 6.0) / band).ceil().max(1.0) as usize;
        for (i, label) in labels.iter().enumerate().step_by(every) {
            let x = plot.x + band * (i as f64 + 0.5);
            let room = (band * every as f64 - 6.0).min(LABEL_MAX);
            doc.label(x, plot.bottom() + 14.0, "chart-tick", "middle", label, room);
        }
    }
    if !title.is_empty() {
        doc.label(
            plot.x + plot.w / 2.0,
            plot.bottom() + 32.0,
            "chart-axis-title",
            "middle",
            title,
            plot.w,
        );
    }
}
