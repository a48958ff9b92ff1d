//! Trend: one or more lines over categories (days, shifts), optionally over grouped bars with
//! the lines on a second axis (hold history: new / released / future bars, on-hold line).

use std::fmt::Write;

use super::Chart;
use super::axis::{self, Plot, Side, WIDTH};
use super::legend::{self, Entry};
use super::model::{Category, ChartText, Format, Series, colour};
use super::scale::{Scale, all_whole};
use super::svg::{Doc, Esc, N, hover};
use super::table::Table;

const HEIGHT: f64 = 320.0;

/// Bars and lines share the categories; a point's or bar's filters are its category's and its
/// series' together.
#[derive(Clone, Debug, Default)]
pub struct Trend<'a> {
    pub text: ChartText<'a>,
    pub categories: Vec<Category<'a>>,
    /// Drawn side by side in each category, on the left axis.
    pub bars: Vec<Series<'a>>,
    pub lines: Vec<Series<'a>>,
    /// Lines on their own right-hand axis (when there are bars; without bars lines use the left).
    pub lines_on_right: bool,
    /// Axis titles; the category one also heads the table's first column.
    pub category_label: &'a str,
    pub value_label: &'a str,
    pub right_label: &'a str,
    pub format: Format<'a>,
    /// Format of the right axis and its lines.
    pub right_format: Format<'a>,
}

impl Trend<'_> {
    fn right(&self) -> bool {
        self.lines_on_right && !self.bars.is_empty() && !self.lines.is_empty()
    }

    /// A value axis for the given series over all categories.
    fn scale(&self, series: &[&Series]) -> Scale {
        let values: Vec<f64> = series
            .iter()
            .flat_map(|s| (0..self.categories.len()).map(|c| s.at(c)))
            .collect();
        Scale::new(
            values.iter().copied().fold(0.0, f64::max),
            5,
            all_whole(values.iter().copied()),
        )
    }
}

impl Chart for Trend<'_> {
    fn svg(&self) -> String {
        if self.categories.is_empty() || (self.bars.is_empty() && self.lines.is_empty()) {
            return Doc::empty("trend", &self.text, WIDTH, 120.0);
        }
        let right = self.right();
        let interactive = self.categories.iter().any(|c| !c.filters.is_empty())
            || self
                .bars
                .iter()
                .chain(&self.lines)
                .any(|s| !s.filters.is_empty());
        let mut doc = Doc::open("trend", &self.text, WIDTH, HEIGHT, interactive);
        let entries: Vec<Entry> = self
            .bars
            .iter()
            .chain(&self.lines)
            .enumerate()
            .map(|(i, s)| Entry {
                name: &s.name,
                class: colour(&s.class, i),
                line: i >= self.bars.len(),
            })
            .collect();
        let (left_scale, right_scale) = if right {
            let (bars, lines): (Vec<_>, Vec<_>) =
                (self.bars.iter().collect(), self.lines.iter().collect());
            (self.scale(&bars), self.scale(&lines))
        } else {
            let both = self.scale(&self.bars.iter().chain(&self.lines).collect::<Vec<_>>());
            (both.clone(), both)
        };
        let line_format = if right {
            &self.right_format
        } else {
            &self.format
        };
        let left = axis::margin(&left_scale, &self.format);
        let margin_right = if right {
            axis::margin(&right_scale, line_format)
        } else {
            16.0
        };
        let top = 8.0 + legend::height(&entries, WIDTH - left - margin_right) + 8.0;
        let plot = Plot {
            x: left,
            y: top,
            w: WIDTH - left - margin_right,
            h: HEIGHT - top - 44.0,
        };
        legend::draw(&mut doc, &entries, left, 8.0, plot.w);
        axis::value_axis_y(
            &mut doc,
            plot,
            &left_scale,
            &self.format,
            Side::Left,
            self.value_label,
        );
        if right {
            axis::value_axis_y(
                &mut doc,
                plot,
                &right_scale,
                line_format,
                Side::Right,
                self.right_label,
            );
        }
        let labels: Vec<&str> = self.categories.iter().map(|c| c.label.as_ref()).collect();
        axis::category_axis_x(&mut doc, plot, &labels, self.category_label);
        let band = plot.w / self.categories.len() as f64;
        let group = band * 0.8;
        let bar_width = group / self.bars.len().max(1) as f64;
        for (c, category) in self.categories.iter().enumerate() {
            for (s, series) in self.bars.iter().enumerate() {
                let value = series.at(c);
                if value <= 0.0 {
                    continue;
                }
                let x = plot.x + band * c as f64 + (band - group) / 2.0 + bar_width * s as f64;
                let y = plot.y_of(&left_scale, value);
                doc.mark(
                    "rect",
                    format_args!(
                        r#"x="{}" y="{}" width="{}" height="{}""#,
                        N(x),
                        N(y),
                        N(bar_width),
                        N(plot.bottom() - y)
                    ),
                    &format!("chart-bar {}", colour(&series.class, s)),
                    &hover(
                        &format!("{} · {}", category.label, series.name),
                        &self.format.apply(value),
                    ),
                    &[&category.filters, &series.filters],
                );
            }
        }
        for (s, series) in self.lines.iter().enumerate() {
            let class = colour(&series.class, self.bars.len() + s);
            let point = |c: usize| {
                (
                    plot.x + band * (c as f64 + 0.5),
                    plot.y_of(&right_scale, series.at(c)),
                )
            };
            let mut d = String::new();
            for c in 0..self.categories.len() {
                let (x, y) = point(c);
                let _ = write!(d, "{}{} {}", if c == 0 { 'M' } else { 'L' }, N(x), N(y));
            }
            doc.raw(format_args!(
                r#"<path d="{d}" fill="none" class="chart-series-line {}"/>"#,
                Esc(&class)
            ));
            for (c, category) in self.categories.iter().enumerate() {
                let (x, y) = point(c);
                doc.mark(
                    "circle",
                    format_args!(r#"cx="{}" cy="{}" r="3""#, N(x), N(y)),
                    &format!("chart-point {class}"),
                    &hover(
                        &format!("{} · {}", category.label, series.name),
                        &line_format.apply(series.at(c)),
                    ),
                    &[&category.filters, &series.filters],
                );
            }
        }
        doc.finish()
    }

    fn table(&self) -> String {
        let mut heads = vec![self.category_label];
        heads.extend(self.bars.iter().chain(&self.lines).map(|s| s.name.as_ref()));
        let mut table = Table::new(self.text.title, &heads);
        let line_format = if self.right() {
            &self.right_format
        } else {
            &self.format
        };
        for (c, category) in self.categories.iter().enumerate() {
            let mut cells: Vec<String> = self
                .bars
                .iter()
                .map(|s| self.format.apply(s.at(c)))
                .collect();
            cells.extend(self.lines.iter().map(|s| line_format.apply(s.at(c))));
            table.row(&category.label, &cells);
        }
        table.finish(self.text.empty)
    }
}
