//! `GET /api/events`: the page event stream (wip, equipment, health), its bound per worker,
//! and how it ends (logout on any instance, shutdown); the absolute session lifetime.

use std::time::{Duration, Instant};

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::simulate;
use serde_json::Value;

use crate::helpers::{
    Backend, TEST_PASSWORD, TestApp, USER, assert_error, bare_client, json, set_session_cookie,
};
use crate::on_both_backends;
use crate::sse::Events;

on_both_backends!(a_page_stream_announces_each_new_wip_version_tool_changes_and_health);

/// Generous bound on anything that should happen within an interval or two, on a loaded
/// 2-core machine.
const DEADLINE: Duration = Duration::from_secs(30);

async fn open_events(app: &TestApp) -> Events {
    let response = app.get("/api/events").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    Events::new(response)
}

fn served_version(app: &TestApp) -> String {
    app.state()
        .wip
        .current()
        .expect("a snapshot")
        .version
        .clone()
}

async fn remove_a_lot(app: &TestApp, backend: Backend, lot_id: &str) {
    let url = app.database_url();
    let sql = "DELETE FROM lots WHERE lot_id = $1";
    match backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(lot_id).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(lot_id).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn a_page_stream_announces_each_new_wip_version_tool_changes_and_health(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("CACHE_CHECK_INTERVAL", "1")
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .start()
        .await;
    app.login_as_user().await;
    let mut events = open_events(&app).await;
    let until = Instant::now() + DEADLINE;

    // At connect: the version being served.
    let first = events.next_named("wip", until).await.expect("a wip event");
    let version = first["version"].as_str().unwrap().to_string();
    assert_eq!(version, served_version(&app));
    assert!(
        first["updated_at"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );

    // The data changes: the next `wip` event names the new version, the one now served.
    let lot = app.factory.as_ref().unwrap().lots[0].lot_id.clone();
    remove_a_lot(&app, backend, &lot).await;
    let next = events
        .next_named("wip", until)
        .await
        .expect("a second wip event");
    let new_version = next["version"].as_str().unwrap();
    assert_ne!(new_version, version);
    assert_eq!(new_version, served_version(&app));

    // A tool changes: an `equipment` event carries it.
    let tool = app
        .factory
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .find(|t| t.e10_state != "UDT")
        .map(|t| t.equipment_id.clone())
        .unwrap();
    let db = Database::connect_lazy(&Settings::for_tests(&app.database_url(), &[])).unwrap();
    simulate::set_tool_state(&db.request, &tool, "UDT", None, chrono::Utc::now())
        .await
        .expect("flip the tool");
    db.close().await;
    loop {
        let change = events
            .next_named("equipment", until)
            .await
            .unwrap_or_else(|| panic!("no equipment event for {tool}"));
        let changed = change["changed"].as_array().unwrap();
        if let Some(found) = changed.iter().find(|t| t["equipment_id"] == tool.as_str()) {
            assert_eq!(found["e10_state"], "UDT", "{change}");
            break;
        }
    }

    // The health watch runs while a stream is open: its status arrives.
    let health = events
        .seen_or_next("health", until)
        .await
        .expect("a health event");
    assert_eq!(health["status"], "healthy", "{health}");

    // Shutdown ends the stream.
    let _ = app.shutdown().await;
    let until = Instant::now() + DEADLINE;
    while events.next_block(until).await.is_some() {}
    assert!(events.ended, "the stream ended at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_needs_a_login_and_is_bounded_per_worker() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("EVENT_STREAMS_MAX", "2")
        .start()
        .await;
    let (status, body) = json(app.get("/api/events").await).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");

    app.login_as_user().await;
    let first = open_events(&app).await;
    // The equipment stream counts against the same places.
    let second = app.get("/api/resource/status/stream").await;
    assert_eq!(second.status(), 200);
    let refused = app.get("/api/events").await;
    assert_eq!(refused.headers()["retry-after"], "10");
    let (status, body) = json(refused).await;
    assert_error(status, &body, 503, "SERVICE_UNAVAILABLE");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("EVENT_STREAMS_MAX"), "{message}");

    // A closed stream frees its place.
    drop(first);
    let until = Instant::now() + DEADLINE;
    loop {
        let response = app.get("/api/events").await;
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < until, "the place was freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
}

/// Logs `USER` in on `app` with explicit cookies (usable on every instance): the session
/// cookie and the CSRF token.
async fn login_cookie(app: &TestApp) -> (String, String) {
    let anonymous = bare_client()
        .get(app.url("/api/auth/csrf"))
        .send()
        .await
        .unwrap();
    let cookie = set_session_cookie(&anonymous).unwrap();
    let (_, body) = json(anonymous).await;
    let login = bare_client()
        .post(app.url("/api/auth/login"))
        .header("cookie", &cookie)
        .header("x-csrf-token", body["data"]["csrf_token"].as_str().unwrap())
        .json(&serde_json::json!({"username": USER, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = set_session_cookie(&login).unwrap();
    let (status, body) = json(login).await;
    assert_eq!(status, 200, "{body}");
    (
        cookie,
        body["data"]["csrf_token"].as_str().unwrap().to_string(),
    )
}

async fn stream_with(app: &TestApp, path: &str, cookie: &str) -> Events {
    let response = bare_client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let mut events = Events::new(response);
    assert!(
        events.next_block(Instant::now() + DEADLINE).await.is_some(),
        "{path}: the greeting"
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_streams_on_both_well_before_a_keep_alive() {
    // Keep-alives every 60 s: an end seen sooner comes from the session watch, not from them.
    let env = [("EQUIPMENT_STREAM_KEEPALIVE_SECONDS", "60")];
    let app = TestApp::builder(Backend::Sqlite)
        .env(env[0].0, env[0].1)
        .start()
        .await;
    let other = app.another_instance(&env).await;
    let (cookie, token) = login_cookie(&app).await;
    let mut streams = [
        stream_with(&app, "/api/events", &cookie).await,
        stream_with(&app, "/api/resource/status/stream", &cookie).await,
        stream_with(&other, "/api/events", &cookie).await,
    ];

    let logout = bare_client()
        .post(other.url("/api/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let logged_out = Instant::now();

    for (n, events) in streams.iter_mut().enumerate() {
        let until = logged_out + Duration::from_secs(20);
        while events.next_block(until).await.is_some() {}
        assert!(events.ended, "stream {n} ended after the logout");
    }
    // The watch checks every 0.4 s; the bound leaves room for a loaded machine and stays far
    // below the 60 s keep-alive.
    let took = logged_out.elapsed();
    assert!(took < Duration::from_secs(20), "{took:?}");
    println!("streams ended {took:?} after the logout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_cannot_extend_a_session_past_its_absolute_lifetime() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("SESSION_LIFETIME", "3600")
        .env("SESSION_ABSOLUTE_LIFETIME", "120")
        .start()
        .await;
    let (cookie, token) = login_cookie(&app).await;
    let max_age = |response: &reqwest::Response| -> i64 {
        let set = set_session_cookie(response).expect("a Set-Cookie");
        let header = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.contains(&set))
            .unwrap();
        header
            .split(';')
            .find_map(|part| part.trim().strip_prefix("Max-Age="))
            .expect("Max-Age")
            .parse()
            .unwrap()
    };
    let heartbeat = bare_client()
        .patch(app.url("/api/auth/heartbeat"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(heartbeat.status(), 200);
    let age = max_age(&heartbeat);
    assert!(
        (1..=120).contains(&age),
        "a heartbeat extends to the absolute end (≤ 120 s after login), not by SESSION_LIFETIME: {age}"
    );

    // The stored session ends there too.
    let row: (String, chrono::DateTime<chrono::Utc>) = {
        let pool = sqlx::SqlitePool::connect(&app.database_url())
            .await
            .unwrap();
        let row = sqlx::query_as("SELECT data, expires_at FROM sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row
    };
    let data: Value = serde_json::from_str(&row.0).unwrap();
    let logged_in: chrono::DateTime<chrono::Utc> =
        data["logged_in_at"].as_str().unwrap().parse().unwrap();
    assert!(
        row.1 <= logged_in + chrono::Duration::seconds(120),
        "{row:?}"
    );
}
