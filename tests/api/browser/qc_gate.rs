//! The `/qc-gate` page in a real browser: a bucket of the segment filters the lot table (the
//! filter goes into the URL, the back button undoes it), and the export link gives as many CSV
//! rows as the API's total for that filter.

use serde_json::json;

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};
use crate::qc_gate::set_waits;

const ROWS: &str = "return Array.prototype.map.call(\
     document.querySelectorAll('#qc-lots tr[data-lot]'),\
     function (r) { return r.getAttribute('data-bucket'); });";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_of_the_segment_filters_the_table_and_the_export_has_the_api_total() {
    let builder = TestApp::builder(Backend::Sqlite).env("CACHE_CHECK_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.app.login_as_user().await;
    let want = set_waits(&app.app, Backend::Sqlite).await;
    let gt24 = want.iter().filter(|w| w.3 == "gt24h").count();
    assert!(gt24 > 0 && gt24 < want.len());

    app.login_through_form(USER, TEST_PASSWORD).await;
    app.open("/qc-gate").await;
    app.find("#qc-chart svg").await;
    let rows = app.js(ROWS, vec![]).await;
    assert_eq!(rows.as_array().unwrap().len(), want.len().min(50), "{rows}");
    app.assert_no_page_problems().await;

    // The segment: only the lots waiting over 24 h (their first page), and the URL says so.
    let first = gt24.min(50);
    app.click("#qc-segment [data-bucket='gt24h']").await;
    let rows = app
        .wait_for_js(
            "the table filtered to > 24 h",
            DEADLINE,
            &format!(
                "var r = (function () {{ {ROWS} }})();\
                 return r.length === {first} && r.every(function (b) {{ return b === 'gt24h'; }}) ? r : null;"
            ),
            vec![],
        )
        .await;
    assert_eq!(rows.as_array().unwrap().len(), first);
    assert!(
        app.current_url()
            .await
            .query()
            .unwrap_or_default()
            .contains("bucket=gt24h")
    );
    assert_eq!(
        app.js("return document.querySelector(\"#qc-segment [data-bucket='gt24h']\").getAttribute('aria-pressed');", vec![]).await,
        json!("true")
    );

    // The export follows the filter: as many rows as the API's total.
    let download = app.download("#qc-export").await;
    assert!(download.bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(download.bytes[3..].to_vec()).unwrap();
    let (_, body) = json(app.fetch_path("/api/qc-gate/lots?bucket=gt24h").await).await;
    let total = body["data"]["total"].as_u64().unwrap() as usize;
    assert_eq!(total, gt24, "{body}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), total);

    // Back: every lot again; reloading the filtered URL keeps the filter.
    app.js("window.history.back(); return null;", vec![]).await;
    app.wait_for_js(
        "every lot again",
        DEADLINE,
        &format!(
            "var r = (function () {{ {ROWS} }})(); return r.length === {} ? r : null;",
            want.len().min(50)
        ),
        vec![],
    )
    .await;
    app.open("/qc-gate?bucket=gt24h").await;
    let rows = app.js(ROWS, vec![]).await;
    assert_eq!(rows.as_array().unwrap().len(), gt24.min(50), "{rows}");

    // "More" appends the next page from the API until every lot of the bucket is listed: one
    // click per page after the first.
    let mut clicks = 0;
    while app
        .js("return !document.getElementById('qc-more').hidden;", vec![])
        .await
        == json!(true)
    {
        let before = app.js(ROWS, vec![]).await.as_array().unwrap().len();
        app.click("#qc-more").await;
        clicks += 1;
        app.wait_for_js(
            "the next page appended",
            DEADLINE,
            &format!(
                "var r = (function () {{ {ROWS} }})(); return r.length > {before} ? r : null;"
            ),
            vec![],
        )
        .await;
    }
    let rows = app.js(ROWS, vec![]).await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), gt24, "{rows:?}");
    assert_eq!(clicks, gt24.div_ceil(50).saturating_sub(1), "pages of 50");
    assert!(rows.iter().all(|b| b == "gt24h"), "{rows:?}");

    // Every lot: "more" once, then a new WIP version refreshes the table in place and keeps
    // the rows "more" had opened (the rows are rewritten: the mark set on them goes).
    assert!(
        want.len() > 50,
        "more than one page of lots at QC-GATE steps"
    );
    let opened = want.len().min(100);
    app.open("/qc-gate").await;
    app.click("#qc-more").await;
    app.wait_for_js(
        "the second page appended",
        DEADLINE,
        &format!("var r = (function () {{ {ROWS} }})(); return r.length === {opened} ? r : null;"),
        vec![],
    )
    .await;
    app.js(
        "document.querySelectorAll('#qc-lots tr[data-lot]').forEach(function (r) { r.setAttribute('data-old', '1'); }); return null;",
        vec![],
    )
    .await;
    let other = app
        .factory()
        .lots
        .iter()
        .rev()
        .find(|l| !want.iter().any(|w| w.0 == l.lot_id))
        .unwrap()
        .lot_id
        .clone();
    app.remove_lot(&other).await;
    let rows = app
        .wait_for_js(
            "the table refreshed by the new WIP version",
            DEADLINE,
            "var rows = document.querySelectorAll('#qc-lots tr[data-lot]');\
             if (!rows.length || document.querySelector('#qc-lots tr[data-old]')) { return null; }\
             return rows.length;",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(opened), "every row shown before the refresh");
    assert_eq!(
        app.js("return document.getElementById('qc-more').hidden;", vec![])
            .await,
        json!(opened == want.len())
    );
    app.assert_no_page_problems().await;
}
