//! The HTTP contract: envelope, error codes, HTML versus JSON, limits, headers, panics and
//! timeouts, over real HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mes_dashboard::app::{App, AppState};
use mes_dashboard::config::Settings;
use mes_dashboard::http::router;
use mes_dashboard::http::server::{self, ConnectionLimits, DrainSettings};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TestApp, TestDb, assert_error, client, json};
use crate::on_both_backends;

/// The production stack with extra routes only a test can want (a panic, a slow handler).
struct Harness {
    addr: SocketAddr,
    stop: CancellationToken,
    _db: TestDb,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn with_extra_routes(env: &[(&str, &str)]) -> Harness {
    let db = TestDb::new(Backend::Sqlite).await;
    let settings = Settings::for_tests(&db.url, env);
    mes_dashboard::db::prepare(&settings).await.unwrap();
    let state = AppState(Arc::new(App::build(settings, None).unwrap()));
    let extra: Router<AppState> = Router::new()
        .route(
            "/api/test/panic",
            get(|| async {
                if true {
                    panic!("the handler broke: internal-marker-42");
                }
                "unreachable"
            }),
        )
        .route(
            "/api/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/test/degraded-page",
            get(|| async {
                mes_dashboard::http::AppError::Db(mes_dashboard::db::DbError::PoolExhausted {
                    retry_after: 5,
                })
            }),
        )
        .route(
            "/test/panic-page",
            get(|| async {
                if true {
                    panic!("page broke");
                }
                "unreachable"
            }),
        );
    let routes = mes_dashboard::routes::router()
        .merge(extra)
        .with_state(state.clone());
    let app = router::with_middleware(routes, &state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let drain = DrainSettings {
        keepalive_drain: Duration::from_millis(100),
        graceful_timeout: Duration::from_secs(10),
        draining: state.draining.clone(),
    };
    let limits = ConnectionLimits::from_settings(&state.config);
    let probes = router::probes(&state);
    tokio::spawn(server::serve(
        listener,
        app,
        Some(probes),
        stop.clone(),
        drain,
        limits,
    ));
    Harness {
        addr,
        stop,
        _db: db,
    }
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404_and_pages_an_html_404() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;

    let (status, body) = json(app.get("/api/no/such/thing").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");

    let page = app.get("/no-such-page").await;
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("找不到頁面"), "zh-TW by default: {html}");
}

#[tokio::test]
async fn a_json_endpoint_refuses_other_content_types_with_415() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;
    let response = app
        .client
        .post(app.url("/api/wip/lots/lookup"))
        .header("x-csrf-token", app.csrf_token().await)
        .header("content-type", "text/plain")
        .body(r#"{"lot_ids":["A1"]}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_error(status, &body, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
}

#[tokio::test]
async fn malformed_or_mistyped_json_is_a_400_that_names_the_problem() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login_as_user().await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/api/wip/lots/lookup"))
            .header("x-csrf-token", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let (status, body) = json(send(r#"{"lot_ids": ["A1""#).await.unwrap()).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON")
    );

    let (status, body) = json(send(r#"{"lot_ids": "A1"}"#).await.unwrap()).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lot_ids"),
        "{body}"
    );

    let (status, body) = json(send(r#"{"lot_ids": [], "extra": 1}"#).await.unwrap()).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("extra"),
        "{body}"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_declared_or_streamed() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("MAX_JSON_BODY_BYTES", "2048")
        .start()
        .await;
    app.login_as_user().await;
    let big = json!({"lot_ids": vec!["A".repeat(30); 200]});

    let (status, body) = json(app.post_json_with_csrf("/api/wip/lots/lookup", &big).await).await;
    assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");
    assert!(body["error"]["message"].as_str().unwrap().contains("2048"));

    // Chunked: no Content-Length, so the limit applies while reading.
    let bytes = serde_json::to_vec(&big).unwrap();
    let stream = futures_util::stream::iter(
        bytes
            .chunks(512)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let response = app
        .client
        .post(app.url("/api/wip/lots/lookup"))
        .header("x-csrf-token", app.csrf_token().await)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_allow_and_the_envelope() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;
    // With a valid token, so the CSRF check (which comes first) lets it reach the router.
    let response = app
        .client
        .delete(app.url("/api/wip/overview/summary"))
        .header("x-csrf-token", app.csrf_token().await)
        .send()
        .await
        .unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET"), "{allow}");
    let (status, body) = json(response).await;
    assert_error(status, &body, 405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;
    for path in ["/api/wip/overview/summary", "/no-such-page", "/api/nothing"] {
        let response = app.get(path).await;
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(h.contains_key("referrer-policy"));
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS in testing"
        );
        assert!(h.contains_key("x-request-id"));
    }
    let echoed = app
        .client
        .get(app.url("/api/wip/overview/summary"))
        .header("x-request-id", "lb-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "lb-abc.123");
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
    let h = with_extra_routes(&[]).await;
    let http = client();

    let response = http
        .get(format!("http://{}/api/test/panic", h.addr))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let (status, body) = json(response).await;
    assert_error(status, &body, 500, "INTERNAL_ERROR");
    assert!(
        !body.to_string().contains("internal-marker-42"),
        "no internal text outside development"
    );
    assert!(body["error"].get("details").is_none());

    let page = http
        .get(format!("http://{}/test/panic-page", h.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 500);
    assert!(page.text().await.unwrap().contains("系統發生錯誤"));

    let again = http
        .get(format!("http://{}/health/live", h.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn development_mode_shows_internal_details_and_testing_does_not() {
    let h = with_extra_routes(&[("MES_ENV", "development")]).await;
    let (status, body) = json(
        client()
            .get(format!("http://{}/api/test/panic", h.addr))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 500, "INTERNAL_ERROR");
    assert!(
        body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("internal-marker-42"),
        "{body}"
    );
}

#[tokio::test]
async fn a_handler_slower_than_the_request_timeout_is_cut_with_503() {
    let h = with_extra_routes(&[("REQUEST_TIMEOUT_SECONDS", "1")]).await;
    let started = std::time::Instant::now();
    let response = client()
        .get(format!("http://{}/api/test/slow", h.addr))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = json(response).await;
    assert_error(status, &body, 503, "SERVICE_UNAVAILABLE");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_stops_listening() {
    let h = with_extra_routes(&[("REQUEST_TIMEOUT_SECONDS", "30")]).await;
    let url = format!("http://{}/api/test/slow", h.addr);
    let slow = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    h.stop.cancel();

    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["connection"], "close");
    assert_eq!(response.text().await.unwrap(), "late");
    assert!(
        tokio::net::TcpStream::connect(h.addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn shutdown_drains_then_runs_every_stop_hook_in_order() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);
    let (drain, hooks) = app.shutdown().await;
    assert!(drain.duration < Duration::from_secs(5));
    assert_eq!(drain.forced, 0);
    assert!(hooks.clean(), "{hooks:?}");
    let names: Vec<_> = hooks.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, crate::helpers::SHUTDOWN_ORDER);
}

#[tokio::test]
async fn a_degraded_page_keeps_the_status_and_counts_down_its_retry() {
    let h = with_extra_routes(&[]).await;
    let page = client()
        .get(format!("http://{}/test/degraded-page", h.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "5");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("DB_POOL_EXHAUSTED"), "{html}");
    assert!(html.contains("data-retry-after=\"5\""), "{html}");
    let countdown = mes_dashboard::assets::url("js/pages/error.js").unwrap();
    assert!(
        html.contains(&format!("<script src=\"{countdown}\">")),
        "it retries by itself: {html}"
    );
    let script = mes_dashboard::assets::by_path("js/pages/error.js").unwrap();
    assert!(String::from_utf8_lossy(script.bytes).contains("location.reload()"));
}

on_both_backends!(text_parameters_with_nul_or_invalid_utf8_are_400_naming_the_parameter);

/// A NUL or an invalid UTF-8 sequence in any text parameter — query, path, form or JSON — is
/// 400 `VALIDATION_ERROR` naming it, never a database error (PostgreSQL refuses NUL in text;
/// before the fix such a value reached the query, or was silently replaced by U+FFFD).
async fn text_parameters_with_nul_or_invalid_utf8_are_400_naming_the_parameter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_admin().await;
    let gets = [
        ("/api/wip/detail/A%00B", "workcenter"),
        ("/api/wip/lot/L%00T", "lotid"),
        ("/api/hold-overview/lots?reason=a%00b", "reason"),
        ("/api/hold-overview/lots?workcenter=%FF%FE", "workcenter"),
        ("/api/wip/detail/WC?package=P%00", "package"),
        ("/admin/api/audit?action=worker.%00restart", "action"),
    ];
    for (path, name) in gets {
        let (status, body) = json(app.get(path).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        // Named literally: `name` by the text check, or `name:` by the WIP filters' own
        // validation, which refuses control characters in a value first.
        assert!(
            message.contains(&format!("`{name}`")) || message.contains(&format!("{name}:")),
            "{path}: {message}"
        );
    }
    let posts = [
        (
            "/api/resource/history/query",
            json!({"from": "2024-01-01", "to": "2024-01-02",
                   "workcenter_group": "W\u{0}C"}),
            "workcenter_group",
        ),
        (
            "/api/wip/lots/lookup",
            json!({"lot_ids": ["A", "B\u{0}"]}),
            "lot_ids[1]",
        ),
    ];
    for (path, payload, name) in posts {
        let (status, body) = json(app.post_json_with_csrf(path, &payload).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{name}`")), "{path}: {message}");
    }
    let (status, body) = json(
        app.put_json_with_csrf("/admin/api/pages/%2Fwip%00", &json!({"status": "dev"}))
            .await,
    )
    .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // A form (the login page): 400, the page says which field.
    let token = app.csrf_token().await;
    let response = app
        .client
        .post(app.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}&username=de%00mo&password=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("username"));
}
