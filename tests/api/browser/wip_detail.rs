//! The `/wip-detail` page in a real browser, against its API read with the same session:
//! the rows and total, sorting by a header, the next page, the status cards, the lot panel,
//! the CSV link and the live refresh — all in place, without a reload, and without a script
//! error or CSP violation.

use std::collections::BTreeMap;

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::with_conn;
use serde_json::{Value, json};

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};

/// The busiest workcenter and its commonest package among the seeded lots.
fn busiest(app: &TestApp) -> (String, String) {
    let mut by_wc: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for l in &app.factory.as_ref().unwrap().lots {
        *by_wc
            .entry(l.workcenter_id)
            .or_default()
            .entry(l.package_id)
            .or_default() += 1;
    }
    let (wc, packages) = by_wc
        .iter()
        .max_by_key(|(_, p)| p.values().sum::<usize>())
        .unwrap();
    let package = packages.iter().max_by_key(|(_, n)| **n).unwrap().0;
    (wc.to_string(), package.to_string())
}

const ROWS: &str = "return Array.prototype.map.call(\
    document.querySelectorAll('#lot-rows tr[data-lot]'), \
    function (tr) { return tr.getAttribute('data-lot'); });";

fn lot_ids(lots: &Value) -> Vec<Value> {
    lots.as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].clone())
        .collect()
}

