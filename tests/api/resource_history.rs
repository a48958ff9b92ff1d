//! `POST /api/resource/history/query` on both backends: hours, OU % and AVAIL % against figures
//! computed here, independently (minute by minute, on the test's own shift-day arithmetic),
//! from spans the test inserts in a window the seeded factory leaves empty — at day, week,
//! month and year boundaries and across the 07:30 shift-day edge; the filters and their
//! combinations; a long range that runs as a job, whose CSV has as many rows as its total.
//! And the maintenance job query: jobs of chosen tools, their transactions, the tool search.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration as Wait, Instant};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    hours_and_ratios_match_the_spans_at_every_granularity,
    filters_choose_tools_by_their_attributes,
    a_long_range_runs_as_a_job_whose_csv_has_every_row,
    the_job_query_lists_jobs_of_chosen_tools_with_their_transactions,
);

const STATES: [&str; 6] = ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"];

fn taipei() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
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

/// (tool, workcenter, family, location, package group, production, key, monitored)
type Tool = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
);

const TOOLS: [Tool; 3] = [
    ("RH-T1", "RHWC1", "F-A", "L1", "PG1", true, true, false),
    ("RH-T2", "RHWC1", "F-B", "L2", "PG2", true, false, false),
    ("RH-T3", "RHWC2", "F-A", "L1", "PG1", false, false, true),
];

fn group_of(workcenter: &str) -> &'static str {
    if workcenter == "RHWC1" {
        "RH-G1"
    } else {
        "RH-G2"
    }
}

/// (tool, state, start, end)
type Span = (
    &'static str,
    &'static str,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Around shift days 2019-12-30 (a Monday) … 2020-01-06: a week, month and year edge, spans
/// turning at 07:29, 07:30 and 07:31, one open since before the range, one still open.
fn spans() -> Vec<Span> {
    vec![
        (
            "RH-T1",
            "PRD",
            local(2019, 12, 29, 6, 0),
            Some(local(2019, 12, 31, 7, 29)),
        ),
        (
            "RH-T1",
            "SBY",
            local(2019, 12, 31, 7, 29),
            Some(local(2019, 12, 31, 7, 31)),
        ),
        (
            "RH-T1",
            "UDT",
            local(2019, 12, 31, 7, 31),
            Some(local(2020, 1, 1, 12, 0)),
        ),
        (
            "RH-T1",
            "NST",
            local(2020, 1, 1, 12, 0),
            Some(local(2020, 1, 2, 7, 30)),
        ),
        (
            "RH-T1",
            "PRD",
            local(2020, 1, 2, 7, 30),
            Some(local(2020, 1, 5, 10, 0)),
        ),
        (
            "RH-T1",
            "EGT",
            local(2020, 1, 5, 10, 0),
            Some(local(2020, 1, 9, 0, 0)),
        ),
        (
            "RH-T2",
            "SBY",
            local(2019, 12, 20, 0, 0),
            Some(local(2020, 1, 3, 0, 0)),
        ),
        (
            "RH-T2",
            "PRD",
            local(2020, 1, 3, 0, 0),
            Some(local(2020, 3, 1, 0, 0)),
        ),
        (
            "RH-T3",
            "EGT",
            local(2019, 12, 31, 7, 0),
            Some(local(2019, 12, 31, 8, 0)),
        ),
        (
            "RH-T3",
            "SDT",
            local(2019, 12, 31, 8, 0),
            Some(local(2020, 1, 1, 7, 30)),
        ),
        (
            "RH-T3",
            "PRD",
            local(2020, 1, 1, 7, 30),
            Some(local(2020, 1, 4, 19, 30)),
        ),
        ("RH-T3", "UDT", local(2020, 1, 4, 19, 30), None),
    ]
}

pub async fn insert(url: &str) {
    let db = Database::connect_lazy(&Settings::for_tests(url, &[])).unwrap();
    let since = local(2020, 1, 1, 0, 0);
    for (wc, group, seq) in [("RHWC1", "RH-G1", 901), ("RHWC2", "RH-G2", 902)] {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
                "INSERT INTO workcenters (workcenter_id, name, sequence, workcenter_group) \
             VALUES ($1, $1, $2, $3)",
            )
            .bind(wc)
            .bind(seq)
            .bind(group)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })
        .expect("a workcenter");
    }
    for (id, wc, family, location, pg, production, key, monitored) in TOOLS {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
            "INSERT INTO equipment (equipment_id, workcenter_id, model, e10_state, state_since, \
             updated_at, family, location, package_group, vendor, is_production, is_key, \
             is_monitored) VALUES ($1, $2, $3, 'PRD', $4, $4, $3, $5, $6, 'V', $7, $8, $9)"
        )
        .bind(id)
        .bind(wc)
        .bind(family)
        .bind(since)
        .bind(location)
        .bind(pg)
        .bind(production)
        .bind(key)
        .bind(monitored)
        .execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .expect("a tool");
    }
    for (tool, state, start, end) in spans() {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
            "INSERT INTO equipment_state_history (equipment_id, e10_state, started_at, ended_at) \
             VALUES ($1, $2, $3, $4)"
        )
        .bind(tool)
        .bind(state)
        .bind(start)
        .bind(end)
        .execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .expect("a span");
    }
    db.close().await;
}

