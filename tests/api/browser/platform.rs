//! The page platform in a real browser: zh-TW by default and English after the switch (kept
//! across pages by the cookie), the shell on every page with a live health badge, no CSP
//! violation or script error anywhere, and the retry-aware client: a forced 503 shows the
//! countdown banner and the page recovers by itself once the database is back.

use std::time::Duration;

use serde_json::json;

use super::{BrowserApp, BrowserOptions, DEADLINE};
use crate::faults::{Fault, FaultProxy, upstream_of};
use crate::helpers::{ADMIN, Backend, TEST_PASSWORD, TestApp, postgres_url, rand_u64, redis_url};

const LANG: &str = "return document.documentElement.lang;";

/// Every page an administrator can open from the header.
const PAGES: &[&str] = &[
    "/",
    "/wip-overview",
    "/hold-overview",
    "/resource",
    "/resource-history",
    "/admin/pages",
    "/admin/performance",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_chinese_by_default_english_after_the_switch_and_clean_everywhere() {
    let Some(app) = BrowserApp::spawn().await else {
        return;
    };
    app.login_through_form(ADMIN, TEST_PASSWORD).await;
    assert_eq!(app.js(LANG, vec![]).await, json!("zh-TW"));
    assert_eq!(app.text_of("header.shell form button").await, "登出");
    // The health badge asks /health by itself and says what it found, in Chinese.
    let badge = app
        .wait_for_js(
            "the health badge shows a status",
            DEADLINE,
            "var b = document.getElementById('health-badge');\
             return b.getAttribute('data-status') !== 'unknown' ? b.textContent : null;",
            vec![],
        )
        .await;
    assert!(
        ["正常", "降級", "異常"].contains(&badge.as_str().unwrap()),
        "{badge}"
    );
    for page in PAGES {
        app.open(page).await;
        app.find("header.shell details.drawer").await;
        assert_eq!(app.js(LANG, vec![]).await, json!("zh-TW"), "{page}");
        app.assert_no_page_problems().await;
    }

    // The hold page's export link gives every held lot as CSV, in the page's language.
    app.open("/hold-overview").await;
    let download = app.download("#export-held").await;
    assert!(
        download.bytes.starts_with(b"\xEF\xBB\xBF"),
        "a byte-order mark"
    );
    let text = String::from_utf8(download.bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("批號,"), "{text}");
    let (_, body) = crate::helpers::json(app.fetch_path("/api/hold-overview/lots").await).await;
    let total = body["data"]["total"].as_u64().unwrap() as usize;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), total, "every held lot");

    // The switch: a link in the header; the cookie keeps the choice on the next pages.
    app.open("/wip-overview").await;
    app.click(".lang-switch a[hreflang='en']").await;
    app.wait_for_js(
        "English",
        DEADLINE,
        "return document.documentElement.lang === 'en';",
        vec![],
    )
    .await;
    assert_eq!(app.text_of("header.shell form button").await, "Log out");
    assert_eq!(app.text_of("main h1").await, "WIP overview");
    for page in PAGES {
        app.open(page).await;
        assert_eq!(
            app.js(LANG, vec![]).await,
            json!("en"),
            "{page} remembers English"
        );
        app.assert_no_page_problems().await;
    }
    // A drawer opens on a click and lists its reports.
    app.click("header.shell details.drawer summary").await;
    app.wait_for_js(
        "an open drawer",
        DEADLINE,
        "return document.querySelector('details.drawer[open] a') !== null;",
        vec![],
    )
    .await;
    app.assert_no_page_problems().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_503_shows_the_countdown_and_the_page_recovers_by_itself() {
    let Some(db) = postgres_url("the retry-aware client against a cut database") else {
        return;
    };
    // Sessions read through Redis, so the user stays logged in while the database is cut.
    let Some(redis) = redis_url("the retry-aware client against a cut database") else {
        return;
    };
    let proxy = FaultProxy::start(upstream_of(&db)).await;
    let builder = TestApp::builder(Backend::Postgres)
        .through_proxy(proxy.addr)
        .env("REDIS_URL", &redis)
        .env("REDIS_KEY_PREFIX", &format!("t{:x}", rand_u64()))
        .env("DB_POOL_TIMEOUT", "1")
        .env("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "2");
    let Some(app) = BrowserApp::start(builder, BrowserOptions::default()).await else {
        return;
    };
    app.login_through_form(ADMIN, TEST_PASSWORD).await;
    app.open("/resource-history").await;
    app.find("#query button[type='submit']").await;
    app.assert_no_page_problems().await;

    proxy.set(Fault::Refuse).await;
    app.click("#query button[type='submit']").await;
    // The banner: the error's message and a countdown, in Chinese.
    let banner = app
        .wait_for_js(
            "the countdown banner",
            DEADLINE,
            "var b = document.getElementById('api-banner');\
             var t = document.getElementById('api-banner-text').textContent;\
             return !b.hidden && t.indexOf('秒後自動重試') >= 0 ? t : null;",
            vec![],
        )
        .await;
    assert!(
        banner.as_str().unwrap().chars().any(|c| c.is_ascii_digit()),
        "a number of seconds: {banner}"
    );
    assert!(app.exists("#api-retry-now").await);

    // The database comes back: a retry of the client's own shows the report, the banner goes.
    proxy.set(Fault::None).await;
    app.wait_for_js(
        "the report after the automatic retry",
        Duration::from_secs(60),
        "return !document.getElementById('report').hidden &&\
         document.getElementById('api-banner').hidden;",
        vec![],
    )
    .await;
    // The failed attempts were answered (503s in the network log are the browser's own
    // console lines about failed loads, not script errors): nothing else may be logged.
    let problems: Vec<String> = app
        .page_problems()
        .await
        .into_iter()
        .filter(|p| !(p.contains("Failed to load resource") && p.contains("503")))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}
