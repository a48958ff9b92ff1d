//! Pareto: causes sorted from the largest, with the cumulative share as a line on a 0–100 %
//! right axis (hold reasons: which few explain most of the held lots).

use std::fmt::Write;

use super::Chart;
use super::axis::{self, Plot, Side, WIDTH};
use super::model::{ChartText, Format, Item, colour, quantity};
use super::scale::{Scale, all_whole};
use super::svg::{Doc, N, hover};
use super::table::Table;

const HEIGHT: f64 = 300.0;

#[derive(Clone, Debug, Default)]
pub struct Pareto<'a> {
    pub text: ChartText<'a>,
    /// In any order: drawn largest first (ties keep their order), in one colour unless an
    /// item has its own class.
    pub items: Vec<Item<'a>>,
    /// A dashed line at 80 % of the cumulative axis.
    pub marker_80: bool,
    /// Axis titles, also the table's column headings.
    pub category_label: &'a str,
    pub value_label: &'a str,
    pub cumulative_label: &'a str,
    pub format: Format<'a>,
}

impl<'a> Pareto<'a> {
    /// The items largest first with their values and cumulative percentages. The running sum
    /// and the total add the same numbers in the same order, so the last share is exactly 100.
    /// With a zero total every share is 0 and no line is drawn.
    pub(super) fn sorted(&self) -> Vec<(&Item<'a>, f64, f64)> {
        let mut rows: Vec<(&Item, f64)> =
            self.items.iter().map(|i| (i, quantity(i.value))).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = rows.iter().map(|r| r.1).sum();
        let mut running = 0.0;
        rows.into_iter()
            .map(|(item, value)| {
                running += value;
                let share = if total > 0.0 {
                    (running / total * 100.0).min(100.0)
                } else {
                    0.0
                };
                (item, value, share)
            })
            .collect()
    }
}

impl Chart for Pareto<'_> {
    fn svg(&self) -> String {
        if self.items.is_empty() {
            return Doc::empty("pareto", &self.text, WIDTH, 120.0);
        }
        let rows = self.sorted();
        let interactive = self.items.iter().any(|i| !i.filters.is_empty());
        let mut doc = Doc::open("pareto", &self.text, WIDTH, HEIGHT, interactive);
        let values = rows.iter().map(|r| r.1);
        let scale = Scale::new(rows[0].1, 5, all_whole(values));
        let percent = Scale::stepped(100.0, 20.0);
        let left = axis::margin(&scale, &self.format);
        let right = axis::margin(&percent, &Format::Percent);
        let plot = Plot {
            x: left,
            y: 12.0,
            w: WIDTH - left - right,
            h: HEIGHT - 56.0,
        };
        axis::value_axis_y(
            &mut doc,
            plot,
            &scale,
            &self.format,
            Side::Left,
            self.value_label,
        );
        axis::value_axis_y(
            &mut doc,
            plot,
            &percent,
            &Format::Percent,
            Side::Right,
            self.cumulative_label,
        );
        let labels: Vec<&str> = rows.iter().map(|r| r.0.label.as_ref()).collect();
        axis::category_axis_x(&mut doc, plot, &labels, self.category_label);
        let band = plot.w / rows.len() as f64;
        let width = (band * 0.7).min(60.0);
        for (index, &(item, value, _)) in rows.iter().enumerate() {
            if value > 0.0 {
                let top = plot.y_of(&scale, value);
                doc.mark(
                    "rect",
                    format_args!(
                        r#"x="{}" y="{}" width="{}" height="{}""#,
                        N(plot.x + band * (index as f64 + 0.5) - width / 2.0),
                        N(top),
                        N(width),
                        N(plot.bottom() - top)
                    ),
                    &format!("chart-bar {}", colour(&item.class, 0)),
                    &hover(&item.label, &self.format.apply(value)),
                    &[&item.filters],
                );
            }
        }
        if self.marker_80 {
            let y = plot.y_of(&percent, 80.0);
            doc.raw(format_args!(
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" class="chart-marker" stroke-dasharray="4 3"/>"#,
                N(plot.x),
                N(plot.right()),
                y = N(y)
            ));
        }
        if rows.last().is_some_and(|r| r.2 > 0.0) {
            let point = |i: usize, share: f64| {
                (plot.x + band * (i as f64 + 0.5), plot.y_of(&percent, share))
            };
            let mut d = String::new();
            for (i, &(_, _, share)) in rows.iter().enumerate() {
                let (x, y) = point(i, share);
                let _ = write!(d, "{}{} {}", if i == 0 { 'M' } else { 'L' }, N(x), N(y));
            }
            doc.raw(format_args!(
                r#"<path d="{d}" class="chart-cumulative" fill="none"/>"#
            ));
            for (i, &(item, _, share)) in rows.iter().enumerate() {
                let (x, y) = point(i, share);
                let title = hover(&item.label, &Format::Percent.apply(share));
                doc.mark(
                    "circle",
                    format_args!(r#"cx="{}" cy="{}" r="3.5""#, N(x), N(y)),
                    "chart-point chart-cumulative-point",
                    &title,
                    &[],
                );
            }
        }
        doc.finish()
    }

    fn table(&self) -> String {
        let heads = [self.category_label, self.value_label, self.cumulative_label];
        let mut table = Table::new(self.text.title, &heads);
        for (item, value, share) in self.sorted() {
            table.row(
                &item.label,
                &[self.format.apply(value), Format::Percent.apply(share)],
            );
        }
        table.finish(self.text.empty)
    }
}
