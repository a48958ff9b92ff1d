//! Donut: parts of a whole (WIP by status, by lots and by pieces) with the total in the centre.

use std::f64::consts::{PI, TAU};

use super::model::{ChartText, Format, Item, colour, quantity};
use super::svg::{Doc, Esc, N, hover, text_width};
use super::table::Table;
use super::{Chart, format};

const WIDTH: f64 = 340.0;
pub(super) const CX: f64 = 100.0;
pub(super) const OUTER: f64 = 90.0;
pub(super) const INNER: f64 = 58.0;
const LEGEND_X: f64 = 208.0;
const ROW: f64 = 18.0;

/// Segments clockwise from 12 o'clock in the order given; zero values draw no segment but stay
/// in the legend and the table.
#[derive(Clone, Debug, Default)]
pub struct Donut<'a> {
    pub text: ChartText<'a>,
    pub items: Vec<Item<'a>>,
    /// Under the total in the centre, e.g. "lots".
    pub centre_label: &'a str,
    /// Table column headings.
    pub category_label: &'a str,
    pub value_label: &'a str,
    pub format: Format<'a>,
}

impl Chart for Donut<'_> {
    fn svg(&self) -> String {
        let height = (self.items.len() as f64 * ROW + 24.0).max(200.0);
        if self.items.is_empty() {
            return Doc::empty("donut", &self.text, WIDTH, height);
        }
        let cy = height / 2.0;
        let values: Vec<f64> = self.items.iter().map(|i| quantity(i.value)).collect();
        let total: f64 = values.iter().sum();
        let interactive = self.items.iter().any(|i| !i.filters.is_empty());
        let mut doc = Doc::open("donut", &self.text, WIDTH, height, interactive);
        doc.raw(format_args!(
            r#"<circle cx="{}" cy="{}" r="{}" class="chart-track" fill="none" stroke-width="{}"/>"#,
            N(CX),
            N(cy),
            N((OUTER + INNER) / 2.0),
            N(OUTER - INNER)
        ));
        let mut start = 0.0;
        for (index, (item, &value)) in self.items.iter().zip(&values).enumerate() {
            if value <= 0.0 || total <= 0.0 {
                continue;
            }
            let share = value / total;
            let end = start + share * TAU;
            let title = format!(
                "{} ({})",
                hover(&item.label, &self.format.apply(value)),
                format::percent(share * 100.0)
            );
            let class = format!("chart-segment {}", colour(&item.class, index));
            let d = annulus(CX, cy, OUTER, INNER, start, end);
            doc.mark(
                "path",
                format_args!(r#"d="{d}" fill-rule="evenodd""#),
                &class,
                &title,
                &[&item.filters],
            );
            start = end;
        }
        doc.text(
            CX,
            cy + 4.0,
            "chart-centre-value",
            "middle",
            &self.format.apply(total),
        );
        if !self.centre_label.is_empty() {
            let room = 2.0 * INNER - 12.0;
            doc.label(
                CX,
                cy + 24.0,
                "chart-centre-label",
                "middle",
                self.centre_label,
                room,
            );
        }
        let top = cy - self.items.len() as f64 * ROW / 2.0;
        for (index, (item, &value)) in self.items.iter().zip(&values).enumerate() {
            let y = top + index as f64 * ROW;
            doc.raw(format_args!(
                r#"<rect x="{}" y="{}" width="12" height="12" class="chart-swatch {}"/>"#,
                N(LEGEND_X),
                N(y + 3.0),
                Esc(&colour(&item.class, index))
            ));
            let text = self.format.apply(value);
            let room = WIDTH - LEGEND_X - 24.0 - text_width(&text);
            doc.label(
                LEGEND_X + 16.0,
                y + 13.0,
                "chart-legend-text",
                "start",
                &item.label,
                room,
            );
            doc.text(WIDTH - 4.0, y + 13.0, "chart-legend-value", "end", &text);
        }
        doc.finish()
    }

    fn table(&self) -> String {
        let mut table = Table::new(self.text.title, &[self.category_label, self.value_label]);
        for item in &self.items {
            table.row(&item.label, &[self.format.apply(quantity(item.value))]);
        }
        table.finish(self.text.empty)
    }
}

/// The `d` of a ring sector from angle `a0` to `a1` (radians clockwise from 12 o'clock).
///
/// Each arc is drawn as two halves through its midpoint: an SVG arc whose end equals its start
/// draws nothing, so a lone 360° segment (or one a rounding away from it) would vanish, and
/// halves of at most 180° need no large-arc flag. A full circle is two closed rings with the
/// inner one cut out by `fill-rule="evenodd"`.
pub(crate) fn annulus(cx: f64, cy: f64, outer: f64, inner: f64, a0: f64, a1: f64) -> String {
    let at = |r: f64, a: f64| (N(cx + r * a.sin()), N(cy - r * a.cos()));
    if a1 - a0 >= TAU - 1e-9 {
        let circle = |r: f64| {
            let (top, bottom) = (at(r, 0.0), at(r, PI));
            format!(
                "M{} {}A{} {} 0 0 1 {} {}A{} {} 0 0 1 {} {}Z",
                top.0,
                top.1,
                N(r),
                N(r),
                bottom.0,
                bottom.1,
                N(r),
                N(r),
                top.0,
                top.1
            )
        };
        return format!("{}{}", circle(outer), circle(inner));
    }
    let mid = (a0 + a1) / 2.0;
    let [o0, om, o1] = [a0, mid, a1].map(|a| at(outer, a));
    let [i1, im, i0] = [a1, mid, a0].map(|a| at(inner, a));
    let (ro, ri) = (N(outer), N(inner));
    format!(
        "M{} {}A{ro} {ro} 0 0 1 {} {}A{ro} {ro} 0 0 1 {} {}L{} {}A{ri} {ri} 0 0 0 {} {}A{ri} {ri} 0 0 0 {} {}Z",
        o0.0, o0.1, om.0, om.1, o1.0, o1.1, i1.0, i1.1, im.0, im.1, i0.0, i0.1
    )
}
