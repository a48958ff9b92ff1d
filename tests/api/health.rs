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
