//! `POST /api/hold-history/query` on both backends: every figure against values computed here,
//! independently, from events the test inserts in a window the seeded factory leaves empty;
//! the shift-day edges (07:29 vs 07:31), holds released exactly on a bucket boundary, the
//! filters, today mode, and the 400s naming their field; the detail's own filters (a day, a
//! reason, a duration bucket) on the result API, answered at once and as a job.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    every_figure_matches_the_events_over_a_range_of_shift_days,
    filters_split_quality_from_non_quality_and_by_reason,
    today_counts_from_the_start_of_the_shift_day_up_to_now,
    bad_ranges_are_refused_naming_the_field,
    a_day_reason_or_bucket_filters_the_detail_and_its_csv_only,
);

/// One inserted event.
#[derive(Debug, Clone)]
pub struct Ev {
    pub lot: &'static str,
    pub reason: Option<&'static str>,
    pub quantity: i64,
    pub future: bool,
    pub hold_at: DateTime<Utc>,
    pub release_at: Option<DateTime<Utc>>,
}

/// Taipei is UTC+8 all year: the test's own clock, independent of the app's time-zone code.
fn taipei() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

pub fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    taipei()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .to_utc()
}

/// The shift day of `t`: at or after 07:30 local belongs to the next day.
fn shift_day(t: DateTime<Utc>) -> NaiveDate {
    (t.with_timezone(&taipei()).naive_local() - Duration::minutes(7 * 60 + 30)).date()
        + Duration::days(1)
}

pub async fn insert(url: &str, events: &[Ev]) {
    let db = Database::connect_lazy(&Settings::for_tests(url, &[])).unwrap();
    for e in events {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
                "INSERT INTO hold_events (lot_id, workcenter_id, quantity, hold_reason, hold_at, \
             future_hold, release_at) VALUES ($1, 'WB', $2, $3, $4, $5, $6)",
            )
            .bind(e.lot)
            .bind(e.quantity as i32)
            .bind(e.reason)
            .bind(e.hold_at)
            .bind(e.future)
            .bind(e.release_at)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })
        .expect("insert a hold event");
    }
    db.close().await;
}

fn ev(
    lot: &'static str,
    reason: Option<&'static str>,
    quantity: i64,
    hold_at: DateTime<Utc>,
    release_at: Option<DateTime<Utc>>,
) -> Ev {
    Ev {
        lot,
        reason,
        quantity,
        future: false,
        hold_at,
        release_at,
    }
}

const QUALITY: &str = "外觀不良";
const SCRATCH: &str = "刮傷";
/// One of the demo's non-quality reasons (the default `NON_QUALITY_HOLD_REASONS`).
const STOCK_TAKE: &str = "盤點";

/// Events around the shift days 2020-03-02 … 2020-03-04 (window: 03-01 07:30 to 03-04 07:30
/// local).
pub fn events() -> Vec<Ev> {
    let mut future = ev(
        "L3",
        Some(STOCK_TAKE),
        30,
        local(2020, 3, 2, 10, 0),
        Some(local(2020, 3, 3, 10, 0)), // exactly 24 h: 1–3 d
    );
    future.future = true;
    vec![
        // Held on shift day 03-01 (07:29), released exactly 4 h later (4–24 h) inside.
        ev(
            "L1",
            Some(QUALITY),
            10,
            local(2020, 3, 1, 7, 29),
            Some(local(2020, 3, 1, 11, 29)),
        ),
        // Held at 07:31: shift day 03-02; released 3 h 59 min later (< 4 h).
        ev(
            "L2",
            Some(QUALITY),
            20,
            local(2020, 3, 1, 7, 31),
            Some(local(2020, 3, 1, 11, 30)),
        ),
        // L2 again, a repeated quality hold, released after the window.
        ev(
            "L2",
            Some(QUALITY),
            20,
            local(2020, 3, 2, 9, 0),
            Some(local(2020, 3, 5, 9, 0)),
        ),
        future,
        // No reason: a quality hold, never released.
        ev("L4", None, 7, local(2020, 3, 3, 20, 0), None),
        // Entirely before the window.
        ev(
            "L5",
            Some(SCRATCH),
            5,
            local(2020, 2, 20, 8, 0),
            Some(local(2020, 2, 25, 8, 0)),
        ),
        // Held before, released inside after 7 days (> 3 d).
        ev(
            "L6",
            Some(SCRATCH),
            40,
            local(2020, 2, 25, 8, 0),
            Some(local(2020, 3, 3, 8, 0)),
        ),
        // Held exactly at the window's end: shift day 03-05, outside.
        ev("L7", Some(QUALITY), 50, local(2020, 3, 4, 7, 30), None),
    ]
}

