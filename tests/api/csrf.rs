//! The CSRF matrix: every state-changing route the router serves, read from the router itself,
//! against every way a forged or stale request can arrive (DESIGN §4.2).

use mes_dashboard::routes::inventory::{self, Route};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{ADMIN, Backend, TEST_PASSWORD, TestApp, USER, assert_error, json};
use crate::on_both_backends;

/// A session as seen from outside: its cookie and a token the server gave for it.
#[derive(Clone)]
pub(crate) struct Principal {
    pub(crate) cookie: String,
    pub(crate) token: String,
}

/// A client that keeps no cookies: every request says exactly which session it uses.
fn bare() -> reqwest::Client {
    crate::helpers::bare_client()
}

fn cookie_of(response: &reqwest::Response) -> Option<String> {
    crate::helpers::set_session_cookie(response)
}

async fn anonymous(app: &TestApp) -> Principal {
    let response = bare().get(app.url("/api/auth/csrf")).send().await.unwrap();
    let cookie = cookie_of(&response).expect("a session cookie");
    let (_, body) = json(response).await;
    Principal {
        cookie,
        token: body["data"]["csrf_token"].as_str().unwrap().into(),
    }
}

/// Logs `from` (an anonymous session) in as `user`; the new session.
async fn login(app: &TestApp, from: &Principal, user: &str) -> Principal {
    let response = bare()
        .post(app.url("/api/auth/login"))
        .header("cookie", &from.cookie)
        .header("x-csrf-token", &from.token)
        .json(&serde_json::json!({"username": user, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(&response).expect("login sets a new cookie");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(cookie, from.cookie, "the session id is rotated at login");
    Principal {
        cookie,
        token: body["data"]["csrf_token"].as_str().unwrap().into(),
    }
}

pub(crate) async fn logged_in(app: &TestApp, user: &str) -> Principal {
    let anon = anonymous(app).await;
    login(app, &anon, user).await
}

/// How one case sends its token.
enum Token<'a> {
    None,
    Header(&'a str),
    Field(&'a str),
    TwoHeaders(&'a str, &'a str),
    HeaderAndField(&'a str, &'a str),
}

struct Case<'a> {
    name: &'static str,
    cookie: Option<&'a str>,
    token: Token<'a>,
    extra_headers: Vec<(&'static str, String)>,
    /// `None`: the request must get past the CSRF check.
    expect: Option<&'static str>,
}

async fn send(app: &TestApp, route: &Route, case: &Case<'_>) -> reqwest::Response {
    let mut request = bare().request(route.method.clone(), app.url(&route.path));
    if let Some(cookie) = case.cookie {
        request = request.header("cookie", cookie);
    }
    for (name, value) in &case.extra_headers {
        request = request.header(*name, value);
    }
    let form = |fields: &[(&str, &str)]| {
        let encoded: String = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        encoded
    };
    request = match &case.token {
        Token::None => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("_method", "GET")])),
        Token::Header(t) => request
            .header("x-csrf-token", *t)
            .header("content-type", "application/json")
            .body("{}"),
        Token::Field(t) => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf_token", t)])),
        Token::TwoHeaders(a, b) => request
            .header("x-csrf-token", *a)
            .header("x-csrf-token", *b)
            .header("content-type", "application/json")
            .body("{}"),
        Token::HeaderAndField(h, f) => request
            .header("x-csrf-token", *h)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf_token", f)])),
    };
    request.send().await.unwrap()
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts one answer against its expectation; `what` names the case for messages.
async fn check(route: &Route, case: &Case<'_>, response: reqwest::Response) {
    let what = format!("{} {} / {}", route.method, route.pattern, case.name);
    let set_cookie = cookie_of(&response);
    let status = response.status().as_u16();
    let json_path = mes_dashboard::http::is_json_path(&route.path);
    let text = response.text().await.unwrap();
    match case.expect {
        Some(code) => {
            assert!(set_cookie.is_none(), "{what}: a rejection sets no cookie");
            if json_path {
                let body: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
                assert_error(status, &body, 403, code);
                let message = body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains("X-CSRF-Token") || message.contains("TRUSTED_ORIGINS"),
                    "{what}: the message says what to send: {message}"
                );
            } else {
                assert_eq!(status, 403, "{what}: {text}");
                assert!(text.contains(code), "{what}: the page names {code}");
                // zh-TW, the default language: "reload the form".
                assert!(text.contains("重新載入表單"), "{what}: {text}");
            }
        }
        None => {
            assert!(
                !(status == 403 && text.contains("CSRF_")),
                "{what}: a valid request must pass the CSRF check, got {status}: {text}"
            );
        }
    }
}

on_both_backends!(every_state_changing_route_refuses_forged_requests);

async fn every_state_changing_route_refuses_forged_requests(backend: Backend) {
    let app = TestApp::builder(backend).seed(None).start().await;
    let router = mes_dashboard::routes::router().with_state(app.state().clone());
    let routes = inventory::state_changing(router).await;

    // The walk must see the routes we know of; new ones are covered without being listed here.
    for (method, pattern) in [
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/logout"),
        ("PATCH", "/api/auth/heartbeat"),
        ("POST", "/api/wip/lots/lookup"),
        ("PUT", "/admin/api/pages/{route}"),
        ("POST", "/admin/login"),
        ("POST", "/admin/logout"),
        ("POST", "/admin/pages"),
    ] {
        assert!(
            routes
                .iter()
                .any(|r| r.method.as_str() == method && r.pattern == pattern),
            "{method} {pattern} missing from the router walk: {routes:?}"
        );
    }
    assert!(routes.iter().all(|r| r.method != Method::GET));

    let other = logged_in(&app, USER).await;
    let foreign_token = other.token.clone();
    let wrong = "A".repeat(86);

    for route in &routes {
        // A fresh administrator per route: the valid cases may log it out.
        let victim = logged_in(&app, ADMIN).await;
        let before = anonymous(&app).await;
        let after_login = login(&app, &before, ADMIN).await;
        let ended = logged_in(&app, USER).await;
        let logout = bare()
            .post(app.url("/api/auth/logout"))
            .header("cookie", &ended.cookie)
            .header("x-csrf-token", &ended.token)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 200);

        let v = victim.cookie.as_str();
        let vt = victim.token.as_str();
        let cases = [
            Case {
                name: "no token (and a _method=GET field)",
                cookie: Some(v),
                token: Token::None,
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_MISSING"),
            },
            Case {
                name: "method-override headers without a token",
                cookie: Some(v),
                token: Token::None,
                extra_headers: vec![
                    ("x-http-method-override", "GET".into()),
                    ("x-method-override", "GET".into()),
                ],
                expect: Some("CSRF_TOKEN_MISSING"),
            },
            Case {
                name: "an empty X-CSRF-Token header (missing, not invalid)",
                cookie: Some(v),
                token: Token::Header(""),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_MISSING"),
            },
            Case {
                name: "an empty csrf_token field (missing, not invalid)",
                cookie: Some(v),
                token: Token::Field(""),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_MISSING"),
            },
            Case {
                name: "wrong token",
                cookie: Some(v),
                token: Token::Header(&wrong),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "oversized token",
                cookie: Some(v),
                token: Token::Header(&"x".repeat(4096)),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "another session's token",
                cookie: Some(v),
                token: Token::Header(&foreign_token),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "token from before login",
                cookie: Some(&after_login.cookie),
                token: Token::Header(&before.token),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "token after logout",
                cookie: Some(&ended.cookie),
                token: Token::Header(&ended.token),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "a token without any session",
                cookie: None,
                token: Token::Header(vt),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "two token headers",
                cookie: Some(v),
                token: Token::TwoHeaders(vt, &wrong),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "header and field disagree",
                cookie: Some(v),
                token: Token::HeaderAndField(vt, &wrong),
                extra_headers: vec![],
                expect: Some("CSRF_TOKEN_INVALID"),
            },
            Case {
                name: "cross-site Sec-Fetch-Site",
                cookie: Some(v),
                token: Token::Header(vt),
                extra_headers: vec![("sec-fetch-site", "cross-site".into())],
                expect: Some("CSRF_ORIGIN_REJECTED"),
            },
            Case {
                name: "foreign Origin",
                cookie: Some(v),
                token: Token::Header(vt),
                extra_headers: vec![("origin", "https://evil.example".into())],
                expect: Some("CSRF_ORIGIN_REJECTED"),
            },
            Case {
                name: "null Origin",
                cookie: Some(v),
                token: Token::Header(vt),
                extra_headers: vec![("origin", "null".into())],
                expect: Some("CSRF_ORIGIN_REJECTED"),
            },
            Case {
                name: "same Origin, other port",
                cookie: Some(v),
                token: Token::Header(vt),
                extra_headers: vec![("origin", "http://127.0.0.1:1".into())],
                expect: Some("CSRF_ORIGIN_REJECTED"),
            },
        ];
        for case in &cases {
            let response = send(&app, route, case).await;
            check(route, case, response).await;
        }

        // The valid ways, each with a fresh session (a valid logout ends its session).
        let fresh = logged_in(&app, ADMIN).await;
        let case = Case {
            name: "valid form field with same-origin headers",
            cookie: Some(&fresh.cookie),
            token: Token::Field(&fresh.token),
            extra_headers: vec![
                ("origin", format!("http://{}", app.addr)),
                ("sec-fetch-site", "same-origin".into()),
            ],
            expect: None,
        };
        check(route, &case, send(&app, route, &case).await).await;
        let fresh = logged_in(&app, ADMIN).await;
        let case = Case {
            name: "valid header",
            cookie: Some(&fresh.cookie),
            token: Token::Header(&fresh.token),
            extra_headers: vec![],
            expect: None,
        };
        check(route, &case, send(&app, route, &case).await).await;
    }
}

