//! Stacked bar: several series per category (lots per package split by status), with a legend.

use super::Chart;
use super::axis::{self, Plot, Side, WIDTH};
use super::legend::{self, Entry};
use super::model::{Category, ChartText, Format, Series, colour};
use super::scale::{Scale, all_whole};
use super::svg::{Doc, N, hover, text_width};
use super::table::Table;

const HEIGHT: f64 = 320.0;

/// Columns of stacked segments, series in the order given from the bottom up. A segment's
/// filters are its category's and its series' together (category first).
#[derive(Clone, Debug, Default)]
pub struct Stacked<'a> {
    pub text: ChartText<'a>,
    pub categories: Vec<Category<'a>>,
    pub series: Vec<Series<'a>>,
    /// Write each column's total above it.
    pub total_labels: bool,
    /// Axis titles; the category one also heads the table's first column.
    pub category_label: &'a str,
    pub value_label: &'a str,
    pub format: Format<'a>,
}

impl Stacked<'_> {
    fn total(&self, category: usize) -> f64 {
        self.series.iter().map(|s| s.at(category)).sum()
    }
}

impl Chart for Stacked<'_> {
    fn svg(&self) -> String {
        if self.categories.is_empty() || self.series.is_empty() {
            return Doc::empty("stacked", &self.text, WIDTH, 120.0);
        }
        let interactive = self.categories.iter().any(|c| !c.filters.is_empty())
            || self.series.iter().any(|s| !s.filters.is_empty());
        let mut doc = Doc::open("stacked", &self.text, WIDTH, HEIGHT, interactive);
        let entries: Vec<Entry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| Entry {
                name: &s.name,
                class: colour(&s.class, i),
                line: false,
            })
            .collect();
        let totals: Vec<f64> = (0..self.categories.len()).map(|c| self.total(c)).collect();
        let values = self
            .series
            .iter()
            .flat_map(|s| (0..self.categories.len()).map(|c| s.at(c)));
        let scale = Scale::new(
            totals.iter().copied().fold(0.0, f64::max),
            5,
            all_whole(values),
        );
        let left = axis::margin(&scale, &self.format);
        let top = 8.0
            + legend::height(&entries, WIDTH - left - 16.0)
            + if self.total_labels { 18.0 } else { 8.0 };
        let plot = Plot {
            x: left,
            y: top,
            w: WIDTH - left - 16.0,
            h: HEIGHT - top - 44.0,
        };
        legend::draw(&mut doc, &entries, left, 8.0, plot.w);
        axis::value_axis_y(
            &mut doc,
            plot,
            &scale,
            &self.format,
            Side::Left,
            self.value_label,
        );
        let labels: Vec<&str> = self.categories.iter().map(|c| c.label.as_ref()).collect();
        axis::category_axis_x(&mut doc, plot, &labels, self.category_label);
        let band = plot.w / self.categories.len() as f64;
        let width = (band * 0.7).min(60.0);
        for (c, category) in self.categories.iter().enumerate() {
            let x = plot.x + band * (c as f64 + 0.5) - width / 2.0;
            let mut below = 0.0;
            for (s, series) in self.series.iter().enumerate() {
                let value = series.at(c);
                if value <= 0.0 {
                    continue;
                }
                let (y0, y1) = (plot.y_of(&scale, below), plot.y_of(&scale, below + value));
                below += value;
                let title = hover(
                    &format!("{} · {}", category.label, series.name),
                    &self.format.apply(value),
                );
                doc.mark(
                    "rect",
                    format_args!(
                        r#"x="{}" y="{}" width="{}" height="{}""#,
                        N(x),
                        N(y1),
                        N(width),
                        N(y0 - y1)
                    ),
                    &format!("chart-bar {}", colour(&series.class, s)),
                    &title,
                    &[&category.filters, &series.filters],
                );
            }
            let total = self.format.apply(totals[c]);
            if self.total_labels && text_width(&total) <= band {
                doc.text(
                    x + width / 2.0,
                    plot.y_of(&scale, totals[c]) - 4.0,
                    "chart-value",
                    "middle",
                    &total,
                );
            }
        }
        doc.finish()
    }

    fn table(&self) -> String {
        let mut heads = vec![self.category_label];
        heads.extend(self.series.iter().map(|s| s.name.as_ref()));
        let mut table = Table::new(self.text.title, &heads);
        for (c, category) in self.categories.iter().enumerate() {
            let cells: Vec<String> = self
                .series
                .iter()
                .map(|s| self.format.apply(s.at(c)))
                .collect();
            table.row(&category.label, &cells);
        }
        table.finish(self.text.empty)
    }
}
