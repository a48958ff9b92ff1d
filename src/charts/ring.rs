//! Ring: one percentage as a gauge with the value in the centre (OU % of a workcenter group).

use std::f64::consts::TAU;

use super::Chart;
use super::donut::annulus;
use super::model::{ChartText, Format, Item, colour};
use super::svg::{Doc, Esc, N, hover};
use super::table::Table;

const SIZE: f64 = 120.0;
const HEIGHT: f64 = 142.0;
const C: f64 = 60.0;
const OUTER: f64 = 54.0;
const INNER: f64 = 42.0;

/// `item.value` is a percentage, clamped to 0–100; a non-finite value means "no data" (an OU %
/// over zero hours) and shows the caller's empty text in the centre instead of a number.
/// `item.label` is written under the ring. The whole ring (its track) is the hover and click
/// target, so a 0 % ring can still be clicked.
#[derive(Clone, Debug)]
pub struct Ring<'a> {
    pub text: ChartText<'a>,
    pub item: Item<'a>,
    /// Table column headings.
    pub category_label: &'a str,
    pub value_label: &'a str,
    /// Percent unless the caller has its own.
    pub format: Format<'a>,
}

impl Default for Ring<'_> {
    fn default() -> Self {
        Ring {
            text: ChartText::default(),
            item: Item::new("", 0.0),
            category_label: "",
            value_label: "",
            format: Format::Percent,
        }
    }
}

impl Ring<'_> {
    /// The value as drawn, `None` for no data.
    fn percent(&self) -> Option<f64> {
        let v = self.item.value;
        v.is_finite().then(|| v.clamp(0.0, 100.0))
    }

    /// What the centre, the tooltip and the table say.
    fn shown(&self) -> String {
        match self.percent() {
            Some(percent) => self.format.apply(percent),
            None => self.text.empty.to_owned(),
        }
    }
}

impl Chart for Ring<'_> {
    fn svg(&self) -> String {
        let value = self.shown();
        let mut doc = Doc::open(
            "ring",
            &self.text,
            SIZE,
            HEIGHT,
            !self.item.filters.is_empty(),
        );
        doc.mark(
            "circle",
            format_args!(
                r#"cx="{}" cy="{}" r="{}" fill="none" stroke-width="{}""#,
                N(C),
                N(C),
                N((OUTER + INNER) / 2.0),
                N(OUTER - INNER)
            ),
            "chart-track",
            &hover(&self.item.label, &value),
            &[&self.item.filters],
        );
        if let Some(percent) = self.percent().filter(|&p| p > 0.0) {
            let d = annulus(C, C, OUTER, INNER, 0.0, percent / 100.0 * TAU);
            doc.raw(format_args!(
                r#"<path d="{d}" fill-rule="evenodd" pointer-events="none" class="chart-ring-arc {}"/>"#,
                Esc(&colour(&self.item.class, 0))
            ));
        }
        match self.percent() {
            Some(_) => doc.text(C, C + 6.0, "chart-centre-value", "middle", &value),
            None => doc.label(C, C + 4.0, "chart-empty", "middle", &value, SIZE - 8.0),
        }
        doc.label(
            C,
            HEIGHT - 6.0,
            "chart-ring-label",
            "middle",
            &self.item.label,
            SIZE,
        );
        doc.finish()
    }

    fn table(&self) -> String {
        let mut table = Table::new(self.text.title, &[self.category_label, self.value_label]);
        table.row(&self.item.label, &[self.shown()]);
        table.finish(self.text.empty)
    }
}
