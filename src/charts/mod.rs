//! Charts drawn on the server as SVG markup: donut, bar, Pareto, stacked bar, trend (lines,
//! optionally over bars on a second axis), heatmap and ring.
//!
//! Why on the server rather than with a charting script in the browser:
//! - **No outside file.** The plant network reaches no internet and every asset is served by
//!   the binary (PRODUCT §1); a hand-sized module beats vendoring a 200 kB library.
//! - **Strict CSP.** Nothing is executed to draw a chart, and the markup carries no `style`
//!   attribute and no inline handler: colours are CSS classes (`static/css/charts.css`) and
//!   SVG presentation attributes, so `style-src 'self'` holds. Clickable shapes carry
//!   `data-filter-*` attributes a page script (from our origin) attaches behaviour to.
//! - **Print and wall screens.** The SVG is in the page when it arrives: it prints, scales to
//!   any width (fixed `viewBox`, `width="100%"`) and shows before any script runs.
//! - **Screen readers.** Each chart has a `<title>`/`<desc>` named by `aria-labelledby`, a
//!   hover `<title>` on every shape, and [`Chart::table`] renders the same data as a table.
//! - **Testable.** Values → shapes is a pure function, unit-tested here without a browser.
//!
//! Input is plain data ([`Item`], [`Series`], [`Category`]); every text the user reads (titles,
//! axis titles, legend names, the empty-state text) is passed in already localized, and every
//! label is XML-escaped on the way out.
//!
//! Bad numbers are clamped, not rejected, so one odd row from the warehouse cannot take a page
//! down: a negative or non-finite quantity is drawn and shown as 0, one above
//! [`MAX_QUANTITY`] as that maximum (sums stay finite); a ring's percentage is clamped to
//! 0–100 and a non-finite one shows the empty text; the heatmap alone takes negative values
//! and treats a non-finite one as "no data". Nothing non-finite reaches the markup.

mod axis;
mod bar;
mod donut;
mod format;
mod heatmap;
mod legend;
mod model;
mod pareto;
mod ring;
mod scale;
mod stacked;
mod svg;
mod table;
mod trend;

#[cfg(test)]
mod tests;

pub use bar::{Bar, Orientation};
pub use donut::Donut;
pub use format::{number, percent};
pub use heatmap::Heatmap;
pub use model::{Category, ChartText, Filters, Format, Item, MAX_QUANTITY, Series};
pub use pareto::Pareto;
pub use ring::Ring;
pub use stacked::Stacked;
pub use trend::Trend;

/// What every chart renders: the picture, and the same data as a table for screen readers.
pub trait Chart {
    /// `<svg>` markup, safe to place in an HTML page as is.
    fn svg(&self) -> String;
    /// `<table class="chart-table visually-hidden">` markup with the chart's data.
    fn table(&self) -> String;
}
