//! The hold pages in a real browser: a Pareto bar of the hold overview opens the reason's
//! detail, a days-at-station bar filters the detail's table (the URL says so), the table and
//! the CSV link give as many lots as the API's total for the same filters, a matrix cell
//! filters the overview's table. Every page visited is checked for script errors and CSP
//! violations.

use serde_json::{Value, json};

use super::{BrowserApp, DEADLINE};
use crate::helpers::{TEST_PASSWORD, USER, json};

/// Waits until the page's table shows the answer of its latest request and returns the total
/// it says.
async fn loaded_total(app: &BrowserApp) -> u64 {
    let total = app
        .wait_for_js(
            "the held-lot table to load",
            DEADLINE,
            "var b = document.getElementById('held'); \
             var c = document.getElementById('lots-count'); \
             return b && b.getAttribute('data-loaded') === 'true' ? c.getAttribute('data-total') : null;",
            vec![],
        )
        .await;
    total.as_str().unwrap().parse().unwrap()
}

fn csv_rows(bytes: &[u8]) -> usize {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    csv::Reader::from_reader(&bytes[3..]).records().count()
}

async fn api(app: &BrowserApp, path: &str) -> Value {
    let (status, body) = json(app.fetch_path(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pareto_bar_opens_the_reason_and_a_bucket_filters_its_table() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;

    // The overview's table holds the API's total.
    app.open("/hold-overview").await;
    let total = loaded_total(&app).await;
    let data = api(&app, "/api/hold-overview/lots").await;
    assert_eq!(json!(total), data["total"]);
    let rows = app
        .js(
            "return document.querySelectorAll('#held tr[data-lot]').length;",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(total.min(100)), "the first page of 100");
    app.assert_no_page_problems().await;

    // A matrix cell filters the table (workcenter × package in the URL).
    let cell = app
        .js(
            "var b = document.querySelector('#hold-matrix button.cell'); \
             return [b.getAttribute('data-workcenter'), b.getAttribute('data-package')];",
            vec![],
        )
        .await;
    let (wc, package) = (cell[0].as_str().unwrap(), cell[1].as_str().unwrap());
    app.click("#hold-matrix button.cell").await;
    app.wait_for_js(
        "the cell in the URL",
        DEADLINE,
        "return location.search.indexOf('workcenter=') >= 0;",
        vec![],
    )
    .await;
    let filtered = loaded_total(&app).await;
    let want = api(
        &app,
        &format!("/api/hold-overview/lots?workcenter={wc}&package={package}"),
    )
    .await;
    assert_eq!(json!(filtered), want["total"]);
    assert!(filtered < total || total == want["total"].as_u64().unwrap());
    let download = app.download("#export-held").await;
    assert_eq!(
        csv_rows(&download.bytes) as u64,
        filtered,
        "CSV rows = the API's total"
    );

    // A Pareto bar opens /hold-detail with its reason.
    app.open("/hold-overview").await;
    let reason = app
        .js(
            "var s = document.querySelector('[data-filter-reason]'); \
             s.dispatchEvent(new MouseEvent('click', {bubbles: true})); \
             return s.getAttribute('data-filter-reason');",
            vec![],
        )
        .await;
    let reason = reason.as_str().unwrap().to_string();
    let url = app.wait_for_path("/hold-detail").await;
    let given: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        given.contains(&("reason".to_string(), reason.clone())),
        "{url}"
    );
    assert_eq!(app.text_of("#reason").await, reason);
    let encoded: String = form_urlencoded::byte_serialize(reason.as_bytes()).collect();
    let detail_total = loaded_total(&app).await;
    let want = api(&app, &format!("/api/hold-detail/lots?reason={encoded}")).await;
    assert_eq!(json!(detail_total), want["total"]);
    app.assert_no_page_problems().await;

    // A days-at-station bar with lots filters the table.
    let dist = api(
        &app,
        &format!("/api/hold-detail/distribution?reason={encoded}"),
    )
    .await;
    let range = dist["by_age"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["lots"].as_u64().unwrap() > 0)
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    app.js(
        "var s = document.querySelector('[data-filter-age_range=\"' + arguments[0] + '\"]'); \
         s.dispatchEvent(new MouseEvent('click', {bubbles: true})); return true;",
        vec![json!(range)],
    )
    .await;
    app.wait_for_js(
        "the bucket in the URL",
        DEADLINE,
        "return new URLSearchParams(location.search).get('age_range') === arguments[0];",
        vec![json!(range)],
    )
    .await;
    let in_range = loaded_total(&app).await;
    let range_q: String = form_urlencoded::byte_serialize(range.as_bytes()).collect();
    let want = api(
        &app,
        &format!("/api/hold-detail/lots?reason={encoded}&age_range={range_q}"),
    )
    .await;
    assert_eq!(json!(in_range), want["total"]);
    assert!(in_range >= 1 && in_range <= detail_total);
    let download = app.download("#export-held").await;
    assert_eq!(
        csv_rows(&download.bytes) as u64,
        in_range,
        "CSV rows = the API's total"
    );

    // Back returns to the unfiltered detail.
    app.js("history.back(); return true;", vec![]).await;
    app.wait_for_js(
        "the bucket gone from the URL",
        DEADLINE,
        "return location.search.indexOf('age_range') < 0;",
        vec![],
    )
    .await;
    assert_eq!(loaded_total(&app).await, detail_total);
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_hold_history_range_runs_as_a_job_with_progress_and_finishes() {
    // Every range of 2 shift days or more is a background job here.
    let builder = crate::helpers::TestApp::builder(crate::helpers::Backend::Sqlite)
        .env("ASYNC_QUERY_DAYS", "2");
    let Some(app) = BrowserApp::start(builder, super::BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;

    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Days::new(30);
    app.open(&format!("/hold-history?mode=range&from={from}&to={today}"))
        .await;
    // The answer was a 202: the page showed its progress for that job, then its figures.
    let job = app
        .wait_for_js(
            "the job's figures",
            DEADLINE,
            "var f = document.getElementById('figures'); \
             var p = document.getElementById('progress'); \
             return f.getAttribute('data-job') && document.getElementById('cards') \
               && p.getAttribute('data-job') === f.getAttribute('data-job') \
               ? f.getAttribute('data-job') : null;",
            vec![],
        )
        .await;
    let job = job.as_str().unwrap().to_string();
    let status = api(&app, &format!("/api/jobs/{job}")).await;
    assert_eq!(status["state"], "done", "{status}");
    let result = api(&app, &format!("/api/jobs/{job}/result")).await;
    let new_holds = number(&app.text_of("#card-new").await);
    assert_eq!(json!(new_holds), result["cards"]["new_holds"]["count"]);
    assert!(app.exists("#chart-trend svg").await, "the daily trend");
    assert!(
        app.exists("#chart-history-pareto svg").await,
        "the reason Pareto"
    );

    // The detail: its total as the result API's, and the CSV link gives every row.
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
    let total: u64 = total.as_str().unwrap().parse().unwrap();
    assert_eq!(json!(total), result["detail"]["total"]);
    assert!(total > 0, "the seeded factory held lots in 30 days");
    let download = app.download("#export-history").await;
    assert_eq!(
        csv_rows(&download.bytes) as u64,
        total,
        "CSV rows = the detail's total"
    );
    app.assert_no_page_problems().await;
}

/// The digits of a number as a page shows it.
fn number(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number: {text:?}"))
}
