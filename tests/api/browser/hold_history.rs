//! The hold history page in a real browser: today mode follows a new hold without a reload; a
//! long range runs as a job showing its progress and can be cancelled; a result that expired
//! runs the query again; a duration bucket and a trend day filter the detail table (not the
//! figures), and the CSV has as many rows as the result API's total for the same filter.
//! Every page is checked for script errors and CSP violations.

use chrono::Utc;
use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::db::hold_events::{self, NewHold};
use mes_dashboard::with_conn;
use serde_json::{Value, json};

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};

async fn api(app: &BrowserApp, path: &str) -> Value {
    let (status, body) = json(app.fetch_path(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

/// Waits until the figures of a job and its detail are shown; the job id and the detail's
/// total.
async fn shown(app: &BrowserApp) -> (String, u64) {
    let seen = app
        .wait_for_js(
            "the figures and the detail",
            DEADLINE,
            "var f = document.getElementById('figures'); \
             var b = document.getElementById('history-rows'); \
             var c = document.getElementById('lots-count'); \
             return f.getAttribute('data-job') && document.getElementById('cards') \
               && b.getAttribute('data-loaded') === 'true' \
               ? [f.getAttribute('data-job'), c.getAttribute('data-total')] : null;",
            vec![],
        )
        .await;
    (
        seen[0].as_str().unwrap().to_string(),
        seen[1].as_str().unwrap().parse().unwrap(),
    )
}

/// Waits until the detail shows the answer of its latest read; its total.
async fn detail_total(app: &BrowserApp) -> u64 {
    let total = app
        .wait_for_js(
            "the detail",
            DEADLINE,
            "var b = document.getElementById('history-rows'); \
             return b.getAttribute('data-loaded') === 'true' \
               ? document.getElementById('lots-count').getAttribute('data-total') : null;",
            vec![],
        )
        .await;
    total.as_str().unwrap().parse().unwrap()
}

fn csv_rows(bytes: &[u8]) -> usize {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    csv::Reader::from_reader(&bytes[3..]).records().count()
}

/// The digits of a number as a page shows it.
fn number(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number: {text:?}"))
}

async fn database(app: &BrowserApp) -> Database {
    Database::connect_lazy(&Settings::for_tests(&app.app.database_url(), &[]))
        .expect("database settings")
}

/// Clicks the chart shape with `data-filter-<name>` = `value` (an SVG element: a dispatched
/// click, as a person's reaches the page's listener).
async fn click_shape(app: &BrowserApp, name: &str, value: &str) {
    let clicked = app
        .js(
            "var s = document.querySelector('#figures [data-filter-' + arguments[0] + '=\"' \
               + arguments[1] + '\"]'); \
             if (!s) { return false; } \
             s.dispatchEvent(new MouseEvent('click', {bubbles: true})); return true;",
            vec![json!(name), json!(value)],
        )
        .await;
    assert_eq!(clicked, json!(true), "a shape with {name} = {value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_mode_shows_a_new_hold_without_a_reload() {
    let builder = TestApp::builder(Backend::Sqlite).env("CACHE_CHECK_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    app.open("/hold-history?mode=today").await;
    let (job, total) = shown(&app).await;
    let new_holds = number(&app.text_of("#card-new").await);
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;
    app.assert_no_page_problems().await;

    // A lot goes on hold now: a new hold event today, and a new WIP snapshot.
    let lot = app
        .factory()
        .lots
        .iter()
        .find(|l| l.hold_at.is_none())
        .expect("a lot not on hold")
        .lot_id
        .clone();
    let db = database(&app).await;
    let held = hold_events::hold_lot(
        &db.request,
        &NewHold {
            lot_id: &lot,
            reason: Some("外觀不良"),
            at: Utc::now(),
            by: "qa",
            department: None,
            comment: None,
            future_hold: false,
            future_hold_comment: None,
        },
    )
    .await
    .expect("hold the lot");
    assert!(held);
    db.close().await;

    app.wait_for_js(
        "the card and the table count the new hold",
        DEADLINE,
        "var n = document.getElementById('card-new'); \
         var b = document.getElementById('history-rows'); \
         var c = document.getElementById('lots-count'); \
         return n && n.textContent.replace(/\\D/g, '') === String(arguments[0]) \
           && b.getAttribute('data-loaded') === 'true' \
           && c.getAttribute('data-total') === String(arguments[1]);",
        vec![json!(new_holds + 1), json!(total + 1)],
    )
    .await;
    let after = app
        .js(
            "return [window.__mesMark || null, \
             document.getElementById('figures').getAttribute('data-job'), \
             document.querySelector('#history-rows tr[data-lot=\"' + arguments[0] + '\"]') !== null];",
            vec![json!(lot)],
        )
        .await;
    assert_eq!(after[0], "not reloaded", "updated in place: {after}");
    assert_ne!(after[1], json!(job), "a new query's figures");
    assert_eq!(after[2], true, "the newest hold heads the table: {after}");
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_range_shows_its_progress_and_can_be_cancelled() {
    // Every range of 2 shift days or more is a background job here.
    let builder = TestApp::builder(Backend::Sqlite).env("ASYNC_QUERY_DAYS", "2");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    // The job waits at each checkpoint long enough for a person to cancel it.
    app.app
        .state()
        .jobs
        .pause_at_checkpoints(std::time::Duration::from_secs(60));
    app.login_through_form(USER, TEST_PASSWORD).await;
    let today = Utc::now().date_naive();
    let from = today - chrono::Days::new(60);
    app.open(&format!("/hold-history?mode=range&from={from}&to={today}"))
        .await;

    let shown = app
        .wait_for_js(
            "the job's progress",
            DEADLINE,
            "var p = document.getElementById('progress'); \
             var t = document.getElementById('progress-text').textContent; \
             return !p.hidden && p.getAttribute('data-job') && /%/.test(t) \
               ? [p.getAttribute('data-job'), t] : null;",
            vec![],
        )
        .await;
    let job = shown[0].as_str().unwrap().to_string();
    assert!(shown[1].as_str().unwrap().contains("0 %"), "{shown}");
    let status = api(&app, &format!("/api/jobs/{job}")).await;
    assert!(
        ["queued", "running"].contains(&status["state"].as_str().unwrap()),
        "{status}"
    );
    assert_eq!(status["kind"], "hold-history");

    app.click("#cancel").await;
    let cancelled = mes_dashboard::i18n::t(mes_dashboard::i18n::Lang::ZhTw, "hold-hi-cancelled");
    app.wait_for_js(
        "the page says cancelled",
        DEADLINE,
        "var m = document.getElementById('history-message'); \
         return !m.hidden && m.textContent === arguments[0] \
           && document.getElementById('progress').hidden;",
        vec![json!(cancelled)],
    )
    .await;
    let state = super::wait_for("the job cancelled", DEADLINE, async || {
        let job = api(&app, &format!("/api/jobs/{job}")).await;
        (job["state"] == "cancelled").then_some(job)
    })
    .await;
    assert_eq!(state["error"], "cancelled by alice", "{state}");
    assert!(
        !app.exists("#cards").await,
        "no figures of a cancelled query"
    );
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_result_runs_the_query_again() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let today = Utc::now().date_naive();
    let from = today - chrono::Days::new(6);
    app.open(&format!("/hold-history?mode=range&from={from}&to={today}"))
        .await;
    let (first, total) = shown(&app).await;
    app.assert_no_page_problems().await;

    // The result's time is up.
    let db = database(&app).await;
    let expired = with_conn!(&db.request, |c| async {
        sqlx::query("UPDATE report_jobs SET expires_at = $2 WHERE id = $1")
            .bind(&first)
            .bind(Utc::now() - chrono::Duration::seconds(1))
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
    })
    .expect("expire the result");
    assert_eq!(expired, 1);
    db.close().await;
    let (status, body) = json(app.fetch_path(&format!("/api/jobs/{first}/result")).await).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "JOB_EXPIRED");

    // Sorting reads the result again: 410, and the page runs the query again.
    app.click("#history-table th[data-sort='quantity'] button")
        .await;
    let again = app
        .wait_for_js(
            "the query run again",
            DEADLINE,
            "var f = document.getElementById('figures'); \
             var b = document.getElementById('history-rows'); \
             return f.getAttribute('data-job') && f.getAttribute('data-job') !== arguments[0] \
               && document.getElementById('cards') && b.getAttribute('data-loaded') === 'true' \
               ? f.getAttribute('data-job') : null;",
            vec![json!(first)],
        )
        .await;
    let again = again.as_str().unwrap().to_string();
    assert_eq!(detail_total(&app).await, total, "the same query");
    // Once the figures show again, the page says the query ran again (not "running again").
    let said = app.text_of("#history-message").await;
    let expected =
        mes_dashboard::i18n::t(mes_dashboard::i18n::Lang::ZhTw, "hold-hi-reran").into_owned();
    assert_eq!(said, expected);
    assert_eq!(
        api(&app, &format!("/api/jobs/{again}")).await["state"],
        "done"
    );
    // The one problem the browser saw is the expected 410 of the expired read.
    let problems = app.page_problems().await;
    let unexpected: Vec<&String> = problems
        .iter()
        .filter(|p| !p.contains("status of 410"))
        .collect();
    assert!(unexpected.is_empty(), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_or_a_day_filters_the_detail_and_the_csv_follows() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let today = Utc::now().date_naive();
    let from = today - chrono::Days::new(29);
    app.open(&format!("/hold-history?mode=range&from={from}&to={today}"))
        .await;
    let (job, total) = shown(&app).await;
    let result = api(&app, &format!("/api/jobs/{job}/result")).await;
    assert_eq!(json!(total), result["detail"]["total"]);
    let new_holds = app.text_of("#card-new").await;
    // Durations read as "3 天 4 小時" (or hours and minutes, or minutes).
    let duration = app
        .text_of("#history-rows tr[data-lot] td:last-child")
        .await;
    assert!(
        duration.ends_with('分') || duration.ends_with("小時"),
        "{duration:?}"
    );
    app.assert_no_page_problems().await;

    // A duration bucket with holds: the table lists what the bucket counts.
    let bucket = result["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["count"].as_u64().unwrap() > 0)
        .expect("30 days released some holds")
        .clone();
    let name = bucket["bucket"].as_str().unwrap();
    click_shape(&app, "duration_bucket", name).await;
    app.wait_for_js(
        "the bucket in the URL",
        DEADLINE,
        "return new URLSearchParams(location.search).get('duration_bucket') === arguments[0];",
        vec![json!(name)],
    )
    .await;
    let in_bucket = detail_total(&app).await;
    let want = api(
        &app,
        &format!("/api/jobs/{job}/result?duration_bucket={name}"),
    )
    .await;
    assert_eq!(json!(in_bucket), want["detail"]["total"]);
    assert_eq!(json!(in_bucket), bucket["count"], "the bucket's count");
    assert_eq!(
        app.js(
            "return document.getElementById('table-filter').hidden;",
            vec![]
        )
        .await,
        json!(false),
        "the filter is said"
    );
    let download = app.download("#export-history").await;
    assert_eq!(
        csv_rows(&download.bytes) as u64,
        in_bucket,
        "CSV rows = the API's total"
    );
    // The figures are the whole query's still: no new query.
    assert_eq!(app.text_of("#card-new").await, new_holds);
    assert_eq!(
        app.js(
            "return document.getElementById('figures').getAttribute('data-job');",
            vec![]
        )
        .await,
        json!(job)
    );
    app.assert_no_page_problems().await;

    // Cleared, then a trend day with new holds.
    app.click("#table-filter-clear").await;
    app.wait_for_js(
        "no detail filter in the URL",
        DEADLINE,
        "return location.search.indexOf('duration_bucket') < 0;",
        vec![],
    )
    .await;
    assert_eq!(detail_total(&app).await, total);
    let day = result["trend"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| d["new"].as_u64().unwrap() > 0)
        .expect("a day with new holds")["day"]
        .as_str()
        .unwrap()
        .to_string();
    click_shape(&app, "day", &day).await;
    app.wait_for_js(
        "the day in the URL",
        DEADLINE,
        "return new URLSearchParams(location.search).get('day') === arguments[0];",
        vec![json!(day)],
    )
    .await;
    let on_day = detail_total(&app).await;
    let want = api(&app, &format!("/api/jobs/{job}/result?day={day}")).await;
    assert_eq!(json!(on_day), want["detail"]["total"]);
    assert!(on_day >= 1 && on_day <= total, "{on_day} of {total}");
    let download = app.download("#export-history").await;
    assert_eq!(
        csv_rows(&download.bytes) as u64,
        on_day,
        "CSV rows = the API's total"
    );
    assert_eq!(app.text_of("#card-new").await, new_holds);
    // The URL keeps the query as it was.
    let url = app.current_url().await;
    let given: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(given.contains(&("from".into(), from.to_string())), "{url}");

    // Back: the bucket-free, day-free detail again, without a new query.
    app.js("history.back(); return true;", vec![]).await;
    app.wait_for_js(
        "the day gone from the URL",
        DEADLINE,
        "return location.search.indexOf('day=') < 0;",
        vec![],
    )
    .await;
    assert_eq!(detail_total(&app).await, total);
    app.assert_no_page_problems().await;
}
