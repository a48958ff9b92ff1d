//! Heatmap: a value per row × column (lots per workcenter × package) coloured on a sequential
//! scale, optionally with the value written in each cell.

use super::Chart;
use super::axis::{LABEL_MAX, WIDTH};
use super::model::{Category, ChartText, Format};
use super::svg::{Doc, N, hover, text_width};
use super::table::Table;

const CELL_H: f64 = 24.0;
const TOP: f64 = 26.0;
const LEGEND_W: f64 = 160.0;

/// `values[row][column]`; a non-finite value (or a missing one) is "no data": a blank cell with
/// no label and no filters. Unlike the other charts, negative values are meaningful here (the
/// scale runs from the smallest value). A cell's filters are its row's and its column's.
#[derive(Clone, Debug, Default)]
pub struct Heatmap<'a> {
    pub text: ChartText<'a>,
    pub rows: Vec<Category<'a>>,
    pub columns: Vec<Category<'a>>,
    pub values: Vec<Vec<f64>>,
    /// The colour scale's ends (e.g. 0–100 for a percentage); `None` takes the data's extremes.
    /// Values outside are drawn in the end colours.
    pub range: Option<(f64, f64)>,
    pub cell_labels: bool,
    /// Heads the table's first column (the rows); the columns are named by their labels.
    pub row_label: &'a str,
    pub format: Format<'a>,
}

/// The sequential scale, light to dark, every channel non-increasing so darkness grows with
/// the value (readable in grey print too).
const STOPS: [(f64, [u8; 3]); 5] = [
    (0.0, [241, 246, 251]),
    (0.25, [198, 219, 239]),
    (0.5, [107, 174, 214]),
    (0.75, [47, 127, 192]),
    (1.0, [8, 48, 107]),
];

/// The colour at `t` in 0..=1 as `#rrggbb`.
pub(crate) fn colour_at(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let upper = STOPS
        .iter()
        .position(|s| s.0 >= t)
        .unwrap_or(STOPS.len() - 1)
        .max(1);
    let ((t0, c0), (t1, c1)) = (STOPS[upper - 1], STOPS[upper]);
    let f = (t - t0) / (t1 - t0);
    let channel = |i: usize| (c0[i] as f64 + (c1[i] as f64 - c0[i] as f64) * f).round() as u8;
    format!("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2))
}

impl Heatmap<'_> {
    fn value(&self, row: usize, column: usize) -> Option<f64> {
        self.values
            .get(row)?
            .get(column)
            .copied()
            .filter(|v| v.is_finite())
    }

    /// The scale's ends: the caller's range, else the smallest and largest value.
    fn extremes(&self) -> (f64, f64) {
        if let Some((lo, hi)) = self
            .range
            .filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi)
        {
            return (lo, hi);
        }
        let all = (0..self.rows.len())
            .flat_map(|r| (0..self.columns.len()).filter_map(move |c| self.value(r, c)));
        all.fold(None, |acc: Option<(f64, f64)>, v| {
            Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        })
        .unwrap_or((0.0, 0.0))
    }
}

