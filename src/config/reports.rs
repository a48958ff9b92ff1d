//! Settings of long reports (PRODUCT §2, §4): when a query becomes a background job, how long
//! its result is kept, how many may wait, and the plant's clock (time zone and the start of
//! its shift day).

use chrono::NaiveTime;

use super::env::Reader;

#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// `ASYNC_QUERY_DAYS`: a history query covering at least this many days answers 202 and
    /// runs as a background job; shorter ones answer at once.
    pub async_query_days: u32,
    /// `JOB_RESULT_TTL`: how long a finished job's result is kept (then 410 `JOB_EXPIRED`).
    pub job_result_ttl: std::time::Duration,
    /// `JOB_QUEUE_MAX`: jobs one instance holds waiting for a turn (running ones aside);
    /// past it a new job is refused with 429 and `Retry-After`.
    pub job_queue_max: u32,
    /// `SHIFT_DAY_START`: local time a shift day starts (an event at or after it belongs to
    /// the next shift day); the day shift runs 12 h from it, the night shift the other 12 h.
    pub shift_day_start: NaiveTime,
}

pub(super) fn read(r: &mut Reader<'_>) -> ReportSettings {
    let async_query_days = r.int("ASYNC_QUERY_DAYS", 90, 1, 10_000) as u32;
    let job_result_ttl = r.seconds("JOB_RESULT_TTL", 1_800, 1, 7 * 86_400);
    let job_queue_max = r.int("JOB_QUEUE_MAX", 20, 0, 10_000) as u32;
    let default_start = NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default();
    let shift_day_start = match r.optional("SHIFT_DAY_START") {
        None => default_start,
        Some(text) => match NaiveTime::parse_from_str(&text, "%H:%M") {
            Ok(t) => t,
            Err(_) => {
                r.diag.error(
                    "SHIFT_DAY_START",
                    format!("{text:?} is not a time of day: write HH:MM, for example 07:30"),
                );
                default_start
            }
        },
    };
    ReportSettings {
        async_query_days,
        job_result_ttl,
        job_queue_max,
        shift_day_start,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{EnvSource, Settings};

    #[test]
    fn defaults_are_the_plant_s_and_bad_values_name_their_variable() {
        let (s, diag) = Settings::from_source(&EnvSource::default());
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(s.reports.async_query_days, 90);
        assert_eq!(s.reports.job_result_ttl.as_secs(), 1_800);
        assert_eq!(s.reports.shift_day_start.to_string(), "07:30:00");

        let (_, diag) = Settings::from_source(&EnvSource::from_pairs([
            ("SHIFT_DAY_START", "7h30"),
            ("ASYNC_QUERY_DAYS", "0"),
        ]));
        let vars: Vec<_> = diag.errors().map(|d| d.variable.as_str()).collect();
        for v in ["SHIFT_DAY_START", "ASYNC_QUERY_DAYS"] {
            assert!(vars.contains(&v), "{v} missing from {vars:?}");
        }
    }
}