impl BrowserApp {
    /// `data` of the API at `path`, read with the browser's session.
    async fn api(&self, path: &str) -> Value {
        let (status, body) = json(self.fetch_path(path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        body["data"].clone()
    }

    /// Waits until the table lists `want` (the lot ids, in order).
    async fn wait_for_rows(&self, what: &str, want: &[Value]) {
        let script = format!(
            "var got = (function () {{ {ROWS} }})(); \
             return JSON.stringify(got) === JSON.stringify(arguments[0]);"
        );
        self.wait_for_js(what, DEADLINE, &script, vec![json!(want)])
            .await;
    }

    /// The page's query parameter `name` (null when absent).
    async fn param(&self, name: &str) -> Value {
        self.js(
            "return new URLSearchParams(window.location.search).get(arguments[0]);",
            vec![json!(name)],
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_page_sorts_pages_and_toggles_cards_as_its_api_answers() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let (wc, package) = busiest(&app.app);
    let base = format!("/api/wip/detail/{wc}?package={package}");

    app.open(&format!(
        "/wip-detail?workcenter={wc}&package={package}&page_size=4"
    ))
    .await;
    let api = app.api(&format!("{base}&page_size=4")).await;
    assert!(
        api["pages"].as_u64().unwrap() >= 2,
        "more than one page: {api}"
    );
    assert_eq!(app.js(ROWS, vec![]).await, json!(lot_ids(&api["lots"])));
    let total = app
        .js(
            "return document.getElementById('total').getAttribute('data-total');",
            vec![],
        )
        .await;
    assert_eq!(total, json!(api["total"].to_string()));
    // A mark a reload would wipe.
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;

    // A header click sorts: by status, then the other way.
    app.click("#lots thead th[data-column='status'] a").await;
    let sorted = app
        .api(&format!("{base}&page_size=4&sort=status&dir=asc"))
        .await;
    app.wait_for_rows("sorted by status", &lot_ids(&sorted["lots"]))
        .await;
    assert_eq!(app.param("sort").await, "status");
    app.click("#lots thead th[data-column='status'] a").await;
    let sorted = app
        .api(&format!("{base}&page_size=4&sort=status&dir=desc"))
        .await;
    app.wait_for_rows("sorted by status, descending", &lot_ids(&sorted["lots"]))
        .await;
    assert_eq!(app.param("dir").await, "desc");
    assert_eq!(
        app.js(
            "return document.querySelector(\"#lots thead th[data-column='status']\").getAttribute('aria-sort');",
            vec![]
        )
        .await,
        "descending"
    );

    // The next page: the API's second page in the same order.
    app.click("#page-next").await;
    let second = app
        .api(&format!("{base}&page_size=4&sort=status&dir=desc&page=2"))
        .await;
    app.wait_for_rows("the second page", &lot_ids(&second["lots"]))
        .await;
    assert_eq!(app.param("page").await, "2");
    assert_eq!(
        app.js(
            "return document.getElementById('page-of').getAttribute('data-page');",
            vec![]
        )
        .await,
        "2"
    );

    // A status card toggles its filter into the URL, and out again.
    app.click("[data-card='run']").await;
    let run = app
        .api(&format!(
            "{base}&page_size=4&sort=status&dir=desc&status=RUN"
        ))
        .await;
    app.wait_for_rows("the RUN lots", &lot_ids(&run["lots"]))
        .await;
    assert_eq!(app.param("status").await, "RUN");
    assert_eq!(
        app.param("page").await,
        Value::Null,
        "back to the first page"
    );
    assert_eq!(
        app.js(
            "return document.querySelector(\"[data-card='run']\").getAttribute('aria-pressed');",
            vec![]
        )
        .await,
        "true"
    );
    app.wait_for_js(
        "the total says the RUN card's count",
        DEADLINE,
        "return document.getElementById('total').getAttribute('data-total') === arguments[0];",
        vec![json!(run["cards"]["run"]["lots"].to_string())],
    )
    .await;

    // The CSV link carries the same filters: its rows are the API's total.
    let download = app.download("#export-csv").await;
    let mut reader = csv::ReaderBuilder::new().from_reader(&download.bytes[3..]);
    let exported = reader.records().count();
    assert_eq!(
        json!(exported),
        run["total"],
        "every RUN lot of {wc} × {package}"
    );

    app.click("[data-card='run']").await;
    app.wait_for_js(
        "the RUN filter is off again",
        DEADLINE,
        "return new URLSearchParams(window.location.search).get('status') === null;",
        vec![],
    )
    .await;
    let all = app
        .api(&format!("{base}&page_size=4&sort=status&dir=desc"))
        .await;
    app.wait_for_rows("every status again", &lot_ids(&all["lots"]))
        .await;

    // The back button returns to the RUN view.
    app.client.back().await.unwrap();
    app.wait_for_rows("back to the RUN lots", &lot_ids(&run["lots"]))
        .await;

    let page = app
        .js(
            "return [window.__mesMark || null, performance.getEntriesByType('navigation').map(function (n) { return n.type; })];",
            vec![],
        )
        .await;
    assert_eq!(page, json!(["not reloaded", ["navigate"]]), "all in place");
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lot_opens_its_panel_and_a_new_snapshot_refreshes_the_page_in_place() {
    let builder = TestApp::builder(Backend::Sqlite).env("CACHE_CHECK_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let (wc, package) = busiest(&app.app);
    app.open(&format!(
        "/wip-detail?workcenter={wc}&package={package}&sort=quantity&dir=desc"
    ))
    .await;
    let first = app
        .js(
            "return document.querySelector('#lot-rows button.wipdt-lot').getAttribute('data-lot');",
            vec![],
        )
        .await;
    let lot_id = first.as_str().unwrap().to_string();
    let lot = app.api(&format!("/api/wip/lot/{lot_id}")).await;

    // The panel: filled from the lot API, closed by Escape and by its button.
    app.click("#lot-rows button.wipdt-lot").await;
    app.wait_for_js(
        "the panel shows the lot",
        DEADLINE,
        "var p = document.getElementById('lot-panel'); \
         return !p.hidden && p.getAttribute('data-loaded') === arguments[0];",
        vec![json!(lot_id)],
    )
    .await;
    let shown = app
        .js(
            "var out = {}; \
             document.querySelectorAll('#lot-panel dd[data-field]').forEach(function (dd) { \
               out[dd.getAttribute('data-field')] = dd.textContent; }); \
             out.sections = Array.prototype.map.call(document.querySelectorAll('#lot-panel section'), \
               function (s) { return s.getAttribute('data-section'); }); \
             return out;",
            vec![],
        )
        .await;
    assert_eq!(
        shown["sections"],
        json!(["basic", "product", "process", "hold", "remarks"])
    );
    for field in [
        "lot_id",
        "product",
        "package_id",
        "step",
        "workcenter_id",
        "status",
    ] {
        assert_eq!(shown[field], lot[field], "{field}: {shown}");
    }
    let digits: String = shown["quantity"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(digits, lot["quantity"].to_string());
    app.client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}") // Escape
        .await
        .unwrap();
    app.wait_for_js(
        "Escape closes the panel",
        DEADLINE,
        "return document.getElementById('lot-panel').hidden;",
        vec![],
    )
    .await;
    app.click("#lot-rows button.wipdt-lot").await;
    app.wait_for_js(
        "the panel opens again",
        DEADLINE,
        "return !document.getElementById('lot-panel').hidden;",
        vec![],
    )
    .await;
    app.click("#lot-panel-close").await;
    app.wait_for_js(
        "the close button closes the panel",
        DEADLINE,
        "return document.getElementById('lot-panel').hidden;",
        vec![],
    )
    .await;

    // Live: the panel open, the lot's quantity changes in the database; the next snapshot
    // reaches the page through its event stream and the row and the panel show it.
    app.click("#lot-rows button.wipdt-lot").await;
    app.wait_for_js(
        "the panel is open",
        DEADLINE,
        "return document.getElementById('lot-panel').getAttribute('data-loaded');",
        vec![],
    )
    .await;
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;
    let url_before = app.current_url().await;
    let db = Database::connect_lazy(&Settings::for_tests(&app.app.database_url(), &[]))
        .expect("database settings");
    let pool = &db.request;
    let now = chrono::Utc::now();
    with_conn!(pool, |c| async {
        sqlx::query("UPDATE lots SET quantity = 987654, updated_at = $1 WHERE lot_id = $2")
            .bind(now)
            .bind(&lot_id)
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
    })
    .expect("update the lot");
    db.close().await;
    app.wait_for_js(
        "the row and the open panel show the new quantity",
        DEADLINE,
        "var row = document.querySelector('#lot-rows tr[data-lot]'); \
         var dd = document.querySelector(\"#lot-panel dd[data-field='quantity']\"); \
         var digits = function (t) { return t.replace(/[^0-9]/g, ''); }; \
         return row && row.getAttribute('data-lot') === arguments[0] \
           && digits(row.textContent).indexOf('987654') >= 0 \
           && !document.getElementById('lot-panel').hidden \
           && digits(dd.textContent) === '987654';",
        vec![json!(lot_id)],
    )
    .await;
    assert_eq!(app.current_url().await, url_before, "page and order kept");
    let page = app
        .js(
            "return [window.__mesMark || null, performance.getEntriesByType('navigation').map(function (n) { return n.type; })];",
            vec![],
        )
        .await;
    assert_eq!(page, json!(["not reloaded", ["navigate"]]), "in place");
    app.assert_no_page_problems().await;
}
