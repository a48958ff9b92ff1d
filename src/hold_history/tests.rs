use chrono::{NaiveDate, NaiveTime, TimeZone};

use super::*;

fn clock() -> PlantClock {
    PlantClock::new(
        chrono_tz::Asia::Taipei,
        NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
    )
}

fn taipei(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Taipei
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .to_utc()
}

fn range(from: &str, to: &str) -> RawQuery<'static> {
    RawQuery {
        from: Some(Box::leak(from.to_string().into_boxed_str())),
        to: Some(Box::leak(to.to_string().into_boxed_str())),
        ..RawQuery::default()
    }
}

fn field_of(raw: &RawQuery<'_>) -> &'static str {
    HistoryQuery::resolve(raw, &clock(), Utc::now())
        .expect_err("a bad query")
        .field
}

#[test]
fn a_range_covers_its_shift_days_from_the_start_time_before_the_first() {
    let q =
        HistoryQuery::resolve(&range("2026-12-01", "2026-12-05"), &clock(), Utc::now()).unwrap();
    assert_eq!(q.days(), 5);
    assert_eq!(q.start, taipei(2026, 11, 30, 7, 30));
    assert_eq!(q.end, taipei(2026, 12, 5, 7, 30));
    let days = q.day_list(&clock());
    assert_eq!(days.len(), 5);
    assert_eq!(days[0].date, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    assert_eq!(days[4].end, q.end);
    assert_eq!(chunks(&days).len(), 1, "five whole days are one statement");
    assert_eq!(q.hold_type, TypeFilter::All);
    assert_eq!(q.record_type, RecordType::All);
}

#[test]
fn long_ranges_are_chunked_and_730_days_is_the_limit() {
    let q =
        HistoryQuery::resolve(&range("2025-01-01", "2026-12-31"), &clock(), Utc::now()).unwrap();
    assert_eq!(q.days(), 730);
    let days = q.day_list(&clock());
    let runs = chunks(&days);
    assert_eq!(runs.len(), 730_usize.div_ceil(CHUNK_DAYS));
    assert_eq!(runs.iter().map(|(_, r)| r.len()).sum::<usize>(), 730);
    assert_eq!(runs[1].0, CHUNK_DAYS);
    assert_eq!(field_of(&range("2025-01-01", "2027-01-01")), "to");
}

#[test]
fn each_bad_field_is_named() {
    assert_eq!(field_of(&range("2026-12-05", "2026-12-01")), "to");
    assert_eq!(field_of(&range("2026-13-01", "2026-12-01")), "from");
    assert_eq!(field_of(&range("2026-12-01", "yesterday")), "to");
    assert_eq!(field_of(&RawQuery::default()), "from");
    let mut raw = range("2026-12-01", "2026-12-02");
    raw.hold_type = Some("urgent");
    assert_eq!(field_of(&raw), "hold_type");
    let mut raw = range("2026-12-01", "2026-12-02");
    raw.record_type = Some("old");
    assert_eq!(field_of(&raw), "record_type");
    let mut raw = range("2026-12-01", "2026-12-02");
    raw.reason = Some("");
    assert_eq!(field_of(&raw), "reason");
    raw.reason = None;
    raw.mode = Some("today");
    assert_eq!(field_of(&raw), "mode");
    let raw = RawQuery {
        mode: Some("week"),
        ..RawQuery::default()
    };
    assert_eq!(field_of(&raw), "mode");
}

#[test]
fn today_and_shift_end_now_and_start_at_the_plant_s_clock() {
    let raw = RawQuery {
        mode: Some("today"),
        ..RawQuery::default()
    };
    let now = taipei(2026, 12, 5, 7, 31);
    let q = HistoryQuery::resolve(&raw, &clock(), now).unwrap();
    assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 12, 6).unwrap());
    assert_eq!((q.start, q.end), (taipei(2026, 12, 5, 7, 30), now));
    let early = taipei(2026, 12, 5, 7, 29);
    let q = HistoryQuery::resolve(&raw, &clock(), early).unwrap();
    assert_eq!(q.from, NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
    assert_eq!(q.start, taipei(2026, 12, 4, 7, 30));
    assert_eq!(chunks(&q.day_list(&clock())).len(), 1);

    let raw = RawQuery {
        mode: Some("shift"),
        ..RawQuery::default()
    };
    let q = HistoryQuery::resolve(&raw, &clock(), early).unwrap();
    assert_eq!(q.shift, Some(Shift::Night));
    assert_eq!(q.start, taipei(2026, 12, 4, 19, 30));
    let q = HistoryQuery::resolve(&raw, &clock(), now).unwrap();
    assert_eq!(
        (q.shift, q.start),
        (Some(Shift::Day), taipei(2026, 12, 5, 7, 30))
    );
}

#[test]
fn filters_keep_holds_by_type_and_reason() {
    let configured = NonQualityReasons::new(["盤點"]);
    let mut q =
        HistoryQuery::resolve(&range("2026-12-01", "2026-12-01"), &clock(), Utc::now()).unwrap();
    assert!(q.keeps(&configured, Some("盤點")));
    assert!(q.keeps(&configured, None));
    q.hold_type = TypeFilter::Quality;
    assert!(!q.keeps(&configured, Some("盤點")));
    assert!(
        q.keeps(&configured, None),
        "a hold without a reason is quality"
    );
    q.reason = Some("外觀不良".into());
    assert!(q.keeps(&configured, Some("外觀不良")));
    assert!(!q.keeps(&configured, Some("刮傷")));
    q.hold_type = TypeFilter::NonQuality;
    assert!(!q.keeps(&configured, Some("外觀不良")));
    assert!(q.reason_list(&configured).is_empty());
    assert!(matches!(
        q.reasons(&configured, &[]),
        crate::db::hold_events::Reasons::Only([])
    ));
}
