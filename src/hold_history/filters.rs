//! The detail's own filters (PRODUCT §3: "a day, reason or bucket filters the detail"): they
//! narrow the table and its CSV, never the cards, the trend or the Pareto, which stay for the
//! whole query. They are given on each result read (`GET /api/jobs/{id}/result?day=&reason=
//! &duration_bucket=`), so a report answered at once and one run as a job page the same way.

use chrono::NaiveDate;
use serde::Serialize;

use super::{FieldError, HistoryQuery, PlantClock};
use crate::config::NonQualityReasons;
use crate::db::hold_events::{HeldFor, Reasons};

const HOUR_MS: i64 = 3_600_000;

/// A hold-duration bucket (PRODUCT §2: < 4 h, 4–24 h, 1–3 d, > 3 d; a duration on a
/// boundary goes up). Its name is the report's `buckets[].bucket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DurationBucket {
    #[serde(rename = "under_4h")]
    Under4h,
    #[serde(rename = "4h_to_24h")]
    Hours4To24,
    #[serde(rename = "1d_to_3d")]
    Days1To3,
    #[serde(rename = "over_3d")]
    Over3d,
}

impl DurationBucket {
    pub const ALL: [Self; 4] = [
        Self::Under4h,
        Self::Hours4To24,
        Self::Days1To3,
        Self::Over3d,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Under4h => "under_4h",
            Self::Hours4To24 => "4h_to_24h",
            Self::Days1To3 => "1d_to_3d",
            Self::Over3d => "over_3d",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Its bounds in milliseconds, lower included.
    pub fn held_for(self) -> HeldFor {
        let (at_least, under) = match self {
            Self::Under4h => (0, Some(4)),
            Self::Hours4To24 => (4, Some(24)),
            Self::Days1To3 => (24, Some(72)),
            Self::Over3d => (72, None),
        };
        HeldFor {
            at_least_ms: at_least * HOUR_MS,
            under_ms: under.map(|h| h * HOUR_MS),
        }
    }

    /// The bucket of a hold released after `ms`.
    pub fn of(ms: i64) -> Self {
        let hours = ms.div_euclid(HOUR_MS);
        if hours < 4 {
            Self::Under4h
        } else if hours < 24 {
            Self::Hours4To24
        } else if hours < 72 {
            Self::Days1To3
        } else {
            Self::Over3d
        }
    }
}

/// The detail filters as given (strings, so each problem names its field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDetailFilter {
    pub day: Option<String>,
    pub reason: Option<String>,
    pub duration_bucket: Option<String>,
}

impl RawDetailFilter {
    pub fn is_empty(&self) -> bool {
        self.day.is_none() && self.reason.is_none() && self.duration_bucket.is_none()
    }

    /// The first field given, to name in a refusal when a report has no such filters.
    pub fn first_field(&self) -> Option<&'static str> {
        [
            ("day", self.day.is_some()),
            ("reason", self.reason.is_some()),
            ("duration_bucket", self.duration_bucket.is_some()),
        ]
        .into_iter()
        .find_map(|(name, given)| given.then_some(name))
    }
}

/// Validated detail filters of one query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetailFilter {
    /// One shift day of the query's window: the detail over that day only.
    pub day: Option<NaiveDate>,
    /// One reason (`NO_REASON` for holds without one), within the query's type and reason.
    pub reason: Option<String>,
    /// Holds released in the (day's) window after a duration in this bucket.
    pub duration_bucket: Option<DurationBucket>,
}

impl DetailFilter {
    /// Checks `raw` against the query `q` (a day must be one of its shift days).
    pub fn parse(raw: &RawDetailFilter, q: &HistoryQuery) -> Result<Self, FieldError> {
        let day = match raw.day.as_deref() {
            None => None,
            Some(text) => {
                let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                    FieldError::new("day", format!("{text:?} is not a date (YYYY-MM-DD)"))
                })?;
                if day < q.from || day > q.to {
                    return Err(FieldError::new(
                        "day",
                        format!(
                            "{day} is not a shift day of the query ({} to {})",
                            q.from, q.to
                        ),
                    ));
                }
                Some(day)
            }
        };
        let reason = match raw.reason.as_deref() {
            None => None,
            Some(r) if super::valid_reason(r) => Some(r.to_string()),
            Some(_) => return Err(FieldError::new("reason", super::REASON_RULE)),
        };
        let duration_bucket = match raw.duration_bucket.as_deref() {
            None => None,
            Some(name) => Some(DurationBucket::parse(name).ok_or_else(|| {
                FieldError::new(
                    "duration_bucket",
                    format!("{name:?} is not one of under_4h, 4h_to_24h, 1d_to_3d, over_3d"),
                )
            })?),
        };
        Ok(Self {
            day,
            reason,
            duration_bucket,
        })
    }

    /// The window the detail lists: the day's (clipped to the query's), else the query's.
    pub fn window(
        &self,
        q: &HistoryQuery,
        clock: &PlantClock,
    ) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
        match self.day {
            None => (q.start, q.end),
            Some(day) => (
                clock.day_begins(day).max(q.start),
                clock.day_begins(day + chrono::Days::new(1)).min(q.end),
            ),
        }
    }

    /// The reasons the detail lists: the query's, narrowed to this filter's reason (none when
    /// that reason is outside the query's type or reason).
    pub fn reasons<'a>(
        &'a self,
        q: &'a HistoryQuery,
        configured: &'a NonQualityReasons,
        only: &'a [String],
    ) -> Reasons<'a> {
        let Some(reason) = &self.reason else {
            return q.reasons(configured, only);
        };
        let stored = (reason != crate::cache::aggregate::NO_REASON).then_some(reason.as_str());
        if !q.keeps(configured, stored) {
            return Reasons::Only(&[]);
        }
        match stored {
            Some(_) => Reasons::Only(std::slice::from_ref(reason)),
            None => Reasons::Missing,
        }
    }
}