#[tokio::test]
async fn trace_is_refused_and_unknown_methods_are_checked() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let token = app.login_as_user().await;

    let trace = app
        .client
        .request(Method::TRACE, app.url("/api/auth/me"))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), 405);

    let (status, body) = json(
        app.client
            .request(
                Method::from_bytes(b"PURGE").unwrap(),
                app.url("/api/auth/me"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 403, "CSRF_TOKEN_MISSING");

    // The query string is never read.
    let (status, body) = json(
        app.client
            .post(app.url(&format!("/api/auth/logout?csrf_token={token}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 403, "CSRF_TOKEN_MISSING");
    assert_eq!(
        app.get("/api/auth/me").await.status(),
        200,
        "still logged in"
    );
}

#[tokio::test]
async fn a_trusted_origin_is_accepted_and_same_site_needs_it() {
    let app = TestApp::builder(Backend::Sqlite)
        .seed(None)
        .env("TRUSTED_ORIGINS", "https://portal.example.com")
        .start()
        .await;
    app.login_as_user().await;
    let app = &app;
    let send = |origin: &'static str, site: &'static str| async move {
        let token = app.csrf_token().await;
        app.client
            .patch(app.url("/api/auth/heartbeat"))
            .header("x-csrf-token", token)
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(send("https://portal.example.com", "same-site").await, 200);
    assert_eq!(send("https://other.example.com", "same-site").await, 403);
    assert_eq!(
        send("http://portal.example.com", "same-origin").await,
        403,
        "scheme counts"
    );
}

#[tokio::test]
async fn report_only_logs_and_counts_the_verdict_and_lets_the_request_through() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("CSRF_MODE", "report-only")
        .start()
        .await;
    app.login_as_user().await;
    let stats = &app.state().csrf_stats;
    let lookup = serde_json::json!({"lot_ids": ["NOPE-1"]});

    let (status, body) = json(app.post_json("/api/wip/lots/lookup", &lookup).await).await;
    assert_eq!(status, 200, "served although it has no token: {body}");
    let response = app
        .client
        .post(app.url("/api/wip/lots/lookup"))
        .header("origin", "https://evil.example")
        .json(&lookup)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    use std::sync::atomic::Ordering;
    assert_eq!(stats.reported.load(Ordering::Relaxed), 2);
    assert_eq!(stats.rejected.load(Ordering::Relaxed), 0);

    let enforcing = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    enforcing.login_as_user().await;
    let (status, body) = json(enforcing.post_json("/api/auth/logout", &lookup).await).await;
    assert_error(status, &body, 403, "CSRF_TOKEN_MISSING");
    assert_eq!(
        enforcing
            .state()
            .csrf_stats
            .rejected
            .load(Ordering::Relaxed),
        1
    );
}
