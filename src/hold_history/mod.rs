//! The hold history report (PRODUCT §3 `/hold-history`): what was held and released over a
//! range of shift days, today or in the current shift — cards, the daily trend, the reason
//! Pareto, hold-duration buckets — and the events behind them, page by page.
//!
//! A query is first resolved ([`HistoryQuery::resolve`]) into a fixed window of shift days;
//! that is what a background job keeps as its parameters, so its pages are read over the same
//! window later. The aggregates come from SQL ([`crate::db::hold_history`]) a chunk of days at
//! a time, so a long range reports progress and stops between chunks when cancelled.

pub mod clock;
mod filters;
mod report;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use clock::{PlantClock, Shift};
pub use filters::{DetailFilter, DurationBucket, RawDetailFilter};
pub use report::{DetailRequest, compute, detail_page};

use crate::config::{HoldType, NonQualityReasons};
use crate::db::hold_events::{Reasons, Record, SortBy};

/// The job kind of this report.
pub const KIND: &str = "hold-history";

/// The longest range one query may cover, in shift days.
pub const MAX_DAYS: i64 = 730;

/// Most days one SQL statement aggregates (a job's progress moves chunk by chunk; a quarter
/// keeps the statements few: 4 for a year, 8 for the longest range).
const CHUNK_DAYS: usize = 92;

/// A bad field of the query: the route answers 400 naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Shift days `from` to `to`.
    Range,
    /// The current shift day, up to now.
    Today,
    /// The current (day or night) shift, up to now.
    Shift,
}

/// Which holds the figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TypeFilter {
    All,
    Quality,
    NonQuality,
}

/// Which events the detail lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    /// Held in the window.
    New,
    /// Released in the window.
    Released,
    /// Still on hold at the window's end.
    OnHold,
    /// Any event touching the window.
    All,
}

impl RecordType {
    fn record(self) -> Record {
        match self {
            Self::New => Record::New,
            Self::Released => Record::Released,
            Self::OnHold => Record::OnHold,
            Self::All => Record::Any,
        }
    }
}

/// A query as given (strings, so each problem names its field).
#[derive(Debug, Clone, Default)]
pub struct RawQuery<'a> {
    pub mode: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub hold_type: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub record_type: Option<&'a str>,
}

/// A resolved query: the window is fixed, whatever the clock says later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub mode: Mode,
    /// First and last shift day.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The window `[start, end)`.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// For the shift mode, which shift.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shift: Option<Shift>,
    pub hold_type: TypeFilter,
    pub reason: Option<String>,
    pub record_type: RecordType,
}

