//! RFC 3339 UTC timestamps, the one format of every time the app writes (envelopes, reports,
//! Redis values, logs); and the forms people read on pages and in CSV files: times in the
//! plant's time zone (`PLANT_TIME_ZONE`), numbers with thousands separators.
//!
//! The clock's own "now" is on the hot path (every envelope, every access-log line): the date
//! and whole seconds are formatted once per second per thread, the fraction on each call. A
//! module of its own, outside `http/`, because the caches, the data layer and the health
//! reports write the same timestamps and must not depend on the HTTP layer.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// ISO-8601 UTC with milliseconds: `2026-11-25T21:53:17.123Z`.
pub fn iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

thread_local! {
    /// (unix second, "YYYY-MM-DDTHH:MM:SS" of that second)
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn append(out: &mut String, digits: u32) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            cached.1.clear();
            use std::fmt::Write;
            let _ = write!(cached.1, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
            cached.0 = secs;
        }
        out.push_str(&cached.1);
    });
    let (value, width) = match digits {
        3 => (now.subsec_millis(), 3),
        _ => (now.subsec_micros(), 6),
    };
    out.push('.');
    let mut buf = itoa::Buffer::new();
    let text = buf.format(value);
    for _ in text.len()..width {
        out.push('0');
    }
    out.push_str(text);
    out.push('Z');
}

/// Now, with milliseconds: `2026-11-25T21:53:17.123Z`.
pub fn now_millis(out: &mut String) {
    append(out, 3);
}

/// Now, with microseconds: `2026-11-25T21:53:17.123456Z`.
pub fn now_micros(out: &mut String) {
    append(out, 6);
}

/// An RFC 3339 time as people in the plant read it: `2026-12-06 14:05:09` in `zone`. None when
/// `text` is not such a time.
pub fn plant_time(text: &str, zone: chrono_tz::Tz) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    Some(
        t.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    )
}

/// A time's digits, written by hand: `YYYY-MM-DD` `sep` `HH:MM:SS`, then with `fraction` as
/// many fraction digits as chrono's `SecondsFormat::AutoSi` writes (none, 3 or 6) and `Z`.
///
/// Why by hand: the lists of lots write hundreds of times per page, and chrono's calendar
/// accessors and formatter cost several times these few divisions (the hold lot list's
/// profile under callgrind). Years outside 0–9999 are `None`: the callers let chrono write
/// those (they are never met in plant data).
pub struct Stamp {
    buf: [u8; 27],
    len: usize,
}

