//! The `/resource` page in a real browser: a state count filters the page to that state's
//! tools (cards), the status matrix expands, the CSV export has the API's rows, and nothing
//! breaks the CSP or throws.

use serde_json::json;

use super::{BrowserApp, DEADLINE};
use crate::helpers::{TEST_PASSWORD, USER, json};

/// The digits of a number as a page shows it.
fn number(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number: {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_count_filters_the_cards_the_matrix_expands_and_the_csv_matches() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let factory = app.factory();
    // The state most tools are in.
    let state = ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"]
        .into_iter()
        .max_by_key(|s| factory.tools.iter().filter(|t| t.e10_state == *s).count())
        .unwrap();
    let in_state = factory
        .tools
        .iter()
        .filter(|t| t.e10_state == state)
        .count();

    app.open("/resource").await;
    assert!(
        !app.exists("[data-card]").await,
        "no cards without a filter"
    );
    let shown = number(&app.text_of(&format!("[data-count='{state}']")).await);
    assert_eq!(shown as usize, in_state, "the state count");
    let total = number(&app.text_of("#res-total").await);
    assert_eq!(total as usize, factory.tools.len());
    app.assert_no_page_problems().await;

    // The matrix: groups start collapsed; a click on a group's summary opens it and shows
    // its families, a click on a family its tools.
    let closed = app
        .js(
            "return Array.prototype.map.call(document.querySelectorAll('details.res-group'), function (d) { return d.open; });",
            vec![],
        )
        .await;
    assert!(
        closed
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|o| o == false)),
        "{closed}"
    );
    let visible_rows = "return Array.prototype.filter.call(document.querySelectorAll('tr[data-tool]'), \
         function (r) { return r.checkVisibility(); }).length;";
    assert_eq!(
        app.js(visible_rows, vec![]).await,
        json!(0),
        "tool rows hidden while collapsed"
    );
    // The name, not the middle of the row: the counts in a summary are links that filter.
    app.click("details.res-group > summary > span:first-child")
        .await;
    app.click("details.res-group[open] details.res-family > summary > span:first-child")
        .await;
    let rows = app
        .wait_for_js(
            "the matrix shows a family's tools",
            DEADLINE,
            &format!("var n = (function () {{ {visible_rows} }})(); return n > 0 ? n : null;"),
            vec![],
        )
        .await;
    assert!(rows.as_u64().unwrap() > 0);

    // A state count filters: the page with ?state=…, a card per tool in that state.
    app.click(&format!("[data-state-link='{state}']")).await;
    app.wait_for_path("/resource").await;
    let url = app
        .wait_for_js(
            "the URL carries the state",
            DEADLINE,
            "return window.location.search.indexOf('state=') >= 0 ? window.location.href : null;",
            vec![],
        )
        .await;
    assert!(
        url.as_str().unwrap().contains(&format!("state={state}")),
        "{url}"
    );
    let cards = app
        .js(
            "return Array.prototype.map.call(document.querySelectorAll('[data-card] [data-card-state]'), function (s) { return s.textContent; });",
            vec![],
        )
        .await;
    let cards = cards.as_array().unwrap();
    assert_eq!(cards.len(), in_state.min(300), "a card per tool in {state}");
    assert!(cards.iter().all(|c| c == state), "{cards:?}");
    app.assert_no_page_problems().await;

    // The CSV export of the filtered page: as many rows as the API counts.
    let (status, body) = json(
        app.fetch_path(&format!("/api/resource/status?state={state}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let count = body["data"]["count"].as_u64().unwrap();
    assert_eq!(count as usize, in_state);
    let csv = app.download("#export-tools").await;
    let text = String::from_utf8(csv.bytes).expect("UTF-8");
    let rows = text.lines().filter(|l| !l.trim().is_empty()).count() as u64 - 1;
    assert_eq!(rows, count, "{text}");
}

/// The text of the ring of workcenter group `arguments[0]` (its table: label and value).
const RING: &str = "var rings = document.querySelectorAll('#res-charts [data-ring]');\
     for (var i = 0; i < rings.length; i++) {\
       if (rings[i].getAttribute('data-ring') === arguments[0]) {\
         var t = rings[i].querySelector('table'); return t ? t.textContent : null;\
       }\
     }\
     return null;";

/// The hover titles of the heatmap cells of the workcenters `arguments[0]` (a list).
const HEAT: &str = "var ids = arguments[0], out = [];\
     document.querySelectorAll('#res-charts rect.chart-cell').forEach(function (r) {\
       if (ids.indexOf(r.getAttribute('data-filter-workcenter')) >= 0) {\
         var t = r.querySelector('title'); out.push(t ? t.textContent : '');\
       }\
     });\
     return out;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ou_ring_and_heatmap_follow_a_state_change_without_a_reload() {
    use mes_dashboard::config::Settings;
    use mes_dashboard::db::Database;
    use mes_dashboard::simulate;

    use super::{BrowserOptions, wait_for};
    use crate::helpers::{Backend, TestApp};

    let builder = TestApp::builder(Backend::Sqlite).env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let factory = app.factory();
    // The workcenter group with the fewest tools (that has any), its workcenters and tools.
    let group_of = |wc: &str| {
        factory
            .workcenters
            .iter()
            .find(|w| w.id == wc)
            .map(|w| w.group)
            .unwrap()
    };
    let group = factory
        .workcenters
        .iter()
        .map(|w| w.group)
        .filter(|g| {
            factory
                .tools
                .iter()
                .any(|t| group_of(t.workcenter_id) == *g)
        })
        .min_by_key(|g| {
            factory
                .tools
                .iter()
                .filter(|t| group_of(t.workcenter_id) == *g)
                .count()
        })
        .expect("a workcenter group with tools");
    let tools: Vec<&str> = factory
        .tools
        .iter()
        .filter(|t| group_of(t.workcenter_id) == group)
        .map(|t| t.equipment_id.as_str())
        .collect();
    let workcenters: Vec<&str> = factory
        .workcenters
        .iter()
        .filter(|w| w.group == group)
        .map(|w| w.id)
        .collect();

    app.open("/resource").await;
    let before = app.js(RING, vec![json!(group)]).await;
    let before = before.as_str().expect("a ring for the group").to_string();
    // Every tool of the group to one state: OU % is then 100.0% (all PRD) or 0.0% (all UDT),
    // whichever differs from now; every heatmap cell of its workcenters says the same.
    let (state, want) = if before.contains("100.0%") {
        ("UDT", "0.0%")
    } else {
        ("PRD", "100.0%")
    };
    let heat_before = app.js(HEAT, vec![json!(workcenters)]).await;
    assert!(
        heat_before
            .as_array()
            .is_some_and(|cells| !cells.is_empty()),
        "the heatmap has cells for {group}: {heat_before}"
    );
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;
    wait_for("the page opened its event stream", DEADLINE, async || {
        (app.app.state().equipment.listeners() >= 1).then_some(())
    })
    .await;

    let db = Database::connect_lazy(&Settings::for_tests(&app.app.database_url(), &[]))
        .expect("database settings");
    for tool in &tools {
        simulate::set_tool_state(&db.request, tool, state, None, chrono::Utc::now())
            .await
            .expect("set the tool's state");
    }
    db.close().await;

    let ring = app
        .wait_for_js(
            "the group's ring shows its new OU %",
            DEADLINE,
            &format!(
                "var text = (function () {{ {RING} }}).apply(null, arguments);\
                 return text && text.indexOf(arguments[1]) >= 0 ? text : null;"
            ),
            vec![json!(group), json!(want)],
        )
        .await;
    assert!(ring.as_str().unwrap().contains(want), "{ring}");
    let heat = app
        .wait_for_js(
            "the group's heatmap cells show the new OU %",
            DEADLINE,
            &format!(
                "var want = arguments[1];\
                 var cells = (function () {{ {HEAT} }}).apply(null, arguments);\
                 return cells.length && cells.every(function (c) {{ return c.endsWith(': ' + want); }}) ? cells : null;"
            ),
            vec![json!(workcenters), json!(want)],
        )
        .await;
    assert_ne!(heat, heat_before, "the heatmap was redrawn");
    let page = app
        .js(
            "return [window.__mesMark || null, performance.getEntriesByType('navigation').map(function (n) { return n.type; })];",
            vec![],
        )
        .await;
    assert_eq!(
        page,
        json!(["not reloaded", ["navigate"]]),
        "redrawn in place, without a reload"
    );
    app.assert_no_page_problems().await;
}
