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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testkit::{El, check};

    fn bar(values: &[f64], orientation: Orientation, value_labels: bool) -> El {
        let items = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Item::new(format!("b{i}"), v))
            .collect();
        check(
            &Bar {
                items,
                orientation,
                value_labels,
                ..Default::default()
            }
            .svg(),
        )
    }

    /// The value axis line: its length is the full length of a bar.
    fn axis_length(svg: &El) -> f64 {
        let axis = svg.with_class("chart-axis")[0];
        (axis.num("x2") - axis.num("x1"))
            .abs()
            .max((axis.num("y2") - axis.num("y1")).abs())
    }

    #[test]
    fn horizontal_lengths_are_proportional_and_the_largest_spans_the_axis() {
        let values = [120.0, 480.0, 60.0, 0.0, 333.0];
        let svg = bar(&values, Orientation::Horizontal, false);
        let bars = svg.with_class("chart-bar");
        assert_eq!(bars.len(), 4, "no shape for the zero value");
        let full = axis_length(&svg);
        for (rect, value) in bars.iter().zip(values.iter().filter(|&&v| v > 0.0)) {
            assert!(
                (rect.num("width") - full * value / 480.0).abs() < 0.02,
                "{value}"
            );
        }
        assert!(svg.with_class("chart-value").is_empty());
    }

    #[test]
    fn vertical_heights_are_proportional_and_stand_on_the_axis() {
        let values = [3.0, 7.0, 1.0];
        let svg = bar(&values, Orientation::Vertical, true);
        let bars = svg.with_class("chart-bar");
        let axis = svg.with_class("chart-axis")[0];
        let (top, bottom) = (axis.num("y1"), axis.num("y2"));
        for (rect, value) in bars.iter().zip(values) {
            assert!((rect.num("height") - (bottom - top) * value / 7.0).abs() < 0.02);
            assert!((rect.num("y") + rect.num("height") - bottom).abs() < 0.02);
        }
        let labels: Vec<&str> = svg
            .with_class("chart-value")
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(labels, ["3", "7", "1"]);
    }

    #[test]
    fn ticks_are_nice_whole_numbers_for_counts() {
        let svg = bar(&[87.0, 12.0], Orientation::Vertical, false);
        let ticks: Vec<&str> = svg
            .with_class("chart-tick")
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(&ticks[..5], ["0", "20", "40", "60", "80"]);
        let few = bar(&[1.0, 3.0], Orientation::Horizontal, false);
        let ticks: Vec<&str> = few
            .with_class("chart-tick")
            .iter()
            .map(|t| t.text.as_str())
            .filter(|t| !t.starts_with('b'))
            .collect();
        assert_eq!(ticks, ["0", "1", "2", "3"], "never half a lot");
    }

    #[test]
    fn all_zero_and_huge_values_stay_inside_the_plot() {
        let zero = bar(&[0.0, 0.0], Orientation::Vertical, true);
        assert!(zero.with_class("chart-bar").is_empty());
        assert_eq!(zero.with_class("chart-value").len(), 2);
        let huge = bar(&[1e300, 5e299, f64::MAX], Orientation::Horizontal, true);
        let full = axis_length(&huge);
        let widths: Vec<f64> = huge
            .with_class("chart-bar")
            .iter()
            .map(|r| r.num("width"))
            .collect();
        assert!(
            (widths[0] - full).abs() < 0.02
                && (widths[1] - full / 2.0).abs() < 0.02
                && (widths[2] - full).abs() < 0.02,
            "{widths:?}"
        );
    }

    #[test]
    fn a_single_bar_spans_the_axis() {
        let svg = bar(&[5.0], Orientation::Vertical, false);
        let axis = svg.with_class("chart-axis")[0];
        assert!(
            (svg.with_class("chart-bar")[0].num("height") - (axis.num("y2") - axis.num("y1")))
                .abs()
                < 0.02
        );
    }
}
