//! Equipment status: the resource status APIs on the seeded factory, the event stream fed by
//! the sync, the fan-out between instances through Redis, the stop hook, and the simulator.

use std::time::{Duration, Instant};

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::lifecycle::Phase;
use mes_dashboard::lifecycle::shutdown::Outcome;
use mes_dashboard::simulate;
use mes_dashboard::with_conn;
use serde_json::Value;

use crate::helpers::{
    Backend, TestApp, TestDb, assert_error, json, rand_u64, redis_url, seed_database, small_factory,
};
use crate::on_both_backends;
use crate::sse::Events;

on_both_backends!(
    the_status_apis_answer_from_the_seeded_factory_and_filter,
    an_event_stream_pushes_a_flipped_tool_and_ends_at_shutdown,
    the_simulator_flips_tools_and_moves_lots_consistently,
);

/// Generous bound on anything that should happen within a sync interval or two, on a loaded
/// 2-core machine.
const DEADLINE: Duration = Duration::from_secs(30);

fn database(url: &str) -> Database {
    Database::connect_lazy(&Settings::for_tests(url, &[])).expect("database settings")
}

async fn the_status_apis_answer_from_the_seeded_factory_and_filter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();

    let (status, body) = json(app.get("/api/resource/status").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "fresh");
    assert_eq!(body["data"]["count"], factory.tools.len());
    let tools = body["data"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), factory.tools.len());
    for seeded in &factory.tools {
        let tool = tools
            .iter()
            .find(|t| t["equipment_id"] == seeded.equipment_id.as_str())
            .unwrap_or_else(|| panic!("{} is listed", seeded.equipment_id));
        assert_eq!(tool["e10_state"], seeded.e10_state, "{tool}");
        assert_eq!(tool["workcenter_id"], seeded.workcenter_id, "{tool}");
        let on_it: Vec<_> = factory
            .lots
            .iter()
            .filter(|l| l.equipment_id.as_deref() == Some(seeded.equipment_id.as_str()))
            .collect();
        assert_eq!(
            tool["lots"].as_array().unwrap().len(),
            on_it.len(),
            "{tool}"
        );
        let quantity: i64 = on_it.iter().map(|l| l.quantity).sum();
        assert_eq!(tool["track_in_quantity"], quantity, "{tool}");
    }

    // Filters: a workcenter, a state, several states, both.
    let wc = factory.tools[0].workcenter_id;
    let (status, body) = json(
        app.get(&format!("/api/resource/status?workcenter={wc}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let want = factory
        .tools
        .iter()
        .filter(|t| t.workcenter_id == wc)
        .count();
    assert_eq!(body["data"]["count"], want);
    assert!(
        body["data"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["workcenter_id"] == wc)
    );
    let (_, body) = json(app.get("/api/resource/status?state=PRD").await).await;
    let prd = factory
        .tools
        .iter()
        .filter(|t| t.e10_state == "PRD")
        .count();
    assert!(prd > 0, "the test factory has productive tools");
    assert_eq!(body["data"]["count"], prd);
    let (_, body) = json(app.get("/api/resource/status?state=prd,SBY").await).await;
    let up = factory
        .tools
        .iter()
        .filter(|t| matches!(t.e10_state, "PRD" | "SBY"))
        .count();
    assert_eq!(body["data"]["count"], up);
    let (_, body) = json(
        app.get(&format!("/api/resource/status?workcenter={wc}&state=PRD"))
            .await,
    )
    .await;
    let both = factory
        .tools
        .iter()
        .filter(|t| t.workcenter_id == wc && t.e10_state == "PRD")
        .count();
    assert_eq!(body["data"]["count"], both);

    // Summary: counts by state, AVAIL % over every tool (NST included), OU % over scheduled
    // (non-NST) tools (PRODUCT §2).
    let (status, body) = json(app.get("/api/resource/status/summary").await).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["total"], factory.tools.len());
    let count = |s: &str| factory.tools.iter().filter(|t| t.e10_state == s).count();
    for state in ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"] {
        assert_eq!(data["by_state"][state], count(state), "{state}");
    }
    let all = factory.tools.len() as f64;
    let availability =
        ((count("PRD") + count("SBY") + count("EGT")) as f64 / all * 10_000.0).round() / 100.0;
    assert_eq!(data["availability_pct"].as_f64(), Some(availability));
    let scheduled = (factory.tools.len() - count("NST")) as f64;
    let ou = (count("PRD") as f64 / scheduled * 10_000.0).round() / 100.0;
    assert_eq!(data["ou_pct"].as_f64(), Some(ou));
    let on_tools = factory
        .lots
        .iter()
        .filter(|l| l.equipment_id.is_some())
        .count();
    assert_eq!(data["lots_on_tools"], on_tools);

    // Matrix: a row per workcenter in route order, adding up to the fleet.
    let (status, body) = json(app.get("/api/resource/status/matrix").await).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["data"]["rows"].as_array().unwrap();
    let route: Vec<_> = factory.workcenters.iter().map(|w| w.id).collect();
    let listed: Vec<_> = rows
        .iter()
        .map(|r| r["workcenter"].as_str().unwrap())
        .collect();
    assert_eq!(listed, route);
    for row in rows {
        let wc = row["workcenter"].as_str().unwrap();
        let n = factory
            .tools
            .iter()
            .filter(|t| t.workcenter_id == wc)
            .count();
        assert_eq!(row["total"], n, "{row}");
    }
    assert_eq!(body["data"]["total"], factory.tools.len());
    assert_eq!(body["data"]["totals"]["PRD"], count("PRD"));

    // Bad filters: 400 naming the parameter.
    for (query, parameter) in [
        ("state=RUN", "state"),
        ("state=PRD,", "state"),
        ("workcenter=W%20B", "workcenter"),
        ("workcenter=", "workcenter"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = json(app.get(&format!("/api/resource/status?{query}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(parameter), "{query}: {message}");
    }
}

async fn open_stream(app: &TestApp) -> Events {
    let response = app.get("/api/resource/status/stream").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Events::new(response)
}

async fn wait_for_snapshot(app: &TestApp) {
    let until = Instant::now() + DEADLINE;
    while app.state().equipment.current().is_none() {
        assert!(Instant::now() < until, "the first equipment sync ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A tool of the factory not in `state`.
fn tool_not_in(app: &TestApp, state: &str) -> String {
    let factory = app.factory.as_ref().unwrap();
    factory
        .tools
        .iter()
        .find(|t| t.e10_state != state)
        .map(|t| t.equipment_id.clone())
        .expect("a tool to flip")
}

/// Waits for a change event naming `tool` in `state`.
async fn expect_flip(events: &mut Events, tool: &str, state: &str) -> Value {
    let until = Instant::now() + DEADLINE;
    loop {
        let Some(change) = events.next_change(until).await else {
            panic!("no change event for {tool} within {DEADLINE:?}");
        };
        let found = change["changed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["equipment_id"] == tool)
            .cloned();
        if let Some(found) = found {
            assert_eq!(found["e10_state"], state, "{change}");
            assert!(change["summary"]["by_state"][state].as_u64() >= Some(1));
            return found;
        }
    }
}

async fn an_event_stream_pushes_a_flipped_tool_and_ends_at_shutdown(backend: Backend) {
    let mut builder = TestApp::builder(backend)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "2")
        .env("EQUIPMENT_STREAM_KEEPALIVE_SECONDS", "1")
        .env("GRACEFUL_TIMEOUT", "30");
    if let Some(url) = redis_url("equipment stream") {
        builder = builder
            .env("REDIS_URL", &url)
            .env("REDIS_KEY_PREFIX", &format!("t{:x}", rand_u64()));
    }
    let app = builder.start().await;
    app.login_as_user().await;
    wait_for_snapshot(&app).await;
    let planned = app.state().shutdown.planned();
    assert!(
        planned.contains(&("equipment_sync".to_string(), Phase::EquipmentSync)),
        "{planned:?}"
    );

    let mut events = open_stream(&app).await;
    // Keep-alive comments flow while nothing changes.
    let until = Instant::now() + DEADLINE;
    while !events.comments.iter().any(|c| c.contains("keep-alive")) {
        assert!(
            events.next_block(until).await.is_some(),
            "a keep-alive comment within {DEADLINE:?}"
        );
    }

    let tool = tool_not_in(&app, "UDT");
    let db = database(&app.database_url());
    let flipped = simulate::set_tool_state(
        &db.request,
        &tool,
        "UDT",
        Some("Vacuum fault"),
        chrono::Utc::now(),
    )
    .await
    .expect("flip the tool");
    assert!(flipped);
    let flipped_at = Instant::now();
    db.close().await;

    let pushed = expect_flip(&mut events, &tool, "UDT").await;
    assert_eq!(pushed["state_reason"], "Vacuum fault");
    // Within one sync interval (2 s), plus the sync's own read and the push.
    let took = flipped_at.elapsed();
    assert!(
        took < Duration::from_millis(3500),
        "pushed {took:?} after the flip"
    );
    // The APIs serve the new state too.
    let (_, body) = json(app.get("/api/resource/status?state=UDT").await).await;
    assert!(
        body["data"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["equipment_id"] == tool.as_str()),
        "{body}"
    );

    // Shutdown: the stream ends, the drain does not wait for it, the hook finishes.
    let (drain, report) = app.shutdown().await;
    let until = Instant::now() + DEADLINE;
    while events.next_block(until).await.is_some() {}
    assert!(events.ended, "the stream ended at shutdown");
    assert_eq!(drain.forced, 0, "{drain:?}");
    assert!(
        drain.duration < Duration::from_secs(30),
        "the drain did not wait out GRACEFUL_TIMEOUT: {drain:?}"
    );
    let hook = report
        .hooks
        .iter()
        .find(|h| h.name == "equipment_sync")
        .expect("the equipment_sync hook ran");
    assert_eq!(hook.outcome, Outcome::Finished, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_sync_still_pushes_to_local_streams() {
    // Nothing listens on port 1: every Redis command fails at once.
    let app = TestApp::builder(Backend::Sqlite)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .env("REDIS_URL", "redis://127.0.0.1:1/")
        .start()
        .await;
    app.login_as_user().await;
    wait_for_snapshot(&app).await;
    let mut events = open_stream(&app).await;

    let tool = tool_not_in(&app, "SDT");
    let db = database(&app.database_url());
    simulate::set_tool_state(&db.request, &tool, "SDT", None, chrono::Utc::now())
        .await
        .expect("flip the tool");
    db.close().await;

    expect_flip(&mut events, &tool, "SDT").await;
    // Redis is configured and failing. The local push does not wait for the Redis publish (nor
    // for any other Redis call) to fail, so on a busy machine no failure may be recorded yet
    // when the event arrives: poll for it rather than assume an order. (`available()` turns
    // true again one back-off second after the last failure, so it says nothing here.)
    let until = Instant::now() + DEADLINE;
    loop {
        let redis = app.state().redis.status();
        assert!(redis.enabled, "Redis is configured");
        if redis.last_error.is_some() {
            break;
        }
        assert!(
            Instant::now() < until,
            "a failed Redis call is recorded within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_seen_by_one_instance_reaches_the_other_through_redis() {
    let Some(url) = redis_url("equipment fan-out") else {
        return;
    };
    let prefix = format!("t{:x}", rand_u64());
    let a = TestApp::builder(Backend::Sqlite)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .env("REDIS_URL", &url)
        .env("REDIS_KEY_PREFIX", &prefix)
        .start()
        .await;
    // B reads the database once at start and then never again within the test: a change
    // can only reach it through the channel.
    let b = a
        .another_instance(&[("EQUIPMENT_STATUS_SYNC_INTERVAL", "3600")])
        .await;
    wait_for_snapshot(&a).await;
    wait_for_snapshot(&b).await;
    // Both subscribed before the flip.
    let channel = format!("{prefix}:equipment:changes");
    let until = Instant::now() + DEADLINE;
    loop {
        let numsub: (String, u64) = a
            .state()
            .redis
            .run(redis::cmd("PUBSUB").arg("NUMSUB").arg(&channel))
            .await
            .unwrap_or_default();
        if numsub.1 >= 2 {
            break;
        }
        assert!(
            Instant::now() < until,
            "both instances subscribed: {numsub:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.login_as_user().await;
    let mut events = open_stream(&b).await;

    let tool = {
        let factory = a.factory.as_ref().unwrap();
        factory
            .tools
            .iter()
            .find(|t| t.e10_state != "EGT")
            .map(|t| t.equipment_id.clone())
            .unwrap()
    };
    let db = database(&a.database_url());
    simulate::set_tool_state(
        &db.request,
        &tool,
        "EGT",
        Some("Recipe tuning"),
        chrono::Utc::now(),
    )
    .await
    .expect("flip the tool");
    db.close().await;

    expect_flip(&mut events, &tool, "EGT").await;
    let in_b = b.state().equipment.current().unwrap();
    assert_eq!(in_b.tool(&tool).unwrap().e10_state, "EGT");
    // L2 holds the snapshot and the index by tool id.
    let stored: Option<String> = a
        .state()
        .redis
        .run(
            redis::cmd("HGET")
                .arg(format!("{prefix}:equipment:status:index"))
                .arg(&tool),
        )
        .await
        .expect("Redis answers");
    let stored: Value = serde_json::from_str(&stored.expect("the tool is indexed")).unwrap();
    assert_eq!(stored["e10_state"], "EGT");
}

async fn the_simulator_flips_tools_and_moves_lots_consistently(backend: Backend) {
    let db = TestDb::new(backend).await;
    let factory = seed_database(&db.url, &small_factory()).await;
    let database = database(&db.url);
    let stamp = |sql: &'static str| {
        let pool = &database.request;
        async move {
            with_conn!(pool, |c| sqlx::query_scalar::<
                _,
                Option<chrono::DateTime<chrono::Utc>>,
            >(sql)
            .fetch_one(&mut *c))
            .unwrap()
        }
    };
    let lots_before = stamp("SELECT max(updated_at) FROM lots").await;
    let tools_before = stamp("SELECT max(updated_at) FROM equipment").await;

    let report = simulate::run(
        &database.request,
        &simulate::SimulateOptions {
            rate: 200.0,
            seed: 11,
            duration: Some(Duration::from_secs(3)),
        },
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("the simulation runs");
    assert!(report.flips > 0 && report.moves > 0, "{report:?}");

    assert!(stamp("SELECT max(updated_at) FROM lots").await > lots_before);
    assert!(stamp("SELECT max(updated_at) FROM equipment").await > tools_before);
    let pool = &database.request;
    // Every tool has exactly one open span, in its current state since its state_since.
    let open: Vec<(String, String)> = with_conn!(pool, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT h.equipment_id, h.e10_state FROM equipment_state_history h \
         JOIN equipment e ON e.equipment_id = h.equipment_id \
         WHERE h.ended_at IS NULL AND h.e10_state = e.e10_state AND h.started_at = e.state_since"
    )
    .fetch_all(&mut *c))
    .unwrap();
    let open_spans: i64 = with_conn!(pool, |c| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM equipment_state_history WHERE ended_at IS NULL"
    )
    .fetch_one(&mut *c))
    .unwrap();
    assert_eq!(open.len(), factory.tools.len());
    assert_eq!(open_spans as usize, factory.tools.len());
    // A lot is on a tool exactly when it runs.
    let inconsistent: i64 = with_conn!(pool, |c| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM lots WHERE (status = 'RUN' AND equipment_id IS NULL) \
         OR (status <> 'RUN' AND equipment_id IS NOT NULL) \
         OR (status = 'HOLD' AND hold_reason IS NULL)"
    )
    .fetch_one(&mut *c))
    .unwrap();
    assert_eq!(inconsistent, 0);
    database.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_page_shows_every_tool_and_keeps_values_out_of_markup() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .start()
        .await;
    // A tool id from a warehouse view may hold anything.
    let tricky = "<script>alert(1)</script>";
    let db = database(&app.database_url());
    let pool = &db.request;
    with_conn!(pool, |c| async {
        sqlx::query(
            "INSERT INTO equipment (equipment_id, workcenter_id, model, e10_state, \
             state_reason, state_since, updated_at) VALUES ($1, 'WB', 'M', 'UDT', $1, $2, $2)",
        )
        .bind(tricky)
        .bind(chrono::Utc::now())
        .execute(&mut *c)
        .await
        .map(|done| done.rows_affected())
    })
    .expect("insert the tool");
    db.close().await;
    let until = Instant::now() + DEADLINE;
    while app
        .state()
        .equipment
        .current()
        .is_none_or(|s| s.tool(tricky).is_none())
    {
        assert!(Instant::now() < until, "the sync read the new tool");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let anonymous = app.get("/resource").await;
    assert_eq!(anonymous.status(), 303, "pages send strangers to the login");
    app.login_as_user().await;
    let page = app.get("/resource").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    for tool in &app.factory.as_ref().unwrap().tools {
        assert!(
            html.contains(&format!("data-tool=\"{}\"", tool.equipment_id)),
            "{} is listed",
            tool.equipment_id
        );
    }
    assert!(!html.contains(tricky), "the tool id is text, never markup");
    assert!(html.contains("&lt;script&gt;alert(1)"), "escaped as text");
    let config = html
        .split("<script type=\"application/json\" id=\"mes-resource\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page's configuration");
    let config: Value = serde_json::from_str(config).expect("tojson wrote JSON");
    assert_eq!(
        config["query"], "",
        "no filter: the script's API calls carry none"
    );
    assert_eq!(config["states"][2], "UDT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_is_served_stale_with_its_age_while_the_database_is_cut() {
    use crate::faults::{Fault, FaultProxy, upstream_of};
    let Some(url) = crate::helpers::postgres_url("equipment status through the fault proxy") else {
        return;
    };
    let proxy = FaultProxy::start(upstream_of(&url)).await;
    let app = TestApp::builder(Backend::Postgres)
        .through_proxy(proxy.addr)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .env("DB_POOL_TIMEOUT", "1")
        // The failing syncs open the breaker; it must let a probe through within the test.
        .env("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "2")
        .start()
        .await;
    app.login_as_user().await;
    let (status, fresh) = json(app.get("/api/resource/status/summary").await).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(fresh["meta"]["cache_state"], "fresh");

    proxy.set(Fault::Cut).await;
    let until = Instant::now() + DEADLINE;
    let stale = loop {
        let (status, body) = json(app.get("/api/resource/status/summary").await).await;
        assert_eq!(status, 200, "served from memory: {body}");
        if body["meta"]["cache_state"] == "stale" {
            break body;
        }
        assert!(
            Instant::now() < until,
            "a failed sync labels the answer stale"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stale["data"], fresh["data"]);
    assert!(stale["meta"]["age_seconds"].is_u64());
    assert!(stale["meta"]["updated_at"].is_string());
    let (status, body) = json(app.get("/api/resource/status?state=PRD").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "stale");

    // The database back: the next sync makes it fresh again.
    proxy.set(Fault::None).await;
    let until = Instant::now() + DEADLINE;
    loop {
        let (_, body) = json(app.get("/api/resource/status/summary").await).await;
        if body["meta"]["cache_state"] == "fresh" {
            break;
        }
        assert!(
            Instant::now() < until,
            "fresh again once the database answers"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_cannot_read_the_database_serves_the_copy_in_redis_as_stale() {
    use crate::faults::{Fault, FaultProxy, upstream_of};
    use crate::helpers::{TEST_PASSWORD, USER, bare_client, set_session_cookie};
    let (Some(database_url), Some(redis)) = (
        crate::helpers::postgres_url("equipment status from Redis"),
        redis_url("equipment status from Redis"),
    ) else {
        return;
    };
    let prefix = format!("t{:x}", rand_u64());
    let key = mes_dashboard::config::secret::generate();
    let shared = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("SECRET_KEY", key.as_str()),
    ];
    let mut a = TestApp::builder(Backend::Postgres);
    for (k, v) in shared {
        a = a.env(k, v);
    }
    let a = a.start().await;
    // A shares its snapshot in Redis as soon as its sync starts.
    let at_key = format!("{prefix}:equipment:status:at");
    let until = Instant::now() + DEADLINE;
    while a
        .state()
        .redis
        .run::<Option<String>>(redis::cmd("GET").arg(&at_key))
        .await
        .ok()
        .flatten()
        .is_none()
    {
        assert!(Instant::now() < until, "A stored its snapshot in Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A session, logged in on A, readable by B through Redis.
    let bare = bare_client();
    let csrf = bare.get(a.url("/api/auth/csrf")).send().await.unwrap();
    let anonymous = set_session_cookie(&csrf).expect("an anonymous session");
    let (_, body) = json(csrf).await;
    let login = bare
        .post(a.url("/api/auth/login"))
        .header("cookie", &anonymous)
        .header("x-csrf-token", body["data"]["csrf_token"].as_str().unwrap())
        .json(&serde_json::json!({"username": USER, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = set_session_cookie(&login).expect("the session cookie");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // B cannot reach its database from the start.
    let proxy = FaultProxy::start(upstream_of(&database_url)).await;
    proxy.set(Fault::Refuse).await;
    let mut b = TestApp::builder(Backend::Postgres)
        .seed(None)
        .through_proxy(proxy.addr)
        .env("DB_POOL_TIMEOUT", "1");
    for (k, v) in shared {
        b = b.env(k, v);
    }
    let b = b.start().await;
    assert!(b.state().equipment.current().is_none(), "B read nothing");

    let response = bare
        .get(b.url("/api/resource/status"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "stale");
    assert!(body["meta"]["age_seconds"].as_u64() >= Some(1), "{body}");
    assert_eq!(
        body["data"]["count"],
        a.factory.as_ref().unwrap().tools.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_one_instance_reads_the_fleet_per_interval_and_the_other_follows() {
    let Some(url) = redis_url("equipment sync leader") else {
        return;
    };
    let prefix = format!("t{:x}", rand_u64());
    let env = [
        ("EQUIPMENT_STATUS_SYNC_INTERVAL", "1"),
        ("REDIS_URL", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let mut builder = TestApp::builder(Backend::Sqlite);
    for (key, value) in env {
        builder = builder.env(key, value);
    }
    let a = builder.start().await;
    let b = a.another_instance(&env[..1]).await;
    wait_for_snapshot(&a).await;
    wait_for_snapshot(&b).await;
    let reads = || a.state().equipment.db_reads() + b.state().equipment.db_reads();
    let followed = || a.state().equipment.followed() + b.state().equipment.followed();

    // Over a window of ticks, the two instances together read about once per interval
    // (each would read once per interval on its own: twice as many), and one of them
    // followed the other's stored status.
    let (reads_before, started) = (reads(), Instant::now());
    let until = Instant::now() + DEADLINE;
    while followed() == 0 || started.elapsed() < Duration::from_secs(6) {
        assert!(
            Instant::now() < until,
            "a follower took the leader's status"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let window = started.elapsed().as_secs_f64();
    let read = reads() - reads_before;
    // The lock lasts 0.9 of an interval: at most one read per 0.9 s, plus one at each edge.
    let bound = (window / 0.9).ceil() as u64 + 2;
    assert!(
        read <= bound,
        "{read} database reads in {window:.1} s by two instances (bound {bound})"
    );

    // A flip is read by the leader and reaches the follower too.
    let tool = tool_not_in(&a, "SDT");
    let db = database(&a.database_url());
    simulate::set_tool_state(&db.request, &tool, "SDT", None, chrono::Utc::now())
        .await
        .expect("flip the tool");
    db.close().await;
    let until = Instant::now() + DEADLINE;
    for app in [&a, &b] {
        while app
            .state()
            .equipment
            .current()
            .unwrap()
            .tool(&tool)
            .unwrap()
            .e10_state
            != "SDT"
        {
            assert!(Instant::now() < until, "both instances serve the flip");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