/// The period a shift day belongs to, as the API names it.
fn period(day: NaiveDate, granularity: &str) -> String {
    match granularity {
        "day" => day.format("%Y-%m-%d").to_string(),
        "week" => {
            let w = day.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        "month" => day.format("%Y-%m").to_string(),
        _ => day.format("%Y").to_string(),
    }
}

/// Seconds per (period, tool, state), minute by minute over shift days `from..=to`.
fn expected(
    from: NaiveDate,
    to: NaiveDate,
    granularity: &str,
    tools: &[&str],
) -> BTreeMap<(String, &'static str), [f64; 6]> {
    let mut out: BTreeMap<(String, &'static str), [f64; 6]> = BTreeMap::new();
    for (tool, state, start, end) in spans() {
        if !tools.contains(&tool) {
            continue;
        }
        let end = end.unwrap_or(local(2020, 6, 1, 0, 0));
        let s = STATES.iter().position(|x| *x == state).unwrap();
        let mut t = start;
        while t < end {
            let day = shift_day(t);
            if day >= from && day <= to {
                out.entry((period(day, granularity), tool)).or_default()[s] += 60.0;
            }
            t += Duration::minutes(1);
        }
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Hours (rounded), OU % and AVAIL % of seconds per state, as PRODUCT §2 defines them.
fn figures(s: &[f64; 6]) -> (Vec<f64>, Option<f64>, Option<f64>) {
    let h: Vec<f64> = s.iter().map(|x| x / 3600.0).collect();
    let ops = h[0] + h[1] + h[2] + h[3] + h[4];
    let all = ops + h[5];
    let ou = (ops > 0.0).then(|| round2(h[0] / ops * 100.0));
    let avail = (all > 0.0).then(|| round2((h[0] + h[1] + h[4]) / all * 100.0));
    (h.iter().map(|x| round2(*x)).collect(), ou, avail)
}

fn close(a: &Value, b: Option<f64>, what: &str) {
    match b {
        None => assert!(a.is_null(), "{what}: {a} should be null"),
        Some(b) => {
            let a = a
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: {a} is no number"));
            assert!((a - b).abs() <= 0.011, "{what}: {a} != {b}");
        }
    }
}

fn assert_figures(got: &Value, want: &[f64; 6], what: &str) {
    let (hours, ou, avail) = figures(want);
    for (state, h) in STATES.iter().zip(&hours) {
        close(
            &got["hours"][state.to_lowercase()],
            Some(*h),
            &format!("{what} {state}"),
        );
    }
    close(&got["ou_pct"], ou, &format!("{what} OU"));
    close(&got["avail_pct"], avail, &format!("{what} AVAIL"));
}

async fn query(app: &TestApp, body: Value) -> (u16, Value) {
    json(
        app.post_json_with_csrf("/api/resource/history/query", &body)
            .await,
    )
    .await
}

const BOTH_GROUPS: &str = "RH-G1,RH-G2";

async fn hours_and_ratios_match_the_spans_at_every_granularity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(&app.database_url()).await;
    app.login_as_user().await;
    let (from, to) = (
        NaiveDate::from_ymd_opt(2019, 12, 30).unwrap(),
        NaiveDate::from_ymd_opt(2020, 1, 6).unwrap(),
    );
    let all = ["RH-T1", "RH-T2", "RH-T3"];
    let labels = |g: &str| -> Vec<String> {
        match g {
            "day" => (0..8)
                .map(|i| (from + Duration::days(i)).to_string())
                .collect(),
            "week" => vec!["2020-W01".into(), "2020-W02".into()],
            "month" => vec!["2019-12".into(), "2020-01".into()],
            _ => vec!["2019".into(), "2020".into()],
        }
    };

    for granularity in ["day", "week", "month", "year"] {
        let (status, body) = query(
            &app,
            json!({"from": "2019-12-30", "to": "2020-01-06", "granularity": granularity,
                   "workcenter_group": BOTH_GROUPS}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let data = &body["data"];
        let want = expected(from, to, granularity, &all);

        // Per period: the sum over the tools.
        let series = data["series"].as_array().unwrap();
        let got_labels: Vec<&str> = series
            .iter()
            .map(|s| s["period"].as_str().unwrap())
            .collect();
        assert_eq!(got_labels, labels(granularity), "{granularity}");
        let mut total = [0.0; 6];
        for s in series {
            let label = s["period"].as_str().unwrap();
            let mut sum = [0.0; 6];
            for ((p, _), secs) in &want {
                if p == label {
                    for i in 0..6 {
                        sum[i] += secs[i];
                    }
                }
            }
            assert_figures(s, &sum, &format!("{granularity} {label}"));
            for i in 0..6 {
                total[i] += sum[i];
            }
        }
        // The KPIs: the whole range.
        assert_figures(&data["kpi"], &total, &format!("{granularity} KPI"));
        assert_eq!(data["kpi"]["tools"], 3);

        // Per tool (the rows) and per group.
        let rows = data["detail"]["rows"].as_array().unwrap();
        assert_eq!(data["detail"]["total"], 3);
        for (tool, wc, family, ..) in TOOLS {
            let row = rows.iter().find(|r| r["equipment_id"] == tool).unwrap();
            assert_eq!(row["workcenter_group"], group_of(wc));
            assert_eq!(row["family"], family);
            let mut sum = [0.0; 6];
            for ((_, t), secs) in &want {
                if *t == tool {
                    for i in 0..6 {
                        sum[i] += secs[i];
                    }
                }
            }
            let (hours, ou, avail) = figures(&sum);
            for (state, h) in STATES.iter().zip(&hours) {
                close(
                    &row[format!("{}_hours", state.to_lowercase())],
                    Some(*h),
                    tool,
                );
            }
            close(&row["ou_pct"], ou, tool);
            close(&row["avail_pct"], avail, tool);
        }
        let groups = data["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0]["workcenter_group"], "RH-G1");
        assert_eq!(groups[0]["tools"], 2);
        assert_eq!(groups[0]["families"].as_array().unwrap().len(), 2);
        let heat = &data["heatmap"];
        assert_eq!(heat["rows"], json!(["RH-G1", "RH-G2"]));
        assert_eq!(
            heat["columns"].as_array().unwrap().len(),
            labels(granularity).len()
        );
        // The charts, drawn in the reader's language, with their tables.
        for chart in ["trend", "hours", "groups", "heatmap"] {
            let svg = data["charts"][chart]["svg"].as_str().unwrap();
            assert!(
                svg.starts_with("<svg") && !svg.contains("style="),
                "{chart}"
            );
            assert!(
                data["charts"][chart]["table"]
                    .as_str()
                    .unwrap()
                    .contains("<table")
            );
        }
    }

    // The 07:30 edge, spelled out: T1's two SBY minutes 07:29–07:31 on 2019-12-31 fall one in
    // shift day 12-31 and one in 01-01.
    let (_, body) = query(
        &app,
        json!({"from": "2019-12-31", "to": "2020-01-01", "tool": "RH-T1"}),
    )
    .await;
    let series = &body["data"]["series"];
    close(
        &series[0]["hours"]["sby"],
        Some(round2(1.0 / 60.0)),
        "12-31 SBY",
    );
    close(
        &series[1]["hours"]["sby"],
        Some(round2(1.0 / 60.0)),
        "01-01 SBY",
    );
    // Shift day 01-01 (12-31 07:30 to 01-01 07:30): UDT from 07:31; NST from 01-01 12:00 is
    // the next shift day's.
    close(
        &series[1]["hours"]["udt"],
        Some(round2(1439.0 / 60.0)),
        "01-01 UDT",
    );
    close(&series[1]["hours"]["nst"], Some(0.0), "01-01 NST");
    // AVAIL counts every hour (NST too) in its base; OU only the scheduled ones.
    close(
        &series[1]["avail_pct"],
        Some(round2(1.0 / 60.0 / 24.0 * 100.0)),
        "01-01 AVAIL",
    );
    close(&series[1]["ou_pct"], Some(0.0), "01-01 OU");
}

async fn tools_of(app: &TestApp, filter: Value) -> BTreeSet<String> {
    let mut body = json!({"from": "2019-12-30", "to": "2020-01-06",
                          "workcenter_group": BOTH_GROUPS});
    for (k, v) in filter.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, answer) = query(app, body).await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["detail"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["equipment_id"].as_str().unwrap().to_string())
        .collect()
}

async fn filters_choose_tools_by_their_attributes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(&app.database_url()).await;
    app.login_as_user().await;
    let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    let cases = [
        (json!({}), set(&["RH-T1", "RH-T2", "RH-T3"])),
        (
            json!({"workcenter_group": "RH-G1"}),
            set(&["RH-T1", "RH-T2"]),
        ),
        (json!({"location": "L1"}), set(&["RH-T1", "RH-T3"])),
        (json!({"family": "F-B"}), set(&["RH-T2"])),
        (
            json!({"package_group": "PG1,PG2"}),
            set(&["RH-T1", "RH-T2", "RH-T3"]),
        ),
        (json!({"key": true}), set(&["RH-T1"])),
        (json!({"production": "false"}), set(&["RH-T3"])),
        (
            json!({"monitored": "true", "location": "L1"}),
            set(&["RH-T3"]),
        ),
        (
            json!({"family": "F-A", "location": "L1", "production": true}),
            set(&["RH-T1"]),
        ),
        (json!({"tool": "RH-T2, RH-T3"}), set(&["RH-T2", "RH-T3"])),
        (json!({"location": "L2", "key": true}), set(&[])),
    ];
    for (filter, want) in cases {
        assert_eq!(tools_of(&app, filter.clone()).await, want, "{filter}");
    }
    // A filter's figures are those of its tools alone.
    let (_, body) = query(
        &app,
        json!({"from": "2019-12-30", "to": "2020-01-06", "location": "L2",
               "workcenter_group": BOTH_GROUPS}),
    )
    .await;
    let want = expected(
        NaiveDate::from_ymd_opt(2019, 12, 30).unwrap(),
        NaiveDate::from_ymd_opt(2020, 1, 6).unwrap(),
        "year",
        &["RH-T2"],
    );
    let mut sum = [0.0; 6];
    for secs in want.values() {
        for i in 0..6 {
            sum[i] += secs[i];
        }
    }
    assert_figures(&body["data"]["kpi"], &sum, "L2");

    // Bad fields are named.
    for (body, field) in [
        (
            json!({"from": "2020-01-01", "to": "2020-01-02", "granularity": "hour"}),
            "granularity",
        ),
        (
            json!({"from": "2020-01-01", "to": "2020-01-02", "key": "maybe"}),
            "key",
        ),
        (
            json!({"from": "2020-01-01", "to": "2020-01-02", "location": "A\u{1}"}),
            "location",
        ),
        (json!({"from": "2020-01-03", "to": "2020-01-02"}), "to"),
        (json!({"to": "2020-01-02"}), "from"),
    ] {
        let (status, answer) = query(&app, body).await;
        assert_error(status, &answer, 400, "VALIDATION_ERROR");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("{field}:")), "{message}");
    }
}

async fn a_long_range_runs_as_a_job_whose_csv_has_every_row(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("ASYNC_QUERY_DAYS", "30")
        .start()
        .await;
    insert(&app.database_url()).await;
    app.login_as_user().await;
    let body = json!({"from": "2019-12-01", "to": "2020-01-31", "granularity": "week",
                      "workcenter_group": BOTH_GROUPS, "page_size": 2});

    let (status, accepted) = query(&app, body).await;

    assert_eq!(status, 202, "{accepted}");
    let status_url = accepted["data"]["status_url"].as_str().unwrap().to_string();
    let result_url = accepted["data"]["result_url"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Wait::from_secs(60);
    loop {
        let (_, job) = json(app.get(&status_url).await).await;
        match job["data"]["state"].as_str().unwrap() {
            "done" => break,
            "queued" | "running" => {}
            other => panic!("the job ended {other}: {job}"),
        }
        assert!(Instant::now() < deadline, "the job did not finish: {job}");
        tokio::time::sleep(Wait::from_millis(100)).await;
    }
    let (status, page) = json(app.get(&format!("{result_url}?page_size=2&page=2")).await).await;
    assert_eq!(status, 200, "{page}");
    let data = &page["data"];
    assert_eq!(data["detail"]["total"], 3);
    assert_eq!(data["detail"]["rows"].as_array().unwrap().len(), 1);
    assert_eq!(data["detail"]["rows"][0]["equipment_id"], "RH-T3");
    assert_eq!(data["window"]["days"], 62);
    let want = expected(
        NaiveDate::from_ymd_opt(2019, 12, 1).unwrap(),
        NaiveDate::from_ymd_opt(2020, 1, 31).unwrap(),
        "year",
        &["RH-T1", "RH-T2", "RH-T3"],
    );
    let mut sum = [0.0; 6];
    for secs in want.values() {
        for i in 0..6 {
            sum[i] += secs[i];
        }
    }
    assert_figures(&data["kpi"], &sum, "job KPI");
    // The charts come with the first page only.
    assert!(data["charts"].is_null());
    let (_, first) = json(app.get(&format!("{result_url}?page_size=2")).await).await;
    assert!(
        first["data"]["charts"]["heatmap"]["svg"]
            .as_str()
            .unwrap()
            .starts_with("<svg")
    );
    assert_eq!(first["data"]["detail"]["rows"][0]["equipment_id"], "RH-T1");

    // The CSV: a BOM, the header in the reader's language, one line per tool.
    let response = app.get(&format!("{result_url}?format=csv")).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'));
    let lines: Vec<&str> = text.trim_end().lines().collect();
    assert_eq!(lines.len() - 1, 3, "{text}");
    assert!(lines[0].contains("站點群組"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("RH-G1,F-A,RH-T1,RHWC1,L1,PG1,"),
        "{}",
        lines[1]
    );
}

pub async fn insert_jobs(url: &str) {
    let db = Database::connect_lazy(&Settings::for_tests(url, &[])).unwrap();
    let jobs = [
        (
            "RHJ1",
            "RH-T1",
            local(2020, 1, 1, 8, 0),
            Some(local(2020, 1, 1, 12, 0)),
        ),
        ("RHJ2", "RH-T1", local(2020, 1, 4, 20, 0), None),
        (
            "RHJ3",
            "RH-T2",
            local(2020, 1, 2, 9, 0),
            Some(local(2020, 1, 2, 10, 0)),
        ),
        // Completed before the range: not listed.
        (
            "RHJ4",
            "RH-T1",
            local(2019, 11, 1, 9, 0),
            Some(local(2019, 11, 2, 9, 0)),
        ),
    ];
    for (id, tool, created, completed) in jobs {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
            "INSERT INTO maintenance_jobs (job_id, job_order, status, stage, equipment_id, model, \
             created_at, completed_at, symptom_code, cause_code, repair_code, technician) \
             VALUES ($1, 'CM' || $1, $2, '報修', $3, 'F-A', $4, $5, 'S01', 'C02', 'R03', '王小明')"
        )
        .bind(id)
        .bind(if completed.is_some() { "DONE" } else { "OPEN" })
        .bind(tool)
        .bind(created)
        .bind(completed)
        .execute(&mut *c).await.map(|r| r.rows_affected())
        })
        .expect("a job");
    }
    for (job, at, status, note) in [
        ("RHJ1", local(2020, 1, 1, 8, 0), "OPEN", "報修"),
        ("RHJ1", local(2020, 1, 1, 9, 0), "IN_PROGRESS", "更換零件"),
        ("RHJ1", local(2020, 1, 1, 12, 0), "DONE", "機台恢復，結案"),
    ] {
        mes_dashboard::with_conn!(&db.request, |c| async {
            sqlx::query(
                "INSERT INTO maintenance_job_transactions (job_id, changed_at, status, stage, \
             changed_by, note) VALUES ($1, $2, $3, NULL, 'tech', $4)",
            )
            .bind(job)
            .bind(at)
            .bind(status)
            .bind(note)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })
        .expect("a transaction");
    }
    db.close().await;
}

async fn the_job_query_lists_jobs_of_chosen_tools_with_their_transactions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(&app.database_url()).await;
    insert_jobs(&app.database_url()).await;
    app.login_as_user().await;

    let (status, body) = json(
        app.post_json_with_csrf(
            "/api/jobs-maintenance/query",
            &json!({"tools": ["RH-T1"], "from": "2019-12-30", "to": "2020-01-06"}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200, "{body}");
    let jobs = body["data"]["jobs"].as_array().unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j["job_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["RHJ1", "RHJ2"]);
    assert_eq!(body["data"]["total"], 2);
    let first = &jobs[0];
    for (field, value) in [
        ("job_order", "CMRHJ1"),
        ("status", "DONE"),
        ("model", "F-A"),
        ("stage", "報修"),
        ("equipment_id", "RH-T1"),
        ("symptom_code", "S01"),
        ("cause_code", "C02"),
        ("repair_code", "R03"),
        ("technician", "王小明"),
    ] {
        assert_eq!(first[field], value, "{field}");
    }
    assert!(first["created_at"].is_string() && jobs[1]["completed_at"].is_null());

    // Two tools, as a comma list in the URL; and the CSV of the same query.
    let (_, both) = json(
        app.get("/api/jobs-maintenance/query?tools=RH-T1,RH-T2&from=2019-12-30&to=2020-01-06")
            .await,
    )
    .await;
    assert_eq!(both["data"]["total"], 3, "{both}");
    let csv = app
        .get("/api/jobs-maintenance/query?tools=RH-T1,RH-T2&from=2019-12-30&to=2020-01-06&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.trim_end().lines().count(), 1 + 3, "{csv}");

    // A job's transactions, in order.
    let (status, tx) = json(app.get("/api/jobs-maintenance/RHJ1/transactions").await).await;
    assert_eq!(status, 200, "{tx}");
    let notes: Vec<&str> = tx["data"]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["報修", "更換零件", "機台恢復，結案"]);
    let (status, body) = json(app.get("/api/jobs-maintenance/NOPE/transactions").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // The tool search: matching ids, any case, at most 50.
    let (status, found) = json(app.get("/api/jobs-maintenance/tools?q=rh-t").await).await;
    assert_eq!(status, 200, "{found}");
    let mut ids: Vec<&str> = found["data"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    ids.sort_unstable();
    // The snapshot may not have read the inserted tools yet: what it lists matches.
    assert!(ids.iter().all(|id| id.starts_with("RH-T")), "{ids:?}");
    let (_, every) = json(app.get("/api/jobs-maintenance/tools?q=").await).await;
    assert!(every["data"]["tools"].as_array().unwrap().len() <= 50);

    // Bad input is named.
    for (body, field) in [
        (
            json!({"tools": [], "from": "2020-01-01", "to": "2020-01-02"}),
            "tools",
        ),
        (
            json!({"tools": ["RH-T1"], "from": "2020-13-01", "to": "2020-01-02"}),
            "from",
        ),
        (
            json!({"tools": ["RH-T1"], "from": "2019-01-01", "to": "2020-12-31"}),
            "to",
        ),
    ] {
        let (status, answer) = json(
            app.post_json_with_csrf("/api/jobs-maintenance/query", &body)
                .await,
        )
        .await;
        assert_error(status, &answer, 400, "VALIDATION_ERROR");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("{field}:")), "{message}");
    }
}

/// PostgreSQL sums the spans in SQL; SQLite streams them and splits them here. On the same
/// PostgreSQL data (the seeded factory's last days and the boundary spans above, an open span
/// among them) both give the same report, to the last digit, at every granularity, for every
/// tool and for a few listed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summing_in_sql_and_streaming_agree() {
    if crate::helpers::postgres_url("summing_in_sql_and_streaming_agree").is_none() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    insert(&app.database_url()).await;
    let db = Database::connect_lazy(&Settings::for_tests(&app.database_url(), &[])).unwrap();
    let now = Utc::now();
    let today = (now.with_timezone(&taipei()).date_naive() + Duration::days(1)).to_string();
    let recent = (now.with_timezone(&taipei()).date_naive() - Duration::days(4)).to_string();
    let ranges = [
        (recent.as_str(), today.as_str()),
        ("2019-12-28", "2020-01-07"),
    ];
    assert_summing_agrees(&db, now, &ranges, "spans", true).await;
    db.close().await;
}

/// The report summed in PostgreSQL (the rollup where it holds the days) and streamed from the
/// spans over each of `ranges`, at every granularity, for every tool and for two listed ones:
/// equal to the last digit. With `require_data`, each report must also count tools and hours
/// (two empty reports agree whatever the code does).
async fn assert_summing_agrees(
    db: &Database,
    now: DateTime<Utc>,
    ranges: &[(&str, &str)],
    what: &str,
    require_data: bool,
) {
    use mes_dashboard::jobs::JobContext;
    use mes_dashboard::resource_history::{
        HistoryQuery, RawFilter, RawQuery, Summing, compute_with,
    };
    let clock = plant_clock();
    for &(from, to) in ranges {
        for granularity in ["day", "week", "month", "year"] {
            for tool in [None, Some("RH-T1,RH-T3")] {
                let raw = RawQuery {
                    from: Some(from),
                    to: Some(to),
                    granularity: Some(granularity),
                    filter: RawFilter {
                        tool,
                        ..RawFilter::default()
                    },
                };
                let q = HistoryQuery::resolve(&raw, &clock).unwrap();
                let ctx = JobContext::detached();
                let in_sql = compute_with(&db.slow, &clock, &q, &ctx, Summing::InDatabase, now)
                    .await
                    .unwrap();
                let streamed = compute_with(&db.slow, &clock, &q, &ctx, Summing::Streamed, now)
                    .await
                    .unwrap();
                let what = format!("{what}: {from}..{to} by {granularity}, tools {tool:?}");
                if require_data {
                    assert!(
                        in_sql["kpi"]["tools"].as_u64().unwrap() > 0,
                        "{what}: no tools"
                    );
                    let hours: f64 = STATES
                        .iter()
                        .map(|s| in_sql["kpi"]["hours"][s.to_lowercase()].as_f64().unwrap())
                        .sum();
                    assert!(hours > 0.0, "{what}: no hours");
                }
                assert_eq!(in_sql, streamed, "{what}");
            }
        }
    }
}

fn plant_clock() -> mes_dashboard::hold_history::PlantClock {
    mes_dashboard::hold_history::PlantClock::new(
        chrono_tz::Asia::Taipei,
        chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
    )
}

/// Rolls up every settled day at `now` (another roll-up holding the lock: again).
async fn roll_up_everything(db: &Database, now: DateTime<Utc>) {
    use mes_dashboard::db::rollup::{Rolled, roll_up};
    for _ in 0..10_000 {
        match roll_up(&db.slow, &plant_clock(), now).await.unwrap() {
            Rolled::UpToDate => return,
            Rolled::Days { .. } => {}
            Rolled::Skipped => tokio::time::sleep(Wait::from_millis(20)).await,
        }
    }
    panic!("the rollup never caught up");
}

/// (rolled_before, stale_from) of the rollup's state row.
async fn rollup_state(db: &Database) -> (Option<NaiveDate>, Option<DateTime<Utc>>) {
    mes_dashboard::with_conn!(&db.request, |c| sqlx::query_as::<
        _,
        (Option<NaiveDate>, Option<DateTime<Utc>>),
    >(
        "SELECT rolled_before, stale_from FROM equipment_state_rollup WHERE id = 1"
    )
    .fetch_one(&mut *c))
    .unwrap()
}

/// The rollup's microseconds per state of one tool and shift day (zeros: no row).
async fn rolled_day(db: &Database, tool: &str, day: NaiveDate) -> [i64; 6] {
    let row = mes_dashboard::with_conn!(&db.request, |c| sqlx::query_as::<
        _,
        (i64, i64, i64, i64, i64, i64),
    >(
        "SELECT prd_us, sby_us, udt_us, sdt_us, egt_us, nst_us FROM equipment_state_daily \
         WHERE equipment_id = $1 AND shift_day = $2"
    )
    .bind(tool)
    .bind(day)
    .fetch_optional(&mut *c))
    .unwrap();
    row.map_or([0; 6], |r| [r.0, r.1, r.2, r.3, r.4, r.5])
}

/// The report summed in PostgreSQL (the rollup where it holds the days) and streamed from
/// the spans, at every granularity over the boundary spans' range and over the last days
/// (the rollup's end falls inside them): equal to the last digit.
async fn assert_rollup_and_spans_agree(db: &Database, now: DateTime<Utc>, what: &str) {
    let today = plant_clock().shift_day(now);
    let (recent, today) = ((today - Duration::days(40)).to_string(), today.to_string());
    let ranges = [
        ("2019-12-28", "2020-02-03"),
        (recent.as_str(), today.as_str()),
    ];
    assert_summing_agrees(db, now, &ranges, what, false).await;
}

/// Hours of one tool per state over shift days `from..=to`, summed by PostgreSQL.
async fn tool_hours(db: &Database, now: DateTime<Utc>, tool: &str, from: &str, to: &str) -> Value {
    use mes_dashboard::jobs::JobContext;
    use mes_dashboard::resource_history::{
        HistoryQuery, RawFilter, RawQuery, Summing, compute_with,
    };
    let raw = RawQuery {
        from: Some(from),
        to: Some(to),
        granularity: Some("day"),
        filter: RawFilter {
            tool: Some(tool),
            ..RawFilter::default()
        },
    };
    let q = HistoryQuery::resolve(&raw, &plant_clock()).unwrap();
    let report = compute_with(
        &db.slow,
        &plant_clock(),
        &q,
        &JobContext::detached(),
        Summing::InDatabase,
        now,
    )
    .await
    .unwrap();
    report["kpi"]["hours"].clone()
}

/// The per-day rollup (PostgreSQL): its rows are the spans' time per shift day (computed here
/// minute by minute), across the 07:30 edge and period boundaries, with a span still open;
/// the report read from it equals the spans streamed; a span closed back inside the rolled
/// days marks the rollup stale at once (the report right), and the next roll-up recomputes
/// those days; a span closed after them leaves it as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_rollup_gives_the_figures_of_the_spans() {
    if crate::helpers::postgres_url("the_daily_rollup_gives_the_figures_of_the_spans").is_none() {
        return;
    }
    // No app: nothing rolls up but this test.
    let test_db = crate::helpers::TestDb::new(Backend::Postgres).await;
    crate::helpers::seed_database(&test_db.url, &crate::helpers::small_factory()).await;
    insert(&test_db.url).await;
    let db = Database::connect_lazy(&Settings::for_tests(&test_db.url, &[])).unwrap();
    let clock = plant_clock();
    let now = Utc::now();

    roll_up_everything(&db, now).await;

    let settled = clock.shift_day(now - mes_dashboard::db::rollup::SETTLE);
    assert_eq!(rollup_state(&db).await, (Some(settled), None));
    // Every day of the boundary spans, each tool: the rollup's row is the minute count.
    let (from, to) = (
        NaiveDate::from_ymd_opt(2019, 12, 28).unwrap(),
        NaiveDate::from_ymd_opt(2020, 2, 3).unwrap(),
    );
    let want = expected(from, to, "day", &["RH-T1", "RH-T2", "RH-T3"]);
    for day in from.iter_days().take_while(|d| *d <= to) {
        for tool in ["RH-T1", "RH-T2", "RH-T3"] {
            let seconds = want
                .get(&(day.to_string(), tool))
                .copied()
                .unwrap_or_default();
            let micros = seconds.map(|s| (s as i64) * 1_000_000);
            assert_eq!(rolled_day(&db, tool, day).await, micros, "{tool} {day}");
        }
    }
    // The open UDT span of RH-T3 (since 2020-01-04 19:30): every later day whole.
    let whole = 86_400 * 1_000_000;
    assert_eq!(
        rolled_day(&db, "RH-T3", NaiveDate::from_ymd_opt(2020, 3, 1).unwrap()).await,
        [0, 0, whole, 0, 0, 0]
    );
    assert_rollup_and_spans_agree(&db, now, "rolled up").await;

    // RH-T3 back up on 2020-01-05 12:00 (a late correction): stale from then, at once.
    let closed = local(2020, 1, 5, 12, 0);
    assert!(
        mes_dashboard::db::tools::set_tool_state(&db.request, "RH-T3", "SBY", None, closed)
            .await
            .unwrap()
    );
    assert_eq!(rollup_state(&db).await, (Some(settled), Some(closed)));
    // Shift day 2020-01-06 runs from 01-05 07:30: 4.5 h down, then 19.5 h standby.
    let hours = tool_hours(&db, now, "RH-T3", "2020-01-06", "2020-01-06").await;
    assert_eq!(
        (hours["udt"].clone(), hours["sby"].clone()),
        (json!(4.5), json!(19.5))
    );
    assert_rollup_and_spans_agree(&db, now, "stale").await;

    // The next roll-up recomputes from that day.
    roll_up_everything(&db, now).await;
    assert_eq!(rollup_state(&db).await, (Some(settled), None));
    let (udt, sby) = (4 * 3_600 + 1_800, 19 * 3_600 + 1_800);
    assert_eq!(
        rolled_day(&db, "RH-T3", NaiveDate::from_ymd_opt(2020, 1, 6).unwrap()).await,
        [0, sby * 1_000_000, udt * 1_000_000, 0, 0, 0]
    );
    assert_eq!(
        rolled_day(&db, "RH-T3", NaiveDate::from_ymd_opt(2020, 3, 1).unwrap()).await,
        [0, whole, 0, 0, 0, 0]
    );
    assert_rollup_and_spans_agree(&db, now, "rolled up again").await;

    // A span closed after the rolled days (now): the rollup stays final.
    let later = Utc::now();
    assert!(
        mes_dashboard::db::tools::set_tool_state(&db.request, "RH-T3", "PRD", None, later)
            .await
            .unwrap()
    );
    assert_eq!(rollup_state(&db).await, (Some(settled), None));
    assert_rollup_and_spans_agree(&db, later, "closed after").await;
    db.close().await;
}
