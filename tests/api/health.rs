//! The probes' own contract: fields, methods, headers, no cookie.

use std::time::Duration;

use crate::helpers::{Backend, TestApp, json};
use crate::on_both_backends;

on_both_backends!(a_healthy_app_reports_every_check);

async fn a_healthy_app_reports_every_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;

    let response = app.get("/health").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().get("set-cookie").is_none());
    let (status, body) = json(response).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "healthy");
    assert!(body["degraded_reason"].is_null());
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert!(
        body["checks"]["database"].get("error").is_none(),
        "no error text on /health"
    );
    assert_eq!(body["checks"]["redis"]["status"], "disabled");
    assert_eq!(body["checks"]["circuit_breaker"]["state"], "closed");
    assert_eq!(
        body["resilience"]["recovery_recommendation"]["action"],
        "none"
    );
    assert_eq!(
        body["resilience"]["thresholds"]["pool_saturation_warning"],
        0.9
    );
    assert_eq!(
        body["resilience"]["thresholds"]["restart_churn_threshold"],
        3
    );
    assert!(body["resilience"]["alerts"].as_array().unwrap().is_empty());
    assert_eq!(body["resilience"]["policy_state"], "allowed");
    assert_eq!(body["resilience"]["restart_churn"]["exceeded"], false);
    assert_eq!(
        body["resilience"]["restart_policy"]["workers"]["mode"],
        "in_process"
    );
}

#[tokio::test]
async fn probes_answer_head_and_refuse_other_methods() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_admin().await;
    for path in ["/health", "/health/live", "/health/deep"] {
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        let post = app
            .client
            .post(app.url(path))
            .header("x-csrf-token", app.csrf_token().await)
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 405, "POST {path}");
        assert!(post.headers()["allow"].to_str().unwrap().contains("GET"));
    }
}

#[tokio::test]
async fn live_touches_no_dependency_and_deep_reports_every_pool() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_admin().await;
    let (status, live) = json(app.get("/health/live").await).await;
    assert_eq!(status, 200);
    assert_eq!(live["status"], "alive");

    // Some traffic so the request pool has latencies to report.
    for _ in 0..3 {
        assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);
    }
    let (status, deep) = json(app.get("/health/deep").await).await;
    assert_eq!(status, 200, "{deep}");
    let pools: Vec<_> = deep["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(pools, ["request", "slow", "health"]);
    let request = &deep["pools"][0];
    assert!(request["calls"]["succeeded"].as_u64().unwrap() >= 1);
    assert!(request["calls"]["latency_ms"]["p99"].as_f64().unwrap() >= 0.0);
    assert_eq!(deep["circuit_breaker"]["state"], "closed");
    assert_eq!(deep["circuit_breaker"]["window_size"], 10);
    assert!(deep["process"]["pid"].as_u64().is_some());
    assert_eq!(deep["status"], "healthy");
}

#[tokio::test]
async fn health_is_memoized_outside_testing_mode() {
    // Development mode memoizes for HEALTH_MEMO_TTL_SECONDS.
    let app = TestApp::builder(Backend::Sqlite)
        .env("MES_ENV", "development")
        .env("HEALTH_MEMO_TTL_SECONDS", "30")
        .start()
        .await;
    app.login_as_user().await;
    let (_, first) = json(app.get("/health").await).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, second) = json(app.get("/health").await).await;
    assert_eq!(
        first["timestamp"], second["timestamp"],
        "served from the memo"
    );

    // Testing mode checks every time.
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;
    let (_, first) = json(app.get("/health").await).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, second) = json(app.get("/health").await).await;
    assert_ne!(first["timestamp"], second["timestamp"]);
}

/// Every header but `Date` and `X-Request-Id` (they differ between any two answers), sorted.
fn stable_headers(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect();
    headers.sort();
    headers
}

#[tokio::test]
async fn probes_answered_below_the_router_are_the_routers_answers() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("MES_ENV", "development")
        .env("HEALTH_MEMO_TTL_SECONDS", "30")
        .start()
        .await;
    // The memo may already hold a check (the health watch); a query always takes the router.
    let before = app.probes_answered();
    let routed = app.get("/health?from=router").await;
    assert_eq!(
        app.probes_answered(),
        before,
        "a query goes through the router"
    );
    let ready = app.get("/health").await;
    assert_eq!(
        app.probes_answered(),
        before + 1,
        "a fresh memo is answered at once"
    );
    assert_eq!(routed.status(), 200);
    assert_eq!(ready.status(), 200);
    assert_eq!(stable_headers(&ready), stable_headers(&routed));
    for name in ["content-security-policy", "cache-control", "content-type"] {
        assert!(ready.headers().contains_key(name), "{name}");
    }
    assert!(ready.headers().contains_key("x-request-id"));
    assert!(!ready.headers().contains_key("set-cookie"));
    let (routed_body, ready_body) = (routed.bytes().await.unwrap(), ready.bytes().await.unwrap());
    assert_eq!(
        ready_body, routed_body,
        "the memoized body, served either way"
    );

    // /health/live: the same contract either way, a caller's request id echoed.
    let routed = app.get("/health/live?from=router").await;
    let ready = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "lb-probe.7")
        .send()
        .await
        .unwrap();
    assert_eq!(app.probes_answered(), before + 2);
    assert_eq!(ready.headers()["x-request-id"], "lb-probe.7");
    assert_eq!(stable_headers(&ready), stable_headers(&routed));
    let (_, routed) = json(routed).await;
    let (status, ready) = json(ready).await;
    assert_eq!(status, 200);
    for field in ["status", "pid", "app_version"] {
        assert_eq!(ready[field], routed[field], "{field}");
    }

    // HEAD, and a GET that declares a body, go through the router.
    let head = app.client.head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let with_body = app
        .client
        .get(app.url("/health"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(with_body.status(), 200);
    assert_eq!(app.probes_answered(), before + 2);

    // While the server drains, the answer below the router says so too.
    app.state()
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let draining = app.get("/health").await;
    assert_eq!(app.probes_answered(), before + 3);
    assert_eq!(draining.headers()["connection"], "close");
    app.state()
        .draining
        .store(false, std::sync::atomic::Ordering::Relaxed);
}
