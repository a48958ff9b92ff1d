//! The equipment history and job query pages in a real browser: a long history range, read
//! back from the URL, runs as a background job and finishes; its table expands group → family
//! → tool; its CSV has as many rows as the API's total. A job row of the job query expands to
//! its transactions. Every page is checked for script errors and CSP violations.

use serde_json::json;

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};
use crate::resource_history::{insert, insert_jobs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_history_range_runs_as_a_job_and_its_csv_has_every_row() {
    let builder = TestApp::builder(Backend::Sqlite).env("ASYNC_QUERY_DAYS", "30");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    insert(&app.app.database_url()).await;
    app.login_through_form(USER, TEST_PASSWORD).await;

    // 62 shift days, past ASYNC_QUERY_DAYS: the query answers 202 and the page follows the job.
    app.open(
        "/resource-history?from=2019-12-01&to=2020-01-31&granularity=week\
         &workcenter_group=RH-G1,RH-G2",
    )
    .await;
    let job_id = app
        .wait_for_js(
            "the job's report is shown",
            DEADLINE,
            "var r = document.getElementById('report');\
             return r && !r.hidden ? r.getAttribute('data-job-id') : null;",
            vec![],
        )
        .await;
    let job_id = job_id.as_str().unwrap().to_string();
    // The form shows what the URL said.
    assert_eq!(
        app.js(
            "return document.getElementById('granularity').value;",
            vec![]
        )
        .await,
        json!("week")
    );
    assert_eq!(app.text_of("#kpi-tools").await.trim(), "3");
    let (status, job) = json(app.fetch_path(&format!("/api/jobs/{job_id}")).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["data"]["kind"], "resource-history");
    assert_eq!(job["data"]["state"], "done");
    let (_, result) = json(app.fetch_path(&format!("/api/jobs/{job_id}/result")).await).await;
    let total = result["data"]["detail"]["total"].as_u64().unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        app.js(
            "return document.getElementById('report').getAttribute('data-total');",
            vec![]
        )
        .await,
        json!(total.to_string())
    );
    // Four charts drawn, each an SVG with its table.
    let charts = app
        .js(
            "return document.querySelectorAll('.rh-charts svg').length + ':' +\
             document.querySelectorAll('.rh-charts table').length;",
            vec![],
        )
        .await;
    assert_eq!(charts, json!("4:4"));

    // The table expands: a group shows its families, a family its tools.
    app.click("#tree-rows tr.rh-level-1 .rh-toggle").await;
    app.click("#tree-rows tr.rh-level-2 .rh-toggle").await;
    let tools = app
        .wait_for_js(
            "a family shows its tools",
            DEADLINE,
            "var rows = document.querySelectorAll('#tree-rows tr.rh-level-3');\
             return rows.length ? rows[0].textContent : null;",
            vec![],
        )
        .await;
    assert!(tools.as_str().unwrap().contains("RH-T1"), "{tools}");

    // The CSV: every row the API counts.
    let csv = app.download("#csv").await;
    let text = String::from_utf8(csv.bytes).unwrap();
    assert_eq!(text.trim_end().lines().count() as u64 - 1, total, "{text}");
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_job_expands_to_its_transactions() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    insert(&app.app.database_url()).await;
    insert_jobs(&app.app.database_url()).await;
    app.login_through_form(USER, TEST_PASSWORD).await;

    app.open("/job-query?tools=RH-T1&from=2019-12-30&to=2020-01-06")
        .await;
    let total = app
        .wait_for_js(
            "the jobs are listed",
            DEADLINE,
            "var r = document.getElementById('result');\
             return r && !r.hidden ? r.getAttribute('data-total') : null;",
            vec![],
        )
        .await;
    assert_eq!(total, json!("2"));
    assert_eq!(app.text_of("#chosen li span").await, "RH-T1");

    app.click("#job-rows tr.jq-job .rh-toggle").await;
    let notes = app
        .wait_for_js(
            "the job's transactions are shown",
            DEADLINE,
            "var rows = document.querySelectorAll('.jq-transactions tbody tr');\
             return rows.length === 3 ? rows[2].textContent : null;",
            vec![],
        )
        .await;
    assert!(
        notes.as_str().unwrap().contains("機台恢復，結案"),
        "{notes}"
    );
    let csv = app.download("#csv").await;
    let text = String::from_utf8(csv.bytes).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1 + 2, "{text}");
    app.assert_no_page_problems().await;
}