/// One shift day of a window (the first and last may be partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl HistoryQuery {
    /// Validates a query and fixes its window at `now`.
    pub fn resolve(
        raw: &RawQuery<'_>,
        clock: &PlantClock,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let hold_type = match raw.hold_type.unwrap_or("all") {
            "all" => TypeFilter::All,
            "quality" => TypeFilter::Quality,
            "non-quality" => TypeFilter::NonQuality,
            other => {
                return Err(FieldError::new(
                    "hold_type",
                    format!("{other:?} is not one of quality, non-quality, all"),
                ));
            }
        };
        let record_type = match raw.record_type.unwrap_or("all") {
            "all" => RecordType::All,
            "new" => RecordType::New,
            "released" => RecordType::Released,
            "on_hold" => RecordType::OnHold,
            other => {
                return Err(FieldError::new(
                    "record_type",
                    format!("{other:?} is not one of new, released, on_hold, all"),
                ));
            }
        };
        let reason = match raw.reason {
            None => None,
            Some(r) if valid_reason(r) => Some(r.to_string()),
            Some(_) => return Err(FieldError::new("reason", REASON_RULE)),
        };
        let mode = match raw.mode {
            None | Some("range") => Mode::Range,
            Some("today") => Mode::Today,
            Some("shift") => Mode::Shift,
            Some(other) => {
                return Err(FieldError::new(
                    "mode",
                    format!("{other:?} is not one of range, today, shift"),
                ));
            }
        };
        let (from, to, start, end, shift) = match mode {
            Mode::Range => {
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
                let end = clock.day_begins(to + chrono::Days::new(1));
                (from, to, clock.day_begins(from), end, None)
            }
            Mode::Today | Mode::Shift => {
                if raw.from.is_some() || raw.to.is_some() {
                    return Err(FieldError::new(
                        "mode",
                        "give either mode (today, shift) or from and to, not both",
                    ));
                }
                let day = clock.shift_day(now);
                if mode == Mode::Today {
                    (day, day, clock.day_begins(day), now, None)
                } else {
                    let (shift, begins) = clock.shift_of(now);
                    (day, day, begins, now, Some(shift))
                }
            }
        };
        Ok(Self {
            mode,
            from,
            to,
            start,
            end,
            shift,
            hold_type,
            reason,
            record_type,
        })
    }

    /// Shift days the window covers (1 for today and shift).
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The window's days, each clipped to the window.
    pub fn day_list(&self, clock: &PlantClock) -> Vec<Day> {
        let mut days = Vec::with_capacity(self.days() as usize);
        let mut date = self.from;
        while date <= self.to {
            let next = date + chrono::Days::new(1);
            days.push(Day {
                date,
                start: clock.day_begins(date).max(self.start),
                end: clock.day_begins(next).min(self.end),
            });
            date = next;
        }
        days
    }

    /// Whether a hold with `reason` counts under the query's type and reason filters.
    pub fn keeps(&self, reasons: &NonQualityReasons, reason: Option<&str>) -> bool {
        if let Some(only) = &self.reason
            && reason != Some(only.as_str())
        {
            return false;
        }
        match self.hold_type {
            TypeFilter::All => true,
            TypeFilter::Quality => reasons.hold_type(reason) == HoldType::Quality,
            TypeFilter::NonQuality => reasons.hold_type(reason) == HoldType::NonQuality,
        }
    }

    /// The same filters as SQL reasons (for the detail and the repeated holds).
    pub fn reasons<'a>(
        &'a self,
        configured: &'a NonQualityReasons,
        only: &'a [String],
    ) -> Reasons<'a> {
        if !only.is_empty() {
            return Reasons::Only(only);
        }
        if self.reason.is_some() {
            // The reason is of the other type: nothing matches.
            return Reasons::Only(&[]);
        }
        match self.hold_type {
            TypeFilter::All => Reasons::All,
            TypeFilter::Quality => Reasons::Except(configured.names()),
            TypeFilter::NonQuality => Reasons::Only(configured.names()),
        }
    }

    /// The reason filter as a one-element list when it agrees with the type filter.
    pub fn reason_list(&self, configured: &NonQualityReasons) -> Vec<String> {
        match &self.reason {
            Some(r) if self.keeps(configured, Some(r)) => vec![r.clone()],
            _ => Vec::new(),
        }
    }
}

const REASON_RULE: &str = "1 to 100 characters without control characters, as the reason is stored";

fn valid_reason(r: &str) -> bool {
    !r.is_empty() && r.chars().count() <= 100 && !r.chars().any(char::is_control)
}

fn date(text: Option<&str>, field: &'static str) -> Result<NaiveDate, FieldError> {
    let text = text.ok_or_else(|| {
        FieldError::new(
            field,
            "required (a date YYYY-MM-DD), or mode: today or shift",
        )
    })?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

/// How the detail may be sorted: the API's names.
pub fn sort_by(name: &str) -> Option<SortBy> {
    Some(match name {
        "hold_at" => SortBy::HoldAt,
        "release_at" => SortBy::ReleaseAt,
        "duration" => SortBy::Duration,
        "lot_id" => SortBy::LotId,
        "reason" => SortBy::Reason,
        "workcenter" => SortBy::Workcenter,
        "quantity" => SortBy::Quantity,
        _ => return None,
    })
}

/// Runs of days for one SQL statement each: consecutive whole days of 24 h, at most
/// [`CHUNK_DAYS`]; a day of another length (a daylight-saving change, a partial first or
/// last day) goes alone. Each run is `(index of its first day, its days)`.
pub fn chunks(days: &[Day]) -> Vec<(usize, &[Day])> {
    let whole = |d: &Day| (d.end - d.start) == chrono::Duration::days(1);
    let mut out = Vec::new();
    let mut first = 0;
    while first < days.len() {
        let mut last = first + 1;
        if whole(&days[first]) {
            while last < days.len() && last - first < CHUNK_DAYS && whole(&days[last]) {
                last += 1;
            }
        }
        out.push((first, &days[first..last]));
        first = last;
    }
    out
}

#[cfg(test)]
mod tests;