/// Where `value` falls between the ends; all cells take the lightest colour when the ends meet.
fn position(value: f64, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl Chart for Heatmap<'_> {
    fn svg(&self) -> String {
        if self.rows.is_empty() || self.columns.is_empty() {
            return Doc::empty("heatmap", &self.text, WIDTH, 120.0);
        }
        let interactive = self
            .rows
            .iter()
            .chain(&self.columns)
            .any(|c| !c.filters.is_empty());
        let height = TOP + self.rows.len() as f64 * CELL_H + 36.0;
        let mut doc = Doc::open("heatmap", &self.text, WIDTH, height, interactive);
        let left = self
            .rows
            .iter()
            .map(|r| text_width(&r.label))
            .fold(0.0, f64::max)
            .min(LABEL_MAX)
            + 10.0;
        let cell_w = (WIDTH - left - 8.0) / self.columns.len() as f64;
        let ends = self.extremes();
        let every = ((self
            .columns
            .iter()
            .map(|c| text_width(&c.label))
            .fold(0.0, f64::max)
            .min(LABEL_MAX)
            + 6.0)
            / cell_w)
            .ceil()
            .max(1.0) as usize;
        for (c, column) in self.columns.iter().enumerate().step_by(every) {
            let x = left + cell_w * (c as f64 + 0.5);
            doc.label(
                x,
                TOP - 8.0,
                "chart-tick",
                "middle",
                &column.label,
                (cell_w * every as f64 - 4.0).min(LABEL_MAX),
            );
        }
        for (r, row) in self.rows.iter().enumerate() {
            let y = TOP + r as f64 * CELL_H;
            doc.label(
                left - 6.0,
                y + CELL_H / 2.0 + 4.0,
                "chart-tick",
                "end",
                &row.label,
                LABEL_MAX,
            );
            for (c, column) in self.columns.iter().enumerate() {
                let x = left + c as f64 * cell_w;
                let place = format!(
                    r#"x="{}" y="{}" width="{}" height="{}""#,
                    N(x),
                    N(y),
                    N(cell_w),
                    N(CELL_H)
                );
                let name = format!("{} · {}", row.label, column.label);
                let Some(value) = self.value(r, c) else {
                    doc.mark(
                        "rect",
                        format_args!("{place}"),
                        "chart-cell chart-cell-missing",
                        &name,
                        &[],
                    );
                    continue;
                };
                let t = position(value, ends);
                let text = self.format.apply(value);
                let geometry = format!(r#"{place} fill="{}""#, colour_at(t));
                doc.mark(
                    "rect",
                    format_args!("{geometry}"),
                    "chart-cell",
                    &hover(&name, &text),
                    &[&row.filters, &column.filters],
                );
                if self.cell_labels && text_width(&text) <= cell_w - 2.0 {
                    let class = if t > 0.55 {
                        "chart-cell-label chart-on-dark"
                    } else {
                        "chart-cell-label"
                    };
                    doc.text(
                        x + cell_w / 2.0,
                        y + CELL_H / 2.0 + 4.0,
                        class,
                        "middle",
                        &text,
                    );
                }
            }
        }
        let gradient = format!("{}-scale", doc.id());
        let y = TOP + self.rows.len() as f64 * CELL_H + 12.0;
        doc.raw(format_args!(
            r#"<defs><linearGradient id="{gradient}" x1="0" x2="1" y1="0" y2="0">"#
        ));
        for (offset, _) in STOPS {
            doc.raw(format_args!(
                r#"<stop offset="{}" stop-color="{}"/>"#,
                N(offset),
                colour_at(offset)
            ));
        }
        doc.raw(format_args!("</linearGradient></defs>"));
        let x = WIDTH - 8.0 - LEGEND_W;
        doc.raw(format_args!(
            r##"<rect x="{}" y="{}" width="{}" height="10" fill="url(#{gradient})" class="chart-scale"/>"##,
            N(x),
            N(y),
            N(LEGEND_W)
        ));
        doc.text(
            x,
            y + 22.0,
            "chart-tick chart-scale-min",
            "start",
            &self.format.apply(ends.0),
        );
        doc.text(
            x + LEGEND_W,
            y + 22.0,
            "chart-tick chart-scale-max",
            "end",
            &self.format.apply(ends.1),
        );
        doc.finish()
    }

    fn table(&self) -> String {
        let mut heads = vec![self.row_label];
        heads.extend(self.columns.iter().map(|c| c.label.as_ref()));
        let mut table = Table::new(self.text.title, &heads);
        for (r, row) in self.rows.iter().enumerate() {
            let cells: Vec<String> = (0..self.columns.len())
                .map(|c| {
                    self.value(r, c)
                        .map(|v| self.format.apply(v))
                        .unwrap_or_default()
                })
                .collect();
            table.row(&row.label, &cells);
        }
        table.finish(self.text.empty)
    }
}
