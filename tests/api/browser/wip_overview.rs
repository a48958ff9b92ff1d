//! `/wip-overview` in a real browser (zh-TW): its numbers against the API the same session
//! reads, a matrix cell opening the workcenter's detail with the filters, a filter typed in
//! the panel (with suggestions) landing in the URL, and a live update without a reload.

use serde_json::{Value, json};

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};

/// The digits of a number as a page shows it (grouping separators vary by language).
fn number(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number: {text:?}"))
}

async fn api(app: &BrowserApp, path: &str) -> Value {
    let (status, body) = json(app.fetch_path(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

/// The figures the page shows: totals, the four cards, the donuts' centres.
const FIGURES: &str = "var text = function (css) { var el = document.querySelector(css); \
    return el ? el.textContent : null; };\
    var centres = document.querySelectorAll('#wipov-content svg.chart-kind-donut .chart-centre-value');\
    return { lots: text('#wipov-total-lots'), pcs: text('#wipov-total-pcs'),\
      run: text('[data-lots=\"RUN\"]'), queue: text('[data-lots=\"QUEUE\"]'),\
      quality: text('[data-lots=\"quality\"]'), non_quality: text('[data-lots=\"non-quality\"]'),\
      donut_lots: centres[0] ? centres[0].textContent : null,\
      donut_pcs: centres[1] ? centres[1].textContent : null };";

/// The page's figures as numbers, in FIGURES order.
async fn figures(app: &BrowserApp) -> [u64; 8] {
    let shown = app.js(FIGURES, vec![]).await;
    [
        "lots",
        "pcs",
        "run",
        "queue",
        "quality",
        "non_quality",
        "donut_lots",
        "donut_pcs",
    ]
    .map(|k| {
        number(
            shown[k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} shown: {shown}")),
        )
    })
}

/// The same figures from the summary API.
fn expected(summary: &Value) -> [u64; 8] {
    let n = |v: &Value| v.as_u64().unwrap();
    [
        n(&summary["total"]["lots"]),
        n(&summary["total"]["quantity"]),
        n(&summary["by_status"]["RUN"]["lots"]),
        n(&summary["by_status"]["QUEUE"]["lots"]),
        n(&summary["by_hold_type"]["quality"]["lots"]),
        n(&summary["by_hold_type"]["non-quality"]["lots"]),
        n(&summary["total"]["lots"]),
        n(&summary["total"]["quantity"]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wip_overview_matches_its_api_in_chinese_and_a_cell_opens_the_detail() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;

    app.open("/wip-overview?status=QUEUE").await;
    assert_eq!(
        app.js("return document.documentElement.lang;", vec![])
            .await,
        "zh-TW"
    );
    assert!(app.text_of("h1").await.contains("在製品總覽"));
    let summary = api(&app, "/api/wip/overview/summary").await;
    assert_eq!(
        figures(&app).await,
        expected(&summary),
        "the cards and donuts count under every filter but the status"
    );
    // The matrix is filtered by the QUEUE card.
    let matrix = api(&app, "/api/wip/overview/matrix?status=QUEUE").await;
    assert_eq!(
        number(&app.text_of("#wipov-matrix-total").await),
        matrix["total"]["quantity"].as_u64().unwrap()
    );
    app.assert_no_page_problems().await;

    // A cell opens the detail of its workcenter and package, the status kept.
    let cell = app
        .js(
            "var a = document.querySelector('#wipov-matrix tbody a[data-package]');\
             return [a.closest('tr').getAttribute('data-workcenter'), a.getAttribute('data-package')];",
            vec![],
        )
        .await;
    app.click("#wipov-matrix tbody a[data-package]").await;
    let landed = app.wait_for_path("/wip-detail").await;
    let query: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    let want = |k: &str, v: &Value| (k.to_string(), v.as_str().unwrap().to_string());
    assert_eq!(
        query,
        [
            want("workcenter", &cell[0]),
            want("package", &cell[1]),
            want("status", &json!("QUEUE")),
        ],
        "{landed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_typed_in_the_panel_lands_in_the_url_and_the_numbers_follow() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    app.open("/wip-overview").await;
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;
    let package = app.factory().lots[0].package_id;

    // Typing offers the matching values.
    let typed = &package[..2];
    app.type_into("#wipov-f-package", typed).await;
    app.wait_for_js(
        "the package suggestions",
        DEADLINE,
        "var want = arguments[0];\
         return Array.prototype.some.call(document.querySelectorAll('#wipov-list-package option'),\
           function (o) { return o.value === want; });",
        vec![json!(package)],
    )
    .await;
    app.type_into("#wipov-f-package", package).await;
    app.click("#wipov-filters button[type='submit']").await;

    let filtered = api(
        &app,
        &format!("/api/wip/overview/summary?package={package}"),
    )
    .await;
    let want = expected(&filtered);
    let all = api(&app, "/api/wip/overview/summary").await;
    assert_ne!(
        want[0],
        all["total"]["lots"].as_u64().unwrap(),
        "the filter narrows"
    );
    app.wait_for_js(
        "the filtered total",
        DEADLINE,
        "var el = document.querySelector('#wipov-total-lots');\
         return el && el.textContent.replace(/\\D/g, '') === String(arguments[0]);",
        vec![json!(want[0])],
    )
    .await;
    assert_eq!(figures(&app).await, want);
    let url = app.current_url().await;
    assert_eq!(url.path(), "/wip-overview");
    assert_eq!(
        url.query_pairs().into_owned().collect::<Vec<_>>(),
        [("package".to_string(), package.to_string())]
    );
    assert_eq!(
        app.js("return window.__mesMark || null;", vec![]).await,
        "not reloaded"
    );
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wip_overview_updates_in_place_when_the_wip_data_changes() {
    let builder = TestApp::builder(Backend::Sqlite).env("CACHE_CHECK_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    app.open("/wip-overview").await;
    let before = figures(&app).await;
    let version = app
        .js(
            "return document.getElementById('wipov-content').getAttribute('data-version');",
            vec![],
        )
        .await;
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;

    // One lot leaves the process: the next snapshot has one lot fewer.
    let lot = app.factory().lots[0].lot_id.clone();
    app.remove_lot(&lot).await;

    app.wait_for_js(
        "the page shows one lot fewer",
        DEADLINE,
        "var el = document.querySelector('#wipov-total-lots');\
         return el && el.textContent.replace(/\\D/g, '') === String(arguments[0]);",
        vec![json!(before[0] - 1)],
    )
    .await;
    let page = app
        .js(
            "return [window.__mesMark || null, \
             document.getElementById('wipov-content').getAttribute('data-version'), \
             performance.getEntriesByType('navigation').map(function (n) { return n.type; })];",
            vec![],
        )
        .await;
    assert_eq!(page[0], "not reloaded", "updated in place: {page}");
    assert_ne!(page[1], version, "the new version is shown");
    assert_eq!(page[2], json!(["navigate"]));
    let summary = api(&app, "/api/wip/overview/summary").await;
    assert_eq!(figures(&app).await, expected(&summary));
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_cards_follow_the_wip_data_without_a_reload() {
    let builder = TestApp::builder(Backend::Sqlite).env("CACHE_CHECK_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    app.open("/").await;
    let lots = |v: &Value| -> u64 {
        v.as_str()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("a number: {v}"))
    };
    let shown = app
        .js(
            "return document.getElementById('home-wip-lots').textContent;",
            vec![],
        )
        .await;
    let summary = api(&app, "/api/wip/overview/summary").await;
    let total = summary["total"]["lots"].as_u64().unwrap();
    assert_eq!(lots(&shown), total, "the card shows the API's total");
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;

    let lot = app.factory().lots[0].lot_id.clone();
    app.remove_lot(&lot).await;

    app.wait_for_js(
        "the home card shows one lot fewer",
        DEADLINE,
        "var el = document.getElementById('home-wip-lots');\
         return el && el.textContent.replace(/\\D/g, '') === String(arguments[0]);",
        vec![json!(total - 1)],
    )
    .await;
    let mark = app.js("return window.__mesMark || null;", vec![]).await;
    assert_eq!(mark, "not reloaded", "updated in place");
    app.assert_no_page_problems().await;
}
