//! The harness's own checks: the problem listeners see what they claim to see, the browser
//! speaks the language it is given, and a download carries the browser's session.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::FutureExt;
use serde_json::{Value, json};

use super::session::WINDOW;
use super::{Browser, BrowserApp, BrowserOptions, DEADLINE, poll_until};
use crate::helpers::{Backend, TEST_PASSWORD, TestApp, USER, bare_client};

const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'";

/// A page that breaks every rule: an inline script under a CSP that forbids it, and a script
/// of its own origin that throws and leaves a rejected promise unhandled.
const BAD_PAGE: &str = "<!doctype html><html><head><title>bad</title></head><body>\
    <p>bad page</p>\
    <script>document.body.dataset.inline = 'ran';</script>\
    <script src=\"/throws.js\"></script>\
    </body></html>";
const THROWS_JS: &str = "Promise.reject(new Error('rejected on purpose'));\n\
    throw new Error('thrown on purpose');\n";

/// The same CSP, kept: one script from its own origin that runs cleanly.
const CLEAN_PAGE: &str = "<!doctype html><html><head><title>clean</title></head><body>\
    <p>clean page</p><script src=\"/fine.js\"></script></body></html>";
const FINE_JS: &str = "document.body.dataset.ran = 'yes';\n";

/// A tiny site of the test's own, on a free port; it records the `Accept-Language` it was
/// sent.
async fn bad_site() -> (SocketAddr, Arc<Mutex<Option<String>>>) {
    let language = Arc::new(Mutex::new(None));
    let seen = language.clone();
    let html = move |body: &'static str| {
        let seen = seen.clone();
        move |headers: HeaderMap| async move {
            let lang = headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            *seen.lock().unwrap() = lang;
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, STRICT_CSP),
                ],
                body,
            )
                .into_response()
        }
    };
    let script = |body: &'static str| async move {
        ([(header::CONTENT_TYPE, "text/javascript")], body).into_response()
    };
    let router = Router::new()
        .route("/bad", get(html(BAD_PAGE)))
        .route("/clean", get(html(CLEAN_PAGE)))
        .route("/throws.js", get(move || script(THROWS_JS)))
        .route("/fine.js", get(move || script(FINE_JS)))
        // The browser asks for it; a 404 would be a console error of its own.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, language)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_problems_catch_a_csp_violation_a_script_error_and_a_rejection() {
    let Some(browser) = Browser::start(&BrowserOptions::default()).await else {
        return;
    };
    let (addr, language) = bad_site().await;

    // A clean page under the same policy: nothing to report, so a report below is no noise.
    browser.goto(&format!("http://{addr}/clean")).await;
    browser
        .wait_for_js(
            "the clean page's script ran",
            DEADLINE,
            "return document.body.dataset.ran === 'yes';",
            vec![],
        )
        .await;
    browser.assert_no_page_problems().await;
    // zh-TW unless a test says otherwise: in the request, in the page, on a desktop screen.
    let sent = language.lock().unwrap().clone().unwrap_or_default();
    assert!(sent.starts_with("zh-TW"), "Accept-Language: {sent}");
    let seen = browser
        .js("return [navigator.language, window.innerWidth];", vec![])
        .await;
    assert_eq!(seen, json!(["zh-TW", WINDOW.0]), "language and width");

    browser.goto(&format!("http://{addr}/bad")).await;
    assert_eq!(
        browser
            .js("return document.body.dataset.inline || null;", vec![])
            .await,
        Value::Null,
        "the CSP kept the inline script from running"
    );
    let mut problems = Vec::new();
    let wanted = [
        "page: CSP violation (enforce): script-src-elem blocked inline",
        "page: script error: Uncaught Error: thrown on purpose",
        "page: unhandled rejection: Error: rejected on purpose",
        "console: ",
    ];
    let complete = poll_until(DEADLINE, async || {
        problems.extend(browser.page_problems().await);
        wanted
            .iter()
            .all(|w| problems.iter().any(|p| p.contains(w)))
            .then_some(())
    })
    .await;
    assert!(complete.is_some(), "want {wanted:#?}\nsaw {problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("console: ") && p.contains("thrown on purpose")),
        "the console log is read too: {problems:#?}"
    );

    // And the assertion fails on them, with their text.
    browser.goto(&format!("http://{addr}/bad")).await;
    let failed = std::panic::AssertUnwindSafe(browser.assert_no_page_problems())
        .catch_unwind()
        .await
        .expect_err("assert_no_page_problems fails on the bad page");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("thrown on purpose") && message.contains("CSP violation"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_carries_the_browser_session_and_a_test_may_choose_english() {
    let english = BrowserOptions { lang: "en".into() };
    let builder = TestApp::builder(Backend::Sqlite);
    let Some(app) = BrowserApp::start(builder, english).await else {
        return;
    };
    assert_eq!(
        app.js("return navigator.language;", vec![]).await,
        "en",
        "the test's language"
    );
    app.login_through_form(USER, TEST_PASSWORD).await;

    // Pages will offer CSV links; until then, a link to a JSON API proves the same path.
    app.js(
        "var a = document.createElement('a'); a.id = 'test-link'; \
         a.href = '/api/wip/overview/summary'; a.textContent = 'summary'; \
         document.body.appendChild(a);",
        vec![],
    )
    .await;
    let download = app.download("#test-link").await;
    assert!(
        download.headers[header::CONTENT_TYPE.as_str()]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        download.headers
    );
    let body: Value = serde_json::from_slice(&download.bytes).expect("JSON");
    let lots = app.factory().lots.len();
    assert_eq!(body["data"]["total"]["lots"], lots, "{body}");
    // Without the browser's cookie the same link is refused: the session made the difference.
    let stranger = bare_client()
        .get(app.url("/api/wip/overview/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
    app.assert_no_page_problems().await;
}
