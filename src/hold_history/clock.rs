//! The plant's clock (PRODUCT §2): shift days and shifts in the plant's time zone.
//!
//! A shift day starts at `SHIFT_DAY_START` (07:30): an event at or after 07:30 belongs to the
//! next shift day, so shift day D runs from D−1 07:30 to D 07:30, local time. The day shift
//! runs the 12 hours from the start, the night shift the 12 hours after.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    Day,
    Night,
}

#[derive(Debug, Clone, Copy)]
pub struct PlantClock {
    pub zone: Tz,
    pub day_start: NaiveTime,
}

impl PlantClock {
    pub fn new(zone: Tz, day_start: NaiveTime) -> Self {
        Self { zone, day_start }
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.zone).naive_local()
    }

    /// The shift day `t` belongs to.
    pub fn shift_day(&self, t: DateTime<Utc>) -> NaiveDate {
        let since_start = self.day_start.signed_duration_since(NaiveTime::MIN);
        (self.local(t) - since_start).date() + Days::new(1)
    }

    /// When shift day `day` begins: the day before, at the start time, local.
    pub fn day_begins(&self, day: NaiveDate) -> DateTime<Utc> {
        let previous = day.checked_sub_days(Days::new(1)).unwrap_or(day);
        self.instant(previous.and_time(self.day_start))
    }

    /// The shift `t` falls in, and when it began.
    pub fn shift_of(&self, t: DateTime<Utc>) -> (Shift, DateTime<Utc>) {
        let local = self.local(t);
        let day_start = local.date().and_time(self.day_start);
        let night_start = day_start + chrono::Duration::hours(12);
        let (shift, begins) = if local >= night_start {
            (Shift::Night, night_start)
        } else if local >= day_start {
            (Shift::Day, day_start)
        } else {
            (Shift::Night, night_start - chrono::Duration::days(1))
        };
        (shift, self.instant(begins))
    }

    /// A local wall-clock time as an instant: the earlier of an ambiguous one (clocks set
    /// back), the first valid one after a skipped one (clocks set forward).
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let mut probe = local;
        for _ in 0..4 {
            match self.zone.from_local_datetime(&probe) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.to_utc(),
                LocalResult::None => probe += chrono::Duration::minutes(30),
            }
        }
        Utc.from_utc_datetime(&local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taipei() -> PlantClock {
        PlantClock::new(
            chrono_tz::Asia::Taipei,
            NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
        )
    }

    /// Taipei local time as an instant (UTC+8, no daylight saving).
    fn at(text: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Taipei
            .from_local_datetime(&local)
            .unwrap()
            .to_utc()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn an_event_after_the_start_belongs_to_the_next_shift_day() {
        let clock = taipei();
        assert_eq!(clock.shift_day(at("2026-12-05 07:29")), date("2026-12-05"));
        assert_eq!(clock.shift_day(at("2026-12-05 07:30")), date("2026-12-06"));
        assert_eq!(clock.shift_day(at("2026-12-05 07:31")), date("2026-12-06"));
        assert_eq!(clock.shift_day(at("2026-12-05 23:59")), date("2026-12-06"));
        assert_eq!(clock.shift_day(at("2026-12-06 00:00")), date("2026-12-06"));
        // 07:30 local is 23:30 UTC the day before: the zone, not UTC, decides.
        assert_eq!(clock.day_begins(date("2026-12-06")), at("2026-12-05 07:30"));
        assert_eq!(
            clock.day_begins(date("2026-12-06")).to_rfc3339(),
            "2026-12-04T23:30:00+00:00"
        );
    }

    #[test]
    fn day_and_night_shifts_turn_at_the_start_and_twelve_hours_later() {
        let clock = taipei();
        assert_eq!(
            clock.shift_of(at("2026-12-05 07:29")),
            (Shift::Night, at("2026-12-04 19:30"))
        );
        assert_eq!(
            clock.shift_of(at("2026-12-05 07:31")),
            (Shift::Day, at("2026-12-05 07:30"))
        );
        assert_eq!(
            clock.shift_of(at("2026-12-05 19:30")),
            (Shift::Night, at("2026-12-05 19:30"))
        );
        assert_eq!(
            clock.shift_of(at("2026-12-06 02:00")),
            (Shift::Night, at("2026-12-05 19:30"))
        );
    }

    #[test]
    fn a_zone_with_daylight_saving_keeps_the_local_start() {
        let clock = PlantClock::new(
            chrono_tz::Europe::Berlin,
            NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
        );
        // Clocks went forward on 2026-03-29: both days begin at 07:30 local.
        let before = clock.day_begins(date("2026-03-29"));
        let after = clock.day_begins(date("2026-03-30"));
        assert_eq!(before.to_rfc3339(), "2026-03-28T06:30:00+00:00");
        assert_eq!(after.to_rfc3339(), "2026-03-29T05:30:00+00:00");
        assert_eq!((after - before).num_hours(), 23);
    }
}
