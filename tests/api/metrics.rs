//! `GET /metrics`: Prometheus text for an administrator or a direct loopback scraper; anyone
//! coming through a proxy needs the administrator's session.

use crate::helpers::{Backend, TestApp, assert_error, client, json};

/// Every metric family the endpoint promises.
const FAMILIES: [&str; 16] = [
    "mes_process_uptime_seconds",
    "mes_http_requests_total",
    "mes_db_pool_size",
    "mes_db_pool_in_use",
    "mes_db_pool_idle",
    "mes_db_pool_max",
    "mes_circuit_breaker_state",
    "mes_circuit_breaker_failure_rate",
    "mes_wip_cache_state",
    "mes_wip_cache_age_seconds",
    "mes_wip_cache_lots",
    "mes_wip_db_loads_total",
    "mes_equipment_db_reads_total",
    "mes_redis_available",
    "mes_redis_enabled",
    "mes_csrf_rejections_total",
];

/// The value of the sample `name` (with its labels, as written) in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_loopback_scraper_reads_the_metrics_without_a_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // One request through the WIP API so the cache is loaded and a request is counted.
    app.login_as_user().await;
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);

    let response = client().get(app.url("/metrics")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    for family in FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    assert!(
        sample(&text, "mes_http_requests_total").unwrap() >= 1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "mes_circuit_breaker_state"), Some(0.0));
    assert_eq!(
        sample(&text, "mes_wip_cache_state{state=\"fresh\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "mes_wip_cache_lots"),
        Some(app.factory.as_ref().unwrap().lots.len() as f64)
    );
    // No Redis: this one process loaded the WIP from the database.
    assert!(
        sample(&text, "mes_wip_db_loads_total").unwrap() >= 1.0,
        "{text}"
    );
    let max = app.state().db.request.max_connections();
    assert_eq!(
        sample(&text, "mes_db_pool_max{pool=\"request\"}"),
        Some(f64::from(max))
    );
    assert_eq!(sample(&text, "mes_db_pool_max{pool=\"health\"}"), Some(1.0));
    assert_eq!(sample(&text, "mes_redis_enabled"), Some(0.0));
    // Every sample line is `name[{labels}] number`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[tokio::test]
async fn through_a_proxy_only_an_administrator_reads_the_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Anonymous, forwarded by a proxy: refused even though the socket peer is loopback.
    let anonymous = client()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let (status, body) = json(anonymous).await;
    assert_error(status, &body, 403, "FORBIDDEN");

    // A regular user through the proxy: refused.
    app.login_as_user().await;
    let user = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let (status, body) = json(user).await;
    assert_error(status, &body, 403, "FORBIDDEN");

    // An administrator through the proxy: served.
    app.login_as_admin().await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .header("forwarded", "for=203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("# TYPE mes_circuit_breaker_state gauge"),
        "{text}"
    );
}
