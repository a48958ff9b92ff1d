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
