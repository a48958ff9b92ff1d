//! The plain data every chart takes: items, series, categories, the caller's texts and the
//! value format. Nothing here knows about SVG.

use std::borrow::Cow;

/// The caller's texts for one chart. The module has no user-visible language of its own:
/// titles, descriptions and the empty-state text arrive here already localized.
#[derive(Clone, Debug, Default)]
pub struct ChartText<'a> {
    /// Unique within the page: prefixes the ids `aria-labelledby` points at (and the heatmap's
    /// gradient). Characters outside `[A-Za-z0-9_-]` become `-`.
    pub id: &'a str,
    /// Read by screen readers and shown as the chart's tooltip; the visible heading is the
    /// page's business.
    pub title: &'a str,
    /// A longer description for screen readers; empty for none.
    pub desc: &'a str,
    /// Shown in place of the chart when there is nothing to draw.
    pub empty: &'a str,
}

/// `data-filter-<name>="value"` pairs a page script reads when the shape is clicked.
pub type Filters<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// One labelled value: a donut segment, a bar, a Pareto cause, a ring.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub label: Cow<'a, str>,
    pub value: f64,
    /// A colour class (`c-run`, `c-prd`, …); `None` takes the categorical palette by position.
    pub class: Option<Cow<'a, str>>,
    /// Empty: the shape is not clickable.
    pub filters: Filters<'a>,
}

impl<'a> Item<'a> {
    pub fn new(label: impl Into<Cow<'a, str>>, value: f64) -> Self {
        Item {
            label: label.into(),
            value,
            class: None,
            filters: Vec::new(),
        }
    }

    pub fn class(mut self, class: impl Into<Cow<'a, str>>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// Adds one filter pair; call again for a second (a matrix cell filters on two fields).
    pub fn filter(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.filters.push((name.into(), value.into()));
        self
    }
}

/// A position on a category axis (a day, a workcenter, a package) with its own filters, which a
/// stacked segment or a trend point combines with its series' filters.
#[derive(Clone, Debug)]
pub struct Category<'a> {
    pub label: Cow<'a, str>,
    pub filters: Filters<'a>,
}

impl<'a> Category<'a> {
    pub fn new(label: impl Into<Cow<'a, str>>) -> Self {
        Category {
            label: label.into(),
            filters: Vec::new(),
        }
    }

    pub fn filter(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.filters.push((name.into(), value.into()));
        self
    }
}

/// One named row of values across the categories. A missing value (the vector is shorter than
/// the categories) counts as 0; extra values are ignored.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    pub name: Cow<'a, str>,
    pub values: Vec<f64>,
    pub class: Option<Cow<'a, str>>,
    pub filters: Filters<'a>,
}

impl<'a> Series<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, values: Vec<f64>) -> Self {
        Series {
            name: name.into(),
            values,
            class: None,
            filters: Vec::new(),
        }
    }

    pub fn class(mut self, class: impl Into<Cow<'a, str>>) -> Self {
        self.class = Some(class.into());
        self
    }

    pub fn filter(mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        self.filters.push((name.into(), value.into()));
        self
    }

    /// The value at a category, cleaned like every drawn quantity.
    pub(crate) fn at(&self, index: usize) -> f64 {
        quantity(self.values.get(index).copied().unwrap_or(0.0))
    }
}

/// How values read in tooltips, labels, ticks and the table.
#[derive(Clone, Copy, Default)]
pub enum Format<'a> {
    /// Thousands separators; one decimal unless the value is whole (`1,234`, `12.5`).
    #[default]
    Number,
    /// A percentage given as 0–100, one decimal (`87.5%`).
    Percent,
    /// The caller's own (units, locale).
    Custom(&'a dyn Fn(f64) -> String),
}

impl Format<'_> {
    pub fn apply(&self, value: f64) -> String {
        match self {
            Format::Number => super::format::number(value),
            Format::Percent => super::format::percent(value),
            Format::Custom(f) => f(if value.is_finite() { value } else { 0.0 }),
        }
    }
}

impl std::fmt::Debug for Format<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Number => "Number",
            Format::Percent => "Percent",
            Format::Custom(_) => "Custom",
        })
    }
}

/// Every drawn quantity is a count, a number of hours or a share: a negative or non-finite
/// value is clamped to 0 (drawn and shown as 0) rather than rejected, so one bad row from the
/// warehouse cannot take a whole page down. Only the heatmap accepts negative values.
/// Absurdly large values are capped at [`MAX_QUANTITY`] so that sums and totals stay finite.
pub(crate) fn quantity(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value.min(MAX_QUANTITY)
    } else {
        0.0
    }
}

/// Far beyond any plant's numbers, and a million of them still add up to a finite total.
pub const MAX_QUANTITY: f64 = 1e300;

/// The colour class of the item at `index`: its own, else the categorical palette.
pub(crate) fn colour<'s>(class: &'s Option<Cow<'_, str>>, index: usize) -> Cow<'s, str> {
    match class {
        Some(class) => Cow::Borrowed(class.as_ref()),
        None => Cow::Owned(format!("c-cat-{}", index % 10)),
    }
}