impl Stamp {
    /// `micros` since the Unix epoch, read on the UTC calendar (add a zone's offset first for
    /// its local time).
    pub fn new(micros: i64, sep: u8, fraction: bool) -> Option<Self> {
        let days = micros.div_euclid(86_400_000_000);
        let of_day = micros.rem_euclid(86_400_000_000);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let seconds = (of_day / 1_000_000) as u32;
        let sub = (of_day % 1_000_000) as u32;
        let mut buf = [0u8; 27];
        // Two digits at a time from a table: half the divisions of one digit at a time.
        let mut pair = |at: usize, value: u32| {
            let i = 2 * value as usize;
            buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        };
        let year = year as u32;
        pair(0, year / 100);
        pair(2, year % 100);
        pair(5, month);
        pair(8, day);
        pair(11, seconds / 3600);
        pair(14, seconds / 60 % 60);
        pair(17, seconds % 60);
        let len = match (fraction, sub, sub % 1000) {
            (false, _, _) => 19,
            (true, 0, _) => 20,
            (true, m, 0) => {
                // Milliseconds: the first digit, then a pair.
                let ms = m / 1000;
                pair(21, ms % 100);
                buf[20] = b'0' + (ms / 100) as u8;
                24
            }
            (true, m, _) => {
                pair(20, m / 10_000);
                pair(22, m / 100 % 100);
                pair(24, m % 100);
                27
            }
        };
        buf[4] = b'-';
        buf[7] = b'-';
        buf[10] = sep;
        buf[13] = b':';
        buf[16] = b':';
        if len > 20 {
            buf[19] = b'.';
        }
        if fraction {
            buf[len - 1] = b'Z';
        }
        Some(Self { buf, len })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators were written (`sep` is ASCII at every call).
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// (year, month, day) of `days` since 1970-01-01 on the proleptic Gregorian calendar: Howard
/// Hinnant's `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms").
/// `00` to `99`, two bytes each.
const DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `zone`'s local time of `t` for file names: `20261206-1405`.
pub fn file_stamp(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone).format("%Y%m%d-%H%M").to_string()
}

/// `1234567` → `1,234,567` (zh-TW and English group the same way).
pub fn group_thousands(n: i64) -> String {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n.unsigned_abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1234.56` with one decimal → `1,234.6`.
pub fn format_decimal(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let text = format!("{:.*}", decimals, x.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let sign = if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "-"
    } else {
        ""
    };
    let grouped = group_thousands(whole);
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_read_as_people_write_them() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
        assert_eq!(format_decimal(1234.56, 1), "1,234.6");
        assert_eq!(format_decimal(-0.04, 1), "0.0");
        assert_eq!(format_decimal(-12.5, 1), "-12.5");
        let taipei = chrono_tz::Tz::Asia__Taipei;
        assert_eq!(
            plant_time("2026-12-06T06:05:09.123Z", taipei).as_deref(),
            Some("2026-12-06 14:05:09")
        );
        assert_eq!(plant_time("yesterday", taipei), None);
        let t = DateTime::parse_from_rfc3339("2026-12-06T23:30:00Z").unwrap();
        assert_eq!(file_stamp(t.to_utc(), taipei), "20261207-0730");
    }

    /// Every day from year 0 to 9999 at a spread of times of day and fractions: the hand
    /// writer says what chrono says.
    #[test]
    fn stamps_read_as_chrono_writes_them() {
        let first = chrono::NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        let (mut day, mut n) = (first, 0_i64);
        while day <= last {
            // A time of day and a fraction that change from day to day: 0, whole millis, micros.
            n += 1;
            let of_day = (n * 7_919_000_003) % 86_400_000_000;
            let of_day = match n % 3 {
                0 => of_day / 1_000_000 * 1_000_000,
                1 => of_day / 1_000 * 1_000,
                _ => of_day,
            };
            let t = day
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros()
                + of_day;
            let at = DateTime::from_timestamp_micros(t).unwrap();
            let stamp = Stamp::new(t, b'T', true).unwrap();
            assert_eq!(
                stamp.as_str(),
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            );
            let plain = Stamp::new(t, b' ', false).unwrap();
            assert_eq!(plain.as_str(), at.format("%Y-%m-%d %H:%M:%S").to_string());
            day = day.succ_opt().unwrap();
        }
        let before = first
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
            - 1;
        assert!(Stamp::new(before, b'T', true).is_none());
        let after = last
            .and_hms_opt(23, 59, 59)
            .unwrap()
            .and_utc()
            .timestamp_micros()
            + 1_000_000;
        assert!(Stamp::new(after, b'T', true).is_none());
    }

    #[test]
    fn timestamps_parse_and_match_the_clock() {
        let mut a = String::new();
        now_millis(&mut a);
        let mut b = String::new();
        now_micros(&mut b);
        let pa = chrono::DateTime::parse_from_rfc3339(&a).unwrap();
        let pb = chrono::DateTime::parse_from_rfc3339(&b).unwrap();
        assert_eq!(a.len(), "2026-11-25T21:53:17.123Z".len());
        assert_eq!(b.len(), "2026-11-25T21:53:17.123456Z".len());
        let now = chrono::Utc::now();
        assert!((now - pa.to_utc()).num_milliseconds().abs() < 1000);
        assert!(pb >= pa);
    }
}
