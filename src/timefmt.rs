//! RFC 3339 UTC timestamps, the one format of every time the app writes (envelopes, reports,
//! Redis values, logs).
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

#[cfg(test)]
mod tests {
    use super::*;

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
