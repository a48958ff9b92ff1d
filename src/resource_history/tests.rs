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

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn labels(from: &str, to: &str, g: Granularity) -> Vec<(String, NaiveDate, NaiveDate)> {
    periods(day(from), day(to), g, &clock())
        .into_iter()
        .map(|p| (p.label, p.first, p.last))
        .collect()
}

#[test]
fn a_day_runs_from_the_shift_start_the_evening_before() {
    let p = periods(
        day("2026-12-01"),
        day("2026-12-02"),
        Granularity::Day,
        &clock(),
    );
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].label, "2026-12-01");
    assert_eq!(p[0].start, taipei(2026, 11, 30, 7, 30));
    assert_eq!(p[0].end, taipei(2026, 12, 1, 7, 30));
    assert_eq!(p[1].start, p[0].end);
}

#[test]
fn weeks_start_on_monday_and_are_clipped_to_the_range() {
    // 2026-12-02 is a Wednesday; 2026-12-07 a Monday.
    let weeks = labels("2026-12-02", "2026-12-15", Granularity::Week);
    assert_eq!(
        weeks,
        vec![
            ("2026-W49".into(), day("2026-12-02"), day("2026-12-06")),
            ("2026-W50".into(), day("2026-12-07"), day("2026-12-13")),
            ("2026-W51".into(), day("2026-12-14"), day("2026-12-15")),
        ]
    );
}

#[test]
fn months_and_years_are_of_shift_days() {
    let months = labels("2026-01-30", "2026-03-01", Granularity::Month);
    assert_eq!(
        months,
        vec![
            ("2026-01".into(), day("2026-01-30"), day("2026-01-31")),
            ("2026-02".into(), day("2026-02-01"), day("2026-02-28")),
            ("2026-03".into(), day("2026-03-01"), day("2026-03-01")),
        ]
    );
    let p = periods(
        day("2026-12-31"),
        day("2027-01-01"),
        Granularity::Year,
        &clock(),
    );
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].label, "2026");
    // Shift day 2027-01-01 begins on 2026-12-31 at 07:30.
    assert_eq!(p[1].start, taipei(2026, 12, 31, 7, 30));
}

#[test]
fn a_bad_field_is_named() {
    let field = |raw: RawQuery<'_>| HistoryQuery::resolve(&raw, &clock()).unwrap_err().field;
    let ok = RawQuery {
        from: Some("2026-01-01"),
        to: Some("2026-01-31"),
        ..RawQuery::default()
    };
    assert!(HistoryQuery::resolve(&ok, &clock()).is_ok());
    assert_eq!(
        field(RawQuery {
            from: None,
            ..ok.clone()
        }),
        "from"
    );
    assert_eq!(
        field(RawQuery {
            to: Some("2025-12-31"),
            ..ok.clone()
        }),
        "to"
    );
    assert_eq!(
        field(RawQuery {
            to: Some("2028-12-31"),
            ..ok.clone()
        }),
        "to"
    );
    assert_eq!(
        field(RawQuery {
            granularity: Some("hour"),
            ..ok.clone()
        }),
        "granularity"
    );
    let filter = RawFilter {
        location: Some("A,\u{1}B"),
        ..RawFilter::default()
    };
    assert_eq!(
        field(RawQuery {
            filter,
            ..ok.clone()
        }),
        "location"
    );
    let filter = RawFilter {
        key: Some("maybe"),
        ..RawFilter::default()
    };
    assert_eq!(
        field(RawQuery {
            filter,
            ..ok.clone()
        }),
        "key"
    );
    let filter = RawFilter {
        family: Some("F1, F2,,F1"),
        ..RawFilter::default()
    };
    let q = HistoryQuery::resolve(&RawQuery { filter, ..ok }, &clock()).unwrap();
    assert_eq!(q.filter.family, vec!["F1", "F2"]);
}