/// The figures, computed from `events` the plain way.
fn expected(events: &[Ev], from: NaiveDate, to: NaiveDate, keep: impl Fn(&Ev) -> bool) -> Value {
    let start = local(2020, 3, 1, 7, 30) + (from - NaiveDate::from_ymd_opt(2020, 3, 2).unwrap());
    let end = local(2020, 3, 1, 7, 30) + (to - NaiveDate::from_ymd_opt(2020, 3, 1).unwrap());
    let kept: Vec<&Ev> = events.iter().filter(|e| keep(e)).collect();
    let inside = |t: DateTime<Utc>| t >= start && t < end;
    let new: Vec<&&Ev> = kept.iter().filter(|e| inside(e.hold_at)).collect();
    let released: Vec<&&Ev> = kept
        .iter()
        .filter(|e| e.release_at.is_some_and(inside))
        .collect();
    let open_at = |t: DateTime<Utc>| {
        kept.iter()
            .filter(|e| e.hold_at < t && e.release_at.is_none_or(|r| r >= t))
            .collect::<Vec<_>>()
    };
    let hours = |e: &Ev| (e.release_at.unwrap() - e.hold_at).num_seconds() as f64 / 3600.0;
    let mut buckets = [0; 4];
    for e in &released {
        let h = hours(e);
        let i = if h < 4.0 {
            0
        } else if h < 24.0 {
            1
        } else if h < 72.0 {
            2
        } else {
            3
        };
        buckets[i] += 1;
    }
    let days = (to - from).num_days() + 1;
    let mut trend = Vec::new();
    let mut on_hold = open_at(start).len() as i64;
    let mut day = from;
    while day <= to {
        let n = new.iter().filter(|e| shift_day(e.hold_at) == day).count() as i64;
        let r = released
            .iter()
            .filter(|e| shift_day(e.release_at.unwrap()) == day)
            .count() as i64;
        let f = new
            .iter()
            .filter(|e| e.future && shift_day(e.hold_at) == day)
            .count() as i64;
        on_hold += n - r;
        trend.push(json!({"day": day.to_string(), "new": n, "released": r, "future": f, "on_hold": on_hold}));
        day += Duration::days(1);
    }
    let quality_new: Vec<&&&Ev> = new
        .iter()
        .filter(|e| e.reason != Some(STOCK_TAKE))
        .collect();
    let mut lots: Vec<&str> = quality_new.iter().map(|e| e.lot).collect();
    lots.sort_unstable();
    lots.dedup();
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let at_end = open_at(end);
    json!({
        "new": new.len(),
        "new_quantity": new.iter().map(|e| e.quantity).sum::<i64>(),
        "released": released.len(),
        "released_quantity": released.iter().map(|e| e.quantity).sum::<i64>(),
        "future": new.iter().filter(|e| e.future).count(),
        "repeated": quality_new.len() - lots.len(),
        "net": new.len() as i64 - released.len() as i64,
        "average": if released.is_empty() { Value::Null } else {
            json!(round2(released.iter().map(|e| hours(e)).sum::<f64>() / released.len() as f64))
        },
        "longest": released.iter().map(|e| hours(e)).fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h)))).map(round2),
        "on_hold_lots": at_end.len(),
        "on_hold_quantity": at_end.iter().map(|e| e.quantity).sum::<i64>(),
        "buckets": buckets,
        "trend": trend,
        "per_day": ((new.len() as f64 / days as f64) * 10.0).round() / 10.0,
    })
}

