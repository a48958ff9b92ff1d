//! Today's pages in a real browser: the login form, the portal, the equipment page's live
//! update, the logout (the WIP overview: `wip_overview.rs`). Every page visited is checked
//! for script errors and CSP violations.

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::routes::catalog;
use mes_dashboard::simulate;
use serde_json::json;

use super::{BrowserApp, BrowserOptions, DEADLINE, wait_for};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_through_the_form_and_the_portal_lists_the_report_pages() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };

    // A stranger is sent to the login page.
    app.open("/wip-overview").await;
    let login = app.wait_for_path("/admin/login").await;
    assert!(
        login.query().is_some_and(|q| q.contains("next=")),
        "the login page keeps where the user was going: {login}"
    );
    app.assert_no_page_problems().await;

    app.login_through_form(USER, TEST_PASSWORD).await;
    for page in catalog::PAGES {
        let link = format!("main a[href='{}']", page.route);
        let reports_for_everyone = page.registered && page.route != "/";
        assert_eq!(
            app.exists(&link).await,
            reports_for_everyone,
            "the portal lists {} only if it is a report page",
            page.route
        );
    }
    app.assert_no_page_problems().await;

    // A portal link opens its page.
    app.click("main a[href='/wip-overview']").await;
    app.wait_for_path("/wip-overview").await;
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_page_shows_a_flipped_tool_without_a_reload() {
    let builder = TestApp::builder(Backend::Sqlite).env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let tool = app
        .factory()
        .tools
        .iter()
        .find(|t| t.e10_state != "UDT")
        .map(|t| t.equipment_id.clone())
        .expect("a tool to flip");

    app.open("/resource").await;
    let row_text = "var rows = document.querySelectorAll('tr[data-tool]');\
        for (var i = 0; i < rows.length; i++) {\
          if (rows[i].getAttribute('data-tool') === arguments[0]) { return rows[i].textContent; }\
        }\
        return null;";
    let before = app.js(row_text, vec![json!(tool)]).await;
    let reason = "Vacuum fault (browser test)";
    assert!(
        before.as_str().is_some_and(|t| !t.contains(reason)),
        "the tool is listed, not yet flipped: {before}"
    );
    // A mark that a reload would wipe.
    app.js("window.__mesMark = 'not reloaded'; return true;", vec![])
        .await;
    // The page's event stream is open before the change, so the change is pushed to it.
    wait_for("the page opened its event stream", DEADLINE, async || {
        (app.app.state().equipment.listeners() >= 1).then_some(())
    })
    .await;

    let db = Database::connect_lazy(&Settings::for_tests(&app.app.database_url(), &[]))
        .expect("database settings");
    let flipped =
        simulate::set_tool_state(&db.request, &tool, "UDT", Some(reason), chrono::Utc::now())
            .await
            .expect("flip the tool");
    assert!(flipped);
    db.close().await;

    let after = app
        .wait_for_js(
            "the page shows the tool's new state",
            DEADLINE,
            &format!(
                "var text = (function () {{ {row_text} }}).apply(null, arguments);\
                 return text && text.indexOf('UDT') >= 0 && text.indexOf(arguments[1]) >= 0 ? text : null;"
            ),
            vec![json!(tool), json!(reason)],
        )
        .await;
    assert!(after.as_str().unwrap().contains(reason), "{after}");
    let page = app
        .js(
            "return [window.__mesMark || null, performance.getEntriesByType('navigation').map(function (n) { return n.type; })];",
            vec![],
        )
        .await;
    assert_eq!(
        page,
        json!(["not reloaded", ["navigate"]]),
        "updated in place, without a reload"
    );
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_returns_to_the_login_page_and_ends_the_session() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(USER, TEST_PASSWORD).await;
    let cookie = app.cookie_header().await;
    let (status, _) = json(app.fetch_path("/api/auth/me").await).await;
    assert_eq!(status, 200, "logged in");

    app.click("form[action='/admin/logout'] button[type='submit']")
        .await;
    app.wait_for_path("/admin/login").await;
    app.find("form[action='/admin/login']").await;
    app.assert_no_page_problems().await;

    // The old session is over, not just forgotten by the browser.
    let stale = crate::helpers::bare_client()
        .get(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let (status, body) = json(stale).await;
    assert_eq!(status, 401, "{body}");
    // And the browser is a stranger again.
    app.open("/").await;
    app.wait_for_path("/admin/login").await;
}
