//! Bar: one value per category, horizontal (long labels such as workcenters) or vertical.

use super::Chart;
use super::axis::{self, LABEL_MAX, Plot, Side, WIDTH};
use super::model::{ChartText, Format, Item, colour, quantity};
use super::scale::{Scale, all_whole};
use super::svg::{Doc, N, hover, text_width};
use super::table::Table;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Orientation {
    /// Bars grow rightwards, one row per category (labels read in full width).
    #[default]
    Horizontal,
    /// Columns grow upwards along a category axis.
    Vertical,
}

/// Bars in the order given; the largest spans the full length of the value axis.
#[derive(Clone, Debug, Default)]
pub struct Bar<'a> {
    pub text: ChartText<'a>,
    pub items: Vec<Item<'a>>,
    pub orientation: Orientation,
    /// Write each value at the end of its bar.
    pub value_labels: bool,
    /// Axis titles, also the table's column headings.
    pub category_label: &'a str,
    pub value_label: &'a str,
    pub format: Format<'a>,
}

const BAND: f64 = 24.0;
const VERTICAL_HEIGHT: f64 = 300.0;

impl Bar<'_> {
    fn values(&self) -> Vec<f64> {
        self.items.iter().map(|i| quantity(i.value)).collect()
    }

    fn scale(&self, values: &[f64], ticks: usize) -> Scale {
        let max = values.iter().copied().fold(0.0, f64::max);
        Scale::new(max, ticks, all_whole(values.iter().copied()))
    }

    fn horizontal(&self, values: &[f64]) -> String {
        let height = 8.0 + self.items.len() as f64 * BAND + 44.0;
        let interactive = self.items.iter().any(|i| !i.filters.is_empty());
        let mut doc = Doc::open("bar", &self.text, WIDTH, height, interactive);
        let scale = self.scale(values, 6);
        let left = self
            .items
            .iter()
            .map(|i| text_width(&i.label))
            .fold(0.0, f64::max)
            .min(LABEL_MAX)
            + 10.0;
        let right = if self.value_labels {
            values
                .iter()
                .map(|&v| text_width(&self.format.apply(v)))
                .fold(0.0, f64::max)
                .min(axis::TEXT_MAX)
                + 10.0
        } else {
            16.0
        };
        let plot = Plot {
            x: left,
            y: 8.0,
            w: WIDTH - left - right,
            h: self.items.len() as f64 * BAND,
        };
        axis::value_axis_x(&mut doc, plot, &scale, &self.format, self.value_label);
        for (index, (item, &value)) in self.items.iter().zip(values).enumerate() {
            let y = plot.y + index as f64 * BAND;
            let length = plot.w * scale.frac(value);
            doc.label(
                plot.x - 6.0,
                y + BAND / 2.0 + 4.0,
                "chart-tick",
                "end",
                &item.label,
                LABEL_MAX,
            );
            let text = self.format.apply(value);
            if length > 0.0 {
                doc.mark(
                    "rect",
                    format_args!(
                        r#"x="{}" y="{}" width="{}" height="{}""#,
                        N(plot.x),
                        N(y + BAND * 0.15),
                        N(length),
                        N(BAND * 0.7)
                    ),
                    &format!("chart-bar {}", colour(&item.class, index)),
                    &hover(&item.label, &text),
                    &[&item.filters],
                );
            }
            if self.value_labels {
                doc.text(
                    plot.x + length + 4.0,
                    y + BAND / 2.0 + 4.0,
                    "chart-value",
                    "start",
                    &text,
                );
            }
        }
        doc.finish()
    }

    fn vertical(&self, values: &[f64]) -> String {
        let interactive = self.items.iter().any(|i| !i.filters.is_empty());
        let mut doc = Doc::open("bar", &self.text, WIDTH, VERTICAL_HEIGHT, interactive);
        let scale = self.scale(values, 5);
        let left = axis::margin(&scale, &self.format);
        let top = if self.value_labels { 24.0 } else { 12.0 };
        let plot = Plot {
            x: left,
            y: top,
            w: WIDTH - left - 16.0,
            h: VERTICAL_HEIGHT - top - 44.0,
        };
        axis::value_axis_y(
            &mut doc,
            plot,
            &scale,
            &self.format,
            Side::Left,
            self.value_label,
        );
        let labels: Vec<&str> = self.items.iter().map(|i| i.label.as_ref()).collect();
        axis::category_axis_x(&mut doc, plot, &labels, self.category_label);
        let band = plot.w / self.items.len() as f64;
        let width = (band * 0.7).min(60.0);
        for (index, (item, &value)) in self.items.iter().zip(values).enumerate() {
            let centre = plot.x + band * (index as f64 + 0.5);
            let top = plot.y_of(&scale, value);
            let text = self.format.apply(value);
            if value > 0.0 {
                doc.mark(
                    "rect",
                    format_args!(
                        r#"x="{}" y="{}" width="{}" height="{}""#,
                        N(centre - width / 2.0),
                        N(top),
                        N(width),
                        N(plot.bottom() - top)
                    ),
                    &format!("chart-bar {}", colour(&item.class, index)),
                    &hover(&item.label, &text),
                    &[&item.filters],
                );
            }
            if self.value_labels && text_width(&text) <= band {
                doc.text(centre, top - 4.0, "chart-value", "middle", &text);
            }
        }
        doc.finish()
    }
}

impl Chart for Bar<'_> {
    fn svg(&self) -> String {
        if self.items.is_empty() {
            return Doc::empty("bar", &self.text, WIDTH, 120.0);
        }
        let values = self.values();
        match self.orientation {
            Orientation::Horizontal => self.horizontal(&values),
            Orientation::Vertical => self.vertical(&values),
        }
    }

    fn table(&self) -> String {
        let mut table = Table::new(self.text.title, &[self.category_label, self.value_label]);
        for item in &self.items {
            table.row(&item.label, &[self.format.apply(quantity(item.value))]);
        }
        table.finish(self.text.empty)
    }
}