fn assert_figures(data: &Value, want: &Value) {
    let cards = &data["cards"];
    assert_eq!(cards["new_holds"]["count"], want["new"], "new: {cards}");
    assert_eq!(
        cards["new_holds"]["quantity"], want["new_quantity"],
        "{cards}"
    );
    assert_eq!(cards["new_holds"]["per_day"], want["per_day"], "{cards}");
    assert_eq!(cards["releases"]["count"], want["released"], "{cards}");
    assert_eq!(
        cards["releases"]["quantity"], want["released_quantity"],
        "{cards}"
    );
    assert_eq!(cards["future_holds"], want["future"], "{cards}");
    assert_eq!(cards["repeated_quality_holds"], want["repeated"], "{cards}");
    assert_eq!(cards["net_change"], want["net"], "{cards}");
    assert_eq!(
        cards["release_duration_hours"]["average"], want["average"],
        "{cards}"
    );
    assert_eq!(
        cards["release_duration_hours"]["longest"], want["longest"],
        "{cards}"
    );
    assert_eq!(cards["on_hold"]["lots"], want["on_hold_lots"], "{cards}");
    assert_eq!(
        cards["on_hold"]["quantity"], want["on_hold_quantity"],
        "{cards}"
    );
    let buckets: Vec<Value> = data["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].clone())
        .collect();
    assert_eq!(json!(buckets), want["buckets"], "{}", data["buckets"]);
    let trend: Vec<Value> = data["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            json!({"day": d["day"], "new": d["new"], "released": d["released"],
                   "future": d["future"], "on_hold": d["on_hold"]})
        })
        .collect();
    assert_eq!(json!(trend), want["trend"]);
}

async fn query(app: &TestApp, body: Value) -> (u16, Value) {
    json(
        app.post_json_with_csrf("/api/hold-history/query", &body)
            .await,
    )
    .await
}

