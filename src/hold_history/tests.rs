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

#[test]
fn a_duration_on_a_bucket_boundary_goes_up() {
    const H: i64 = 3_600_000;
    assert_eq!(DurationBucket::of(4 * H - 1), DurationBucket::Under4h);
    assert_eq!(DurationBucket::of(4 * H), DurationBucket::Hours4To24);
    assert_eq!(DurationBucket::of(24 * H), DurationBucket::Days1To3);
    assert_eq!(DurationBucket::of(72 * H - 1), DurationBucket::Days1To3);
    assert_eq!(DurationBucket::of(72 * H), DurationBucket::Over3d);
    for bucket in DurationBucket::ALL {
        let held = bucket.held_for();
        assert_eq!(DurationBucket::of(held.at_least_ms), bucket);
        if let Some(under) = held.under_ms {
            assert_eq!(DurationBucket::of(under - 1), bucket);
            assert_ne!(DurationBucket::of(under), bucket);
        }
        assert_eq!(DurationBucket::parse(bucket.name()), Some(bucket));
    }
}

#[test]
fn detail_filters_name_the_bad_field_and_narrow_to_one_shift_day() {
    let q =
        HistoryQuery::resolve(&range("2026-12-01", "2026-12-03"), &clock(), Utc::now()).unwrap();
    let raw = |day: Option<&str>, reason: Option<&str>, bucket: Option<&str>| RawDetailFilter {
        day: day.map(str::to_string),
        reason: reason.map(str::to_string),
        duration_bucket: bucket.map(str::to_string),
    };
    let field = |r: RawDetailFilter| DetailFilter::parse(&r, &q).expect_err("bad").field;
    assert_eq!(field(raw(Some("2026-11-30"), None, None)), "day");
    assert_eq!(field(raw(Some("2026-12-04"), None, None)), "day");
    assert_eq!(field(raw(Some("12/02"), None, None)), "day");
    assert_eq!(field(raw(None, Some(""), None)), "reason");
    assert_eq!(field(raw(None, None, Some("over_1d"))), "duration_bucket");
    assert_eq!(
        raw(None, None, Some("x")).first_field(),
        Some("duration_bucket")
    );

    let f = DetailFilter::parse(&raw(Some("2026-12-02"), None, Some("over_3d")), &q).unwrap();
    assert_eq!(
        f.window(&q, &clock()),
        (taipei(2026, 12, 1, 7, 30), taipei(2026, 12, 2, 7, 30))
    );
    assert_eq!(f.duration_bucket, Some(DurationBucket::Over3d));
    assert_eq!(
        DetailFilter::default().window(&q, &clock()),
        (q.start, q.end)
    );

    // A reason of the other type lists nothing; the missing reason is its own filter.
    let configured = NonQualityReasons::new(["盤點"]);
    let mut quality = q.clone();
    quality.hold_type = TypeFilter::Quality;
    let stock = DetailFilter::parse(&raw(None, Some("盤點"), None), &quality).unwrap();
    assert!(matches!(
        stock.reasons(&quality, &configured, &[]),
        crate::db::hold_events::Reasons::Only([])
    ));
    let none = DetailFilter::parse(&raw(None, Some("(no reason)"), None), &quality).unwrap();
    assert!(matches!(
        none.reasons(&quality, &configured, &[]),
        crate::db::hold_events::Reasons::Missing
    ));
}
