//! The equipment history report (PRODUCT §3 `/resource-history`): hours per SEMI E10 state of
//! the tools a filter admits, over a range of shift days cut into days, weeks, months or
//! years — the KPIs (OU %, AVAIL %, hours, tools), a series per period, a figure per
//! workcenter group, a heatmap group × period and the rows group → family → tool.
//!
//! A query is first resolved ([`HistoryQuery::resolve`]) into fixed periods of shift days
//! (weeks and months are of shift days too: a period runs from its first shift day's start,
//! `SHIFT_DAY_START` the day before, to its last one's end); that is what a background job
//! keeps as its parameters. The hours come from the state spans read a chunk of periods at a
//! time ([`report::compute`]), so a long range reports progress and stops when cancelled.

mod filter;
mod report;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use filter::{RawFilter, ToolFilter};
pub use report::{E10, Summing, compute, compute_with};

use crate::hold_history::{FieldError, PlantClock};

/// The job kind of this report.
pub const KIND: &str = "resource-history";

/// The longest range one query may cover, in shift days.
pub const MAX_DAYS: i64 = 731;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Week,
    Month,
    Year,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "year" => Self::Year,
            _ => return None,
        })
    }

    /// The first shift day of the period holding `day`: weeks start on Monday (ISO weeks).
    fn period_start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
            Self::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day),
        }
    }

    /// The first shift day of the period after the one starting at `start`.
    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start + Days::new(1),
            Self::Week => start + Days::new(7),
            Self::Month => start + Months::new(1),
            Self::Year => start + Months::new(12),
        }
    }

    /// How a period is named: `2026-12-05`, `2026-W49`, `2026-12`, `2026`.
    fn label(self, start: NaiveDate) -> String {
        match self {
            Self::Day => start.format("%Y-%m-%d").to_string(),
            Self::Week => {
                let week = start.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Self::Month => start.format("%Y-%m").to_string(),
            Self::Year => start.format("%Y").to_string(),
        }
    }
}

/// One period of the report, clipped to the range: shift days `first..=last`, the instants
/// `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub label: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A query as given (strings, so each problem names its field).
#[derive(Debug, Clone, Default)]
pub struct RawQuery<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub granularity: Option<&'a str>,
    pub filter: RawFilter<'a>,
}

/// A resolved query: its periods are fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// First and last shift day.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub filter: ToolFilter,
    pub periods: Vec<Period>,
}

impl HistoryQuery {
    pub fn resolve(raw: &RawQuery<'_>, clock: &PlantClock) -> Result<Self, FieldError> {
        let from = date(raw.from, "from")?;
        let to = date(raw.to, "to")?;
        if to < from {
            return Err(FieldError::new(
                "to",
                format!("{to} is before from ({from})"),
            ));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(FieldError::new(
                "to",
                format!("the range covers {days} days; at most {MAX_DAYS}"),
            ));
        }
        let granularity = match raw.granularity {
            None => Granularity::Day,
            Some(text) => Granularity::parse(text).ok_or_else(|| {
                FieldError::new(
                    "granularity",
                    format!("{text:?} is not one of day, week, month, year"),
                )
            })?,
        };
        let filter = ToolFilter::resolve(&raw.filter)?;
        let periods = periods(from, to, granularity, clock);
        Ok(Self {
            from,
            to,
            granularity,
            filter,
            periods,
        })
    }

    /// Shift days the range covers.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.periods
            .first()
            .map_or(DateTime::UNIX_EPOCH, |p| p.start)
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.periods.last().map_or(DateTime::UNIX_EPOCH, |p| p.end)
    }
}

/// The periods of shift days `from..=to`, the first and last clipped to the range.
pub fn periods(
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
    clock: &PlantClock,
) -> Vec<Period> {
    let mut out = Vec::new();
    let mut first = from;
    while first <= to {
        let begins = granularity.period_start(first);
        let next = granularity.next(begins);
        let last = (next - Days::new(1)).min(to);
        out.push(Period {
            label: granularity.label(begins),
            first,
            last,
            start: clock.day_begins(first),
            end: clock.day_begins(last + Days::new(1)),
        });
        first = last + Days::new(1);
    }
    out
}

fn date(text: Option<&str>, field: &'static str) -> Result<NaiveDate, FieldError> {
    let text = text.ok_or_else(|| FieldError::new(field, "required (a date YYYY-MM-DD)"))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

#[cfg(test)]
mod tests;