async fn every_figure_matches_the_events_over_a_range_of_shift_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let events = events();
    insert(&app.database_url(), &events).await;
    app.login_as_user().await;
    let (from, to) = (
        NaiveDate::from_ymd_opt(2020, 3, 2).unwrap(),
        NaiveDate::from_ymd_opt(2020, 3, 4).unwrap(),
    );

    let (status, body) = query(&app, json!({"from": "2020-03-02", "to": "2020-03-04"})).await;

    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    let want = expected(&events, from, to, |_| true);
    assert_figures(data, &want);
    // The edges, spelled out: 07:29 is day 03-01 (outside), 07:31 is day 03-02.
    assert_eq!(data["trend"][0]["new"], 1, "{}", data["trend"]);
    // Released exactly 4 h after: the 4–24 h bucket; exactly 24 h: 1–3 d.
    assert_eq!(want["buckets"], json!([1, 1, 1, 1]));
    assert_eq!(data["window"]["days"], 3);
    assert_eq!(data["window"]["start"], "2020-02-29T23:30:00.000Z");
    let pareto = data["pareto"].as_array().unwrap();
    assert_eq!(pareto[0]["reason"], QUALITY, "{pareto:?}");
    assert_eq!(pareto[0]["count"], 2);
    assert_eq!(pareto[0]["hold_type"], "quality");
    let stock = pareto.iter().find(|p| p["reason"] == STOCK_TAKE).unwrap();
    assert_eq!(stock["hold_type"], "non-quality");
    assert_eq!(pareto.last().unwrap()["cumulative_pct"], 100.0);

    // The first detail page: every event touching the window, newest hold first.
    let detail = &data["detail"];
    let touching = events
        .iter()
        .filter(|e| e.hold_at < local(2020, 3, 4, 7, 30))
        .filter(|e| e.release_at.is_none_or(|r| r >= local(2020, 3, 1, 7, 30)))
        .count();
    assert_eq!(detail["total"], touching as i64, "{detail}");
    assert_eq!(detail["rows"][0]["lot_id"], "L4");
    assert!(data["job_id"].as_str().is_some_and(|id| id.len() == 32));

    // The rest pages through the job's result API.
    let url = format!(
        "{}?page=2&page_size=2&sort=quantity&dir=asc",
        data["result_url"].as_str().unwrap()
    );
    let (status, page) = json(app.get(&url).await).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"]["detail"]["total"], touching as i64);
    let quantities: Vec<i64> = page["data"]["detail"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(
        quantities,
        [20, 20],
        "sorted by quantity: 7 10 | 20 20 | 30 40"
    );
    assert_eq!(page["data"]["cards"], data["cards"]);

    // The whole detail as CSV: as many rows as the detail's total, in the same order.
    let url = format!("{}?format=csv", data["result_url"].as_str().unwrap());
    let response = app
        .client
        .get(app.url(&url))
        .header(reqwest::header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "Lot");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), touching, "every row of the detail");
    assert_eq!(&rows[0][0], "L4", "newest hold first, as the API");
    let (status, body) = json(
        app.get(&format!(
            "{}?format=xlsx",
            data["result_url"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
}

/// Which inserted events a filter keeps.
type Keep = Box<dyn Fn(&Ev) -> bool>;

async fn filters_split_quality_from_non_quality_and_by_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let events = events();
    insert(&app.database_url(), &events).await;
    app.login_as_user().await;
    let (from, to) = (
        NaiveDate::from_ymd_opt(2020, 3, 2).unwrap(),
        NaiveDate::from_ymd_opt(2020, 3, 4).unwrap(),
    );
    let cases: [(Value, Keep); 3] = [
        (
            json!({"hold_type": "quality"}),
            Box::new(|e: &Ev| e.reason != Some(STOCK_TAKE)),
        ),
        (
            json!({"hold_type": "non-quality"}),
            Box::new(|e: &Ev| e.reason == Some(STOCK_TAKE)),
        ),
        (
            json!({"reason": SCRATCH}),
            Box::new(|e: &Ev| e.reason == Some(SCRATCH)),
        ),
    ];
    for (filter, keep) in cases {
        let mut body = json!({"from": "2020-03-02", "to": "2020-03-04", "record_type": "released"});
        for (k, v) in filter.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = query(&app, body.clone()).await;
        assert_eq!(status, 200, "{body}: {answer}");
        let mut want = expected(&events, from, to, &keep);
        if filter["hold_type"] == "non-quality" {
            want["repeated"] = json!(0);
        }
        assert_figures(&answer["data"], &want);
        assert_eq!(
            answer["data"]["detail"]["total"], want["released"],
            "{body}: the detail lists the released holds"
        );
    }
}

async fn today_counts_from_the_start_of_the_shift_day_up_to_now(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let (status, before) = query(&app, json!({"mode": "today"})).await;
    assert_eq!(status, 200, "{before}");
    let now = Utc::now();
    let day = shift_day(now);
    let begins = taipei()
        .from_local_datetime(&(day - Duration::days(1)).and_hms_opt(7, 30, 0).unwrap())
        .unwrap()
        .to_utc();
    assert_eq!(before["data"]["window"]["from"], day.to_string());
    assert_eq!(
        before["data"]["window"]["start"],
        mes_dashboard::timefmt::iso8601(begins)
    );
    // One hold a minute ago (today), one a minute before the shift day began (not today).
    insert(
        &app.database_url(),
        &[
            ev("T1", Some(QUALITY), 3, now - Duration::minutes(1), None),
            ev("T2", Some(QUALITY), 4, begins - Duration::minutes(1), None),
        ],
    )
    .await;

    let (status, after) = query(&app, json!({"mode": "today"})).await;

    assert_eq!(status, 200, "{after}");
    let count = |v: &Value| v["data"]["cards"]["new_holds"]["count"].as_i64().unwrap();
    assert_eq!(
        count(&after),
        count(&before) + 1,
        "{}",
        after["data"]["cards"]
    );
    let (status, shift) = query(&app, json!({"mode": "shift"})).await;
    assert_eq!(status, 200, "{shift}");
    assert!(["day", "night"].contains(&shift["data"]["window"]["shift"].as_str().unwrap()));
}

async fn bad_ranges_are_refused_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let cases = [
        (json!({"from": "2020-03-05", "to": "2020-03-01"}), "to:"),
        (json!({"from": "2020-01-01", "to": "2022-01-01"}), "to:"),
        (json!({"from": "2020-02-30", "to": "2020-03-01"}), "from:"),
        (json!({"from": "2020-03-01"}), "to:"),
        (
            json!({"from": "2020-03-01", "to": "2020-03-02", "hold_type": "x"}),
            "hold_type:",
        ),
        (json!({"mode": "week"}), "mode:"),
        (
            json!({"from": "2020-03-01", "to": "2020-03-02", "sort": "colour"}),
            "sort:",
        ),
        (
            json!({"from": "2020-03-01", "to": "2020-03-02", "page_size": 0}),
            "page_size:",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = query(&app, body.clone()).await;
        assert_error(status, &answer, 400, "VALIDATION_ERROR");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    // 730 days is allowed (and, past ASYNC_QUERY_DAYS, a job).
    let (status, answer) = query(&app, json!({"from": "2020-01-01", "to": "2021-12-30"})).await;
    assert_eq!(status, 202, "{answer}");
}

/// The bucket of a hold held for `d`, the plain way (a duration on a boundary goes up).
fn bucket_of(d: Duration) -> &'static str {
    if d < Duration::hours(4) {
        "under_4h"
    } else if d < Duration::hours(24) {
        "4h_to_24h"
    } else if d < Duration::hours(72) {
        "1d_to_3d"
    } else {
        "over_3d"
    }
}

/// The lots of `events` that touch `[from, to)` and pass `keep`, sorted.
fn lots_touching(
    events: &[Ev],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    keep: impl Fn(&Ev) -> bool,
) -> Vec<String> {
    let mut lots: Vec<String> = events
        .iter()
        .filter(|e| e.hold_at < to && e.release_at.is_none_or(|r| r >= from))
        .filter(|e| keep(e))
        .map(|e| e.lot.to_string())
        .collect();
    lots.sort();
    lots
}

/// Every page of a result read with `filters`: (total, sorted lots, the figures).
async fn read_filtered(app: &TestApp, job: &str, filters: &str) -> (i64, Vec<String>, Value) {
    let (status, body) = json(
        app.get(&format!("/api/jobs/{job}/result?page_size=500&{filters}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{filters}: {body}");
    let detail = &body["data"]["detail"];
    let mut lots: Vec<String> = detail["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["lot_id"].as_str().unwrap().to_string())
        .collect();
    lots.sort();
    (
        detail["total"].as_i64().unwrap(),
        lots,
        body["data"].clone(),
    )
}

async fn csv_rows(app: &TestApp, job: &str, filters: &str) -> usize {
    let response = app
        .get(&format!("/api/jobs/{job}/result?format=csv&{filters}"))
        .await;
    assert_eq!(response.status(), 200, "{filters}");
    let bytes = response.bytes().await.unwrap();
    csv::Reader::from_reader(&bytes[3..]).records().count()
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn a_day_reason_or_bucket_filters_the_detail_and_its_csv_only(backend: Backend) {
    // One instance answers the range at once, the other as a background job.
    let at_once = TestApp::spawn(backend).await;
    let as_job = at_once.another_instance(&[("ASYNC_QUERY_DAYS", "2")]).await;
    let mut events = events();
    // Released exactly 3 days after: the > 3 d bucket.
    events.push(ev(
        "L8",
        Some(SCRATCH),
        8,
        local(2020, 2, 29, 9, 0),
        Some(local(2020, 3, 3, 9, 0)),
    ));
    insert(&at_once.database_url(), &events).await;
    at_once.login_as_user().await;
    as_job.login_as_user().await;
    let range = json!({"from": "2020-03-02", "to": "2020-03-04"});
    let (start, end) = (local(2020, 3, 1, 7, 30), local(2020, 3, 4, 7, 30));

    let (status, answer) = query(&at_once, range.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let direct = answer["data"]["job_id"].as_str().unwrap().to_string();
    let (status, accepted) = query(&as_job, range.clone()).await;
    assert_eq!(status, 202, "{accepted}");
    let queued = accepted["data"]["job_id"].as_str().unwrap().to_string();
    let finished = crate::browser::poll_until(std::time::Duration::from_secs(60), async || {
        let (_, job) = json(as_job.get(&format!("/api/jobs/{queued}")).await).await;
        (job["data"]["state"] != "queued" && job["data"]["state"] != "running")
            .then(|| job["data"]["state"].clone())
    })
    .await;
    assert_eq!(finished, Some(json!("done")));

    // Each bucket: the released holds of the window with such a duration, as many as the
    // chart counts.
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    for (i, bucket) in ["under_4h", "4h_to_24h", "1d_to_3d", "over_3d"]
        .into_iter()
        .enumerate()
    {
        let want = lots_touching(&events, start, end, |e| {
            e.release_at
                .is_some_and(|r| r >= start && r < end && bucket_of(r - e.hold_at) == bucket)
        });
        assert_eq!(
            answer["data"]["buckets"][i]["count"],
            want.len(),
            "{bucket}: the chart"
        );
        cases.push((format!("duration_bucket={bucket}"), want));
    }
    // The boundaries, spelled out: exactly 4 h is 4–24 h, exactly 24 h is 1–3 d, exactly
    // 3 d is > 3 d.
    assert_eq!(cases[1].1, ["L1"]);
    assert_eq!(cases[2].1, ["L3"]);
    assert_eq!(cases[3].1, ["L6", "L8"]);
    // A shift day: the events touching it (03-03 is 03-02 07:30 to 03-03 07:30).
    let (day_start, day_end) = (local(2020, 3, 2, 7, 30), local(2020, 3, 3, 7, 30));
    cases.push((
        "day=2020-03-03".into(),
        lots_touching(&events, day_start, day_end, |_| true),
    ));
    // A reason, and the holds without one.
    cases.push((
        format!("reason={}", encode(SCRATCH)),
        lots_touching(&events, start, end, |e| e.reason == Some(SCRATCH)),
    ));
    cases.push((
        format!("reason={}", encode("(no reason)")),
        lots_touching(&events, start, end, |e| e.reason.is_none()),
    ));
    // All three at once: released on 03-03 after more than 3 days, scratched.
    cases.push((
        format!(
            "day=2020-03-04&duration_bucket=over_3d&reason={}",
            encode(SCRATCH)
        ),
        lots_touching(&events, start, end, |e| {
            e.reason == Some(SCRATCH)
                && e.release_at.is_some_and(|r| {
                    r >= day_end
                        && r < local(2020, 3, 4, 7, 30)
                        && bucket_of(r - e.hold_at) == "over_3d"
                })
        }),
    ));
    for (filters, want) in &cases {
        assert!(
            !want.is_empty() || filters.contains("no reason"),
            "{filters} selects events"
        );
        for (app, job) in [(&at_once, &direct), (&as_job, &queued)] {
            let (total, lots, data) = read_filtered(app, job, filters).await;
            assert_eq!(total, want.len() as i64, "{filters}");
            assert_eq!(&lots, want, "{filters}");
            // The figures stay the whole query's.
            for part in ["cards", "trend", "pareto", "buckets"] {
                assert_eq!(data[part], answer["data"][part], "{filters}: {part}");
            }
            assert_eq!(
                csv_rows(app, job, filters).await,
                want.len(),
                "{filters}: the CSV follows the filters"
            );
        }
    }
    // A reason outside the query's type lists nothing.
    let (status, non_quality) = query(
        &at_once,
        json!({"from": "2020-03-02", "to": "2020-03-04", "hold_type": "non-quality"}),
    )
    .await;
    assert_eq!(status, 200, "{non_quality}");
    let job = non_quality["data"]["job_id"].as_str().unwrap();
    let filter = format!("reason={}", encode(SCRATCH));
    assert_eq!(read_filtered(&at_once, job, &filter).await.0, 0);

    // Bad filters are 400 naming the field.
    for (filters, field) in [
        ("duration_bucket=1h", "duration_bucket:"),
        ("day=2020-03-05", "day:"),
        ("day=2020-03-01", "day:"),
        ("day=03-03", "day:"),
        ("reason=", "reason:"),
        ("duration_bucket=over_3d&format=csv&day=x", "day:"),
    ] {
        let (status, body) = json(
            at_once
                .get(&format!("/api/jobs/{direct}/result?{filters}"))
                .await,
        )
        .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{filters}: {message}");
    }
}
