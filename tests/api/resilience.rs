//! The degraded contract under faults we control: an exhausted request pool, a cut or refused
//! database (through the fault proxy), statement timeouts, a full slow-query limit, the
//! circuit breaker's open and half-open behaviour, and stale-but-labelled WIP data.

use std::time::{Duration, Instant};

use mes_dashboard::db::{DbPool, Held, PoolKind};
use serde_json::Value;

use crate::faults::{Fault, FaultProxy, upstream_of};
use crate::helpers::{Backend, TestApp, assert_error, json, postgres_url};
use crate::on_both_backends;

/// Connections held on behalf of a test, either backend.
#[expect(dead_code, reason = "held only to be dropped at the end of the test")]
enum HeldConn<'a> {
    Pg(Held<'a, sqlx::Postgres>),
    Sqlite(Held<'a, sqlx::Sqlite>),
}

/// Takes every connection of `pool` and keeps them.
async fn hold_every_connection(pool: &DbPool) -> Vec<HeldConn<'_>> {
    let mut held = Vec::new();
    for _ in 0..pool.max_connections() {
        held.push(match &pool.kind {
            PoolKind::Postgres(p) => HeldConn::Pg(pool.acquire(p).await.unwrap()),
            PoolKind::Sqlite(p) => HeldConn::Sqlite(pool.acquire(p).await.unwrap()),
        });
    }
    held
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A request that reads the database each time (the page registry, for administrators): the
/// WIP APIs cannot serve here, they answer from the in-process snapshot.
const DB_READ: &str = "/admin/api/pages";

on_both_backends!(health_answers_while_request_pool_is_exhausted);

async fn health_answers_while_request_pool_is_exhausted(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("DB_POOL_SIZE", "2")
        .env("DB_MAX_OVERFLOW", "0")
        .env("DB_POOL_TIMEOUT", "1")
        .start()
        .await;
    app.login_as_admin().await;
    // Warm the WIP snapshot while the pool is free.
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);

    let _held = hold_every_connection(&app.state().db.request).await;

    let db_request = app.client.get(app.url(DB_READ)).send();
    let probes = async {
        // While the page-list request waits for a connection, the probes answer at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let health = app.get("/health").await;
        let health_elapsed = started.elapsed();
        let started = Instant::now();
        let live = app.get("/health/live").await;
        (health, health_elapsed, live, started.elapsed())
    };
    let started = Instant::now();
    let (db_response, (health, health_elapsed, live, live_elapsed)) =
        tokio::join!(db_request, probes);
    let db_response = db_response.unwrap();

    assert!(
        health_elapsed < Duration::from_secs(1),
        "/health took {health_elapsed:?}"
    );
    assert!(
        live_elapsed < Duration::from_secs(1),
        "/health/live took {live_elapsed:?}"
    );
    assert_eq!(live.status(), 200);
    let (status, health) = json(health).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["degraded_reason"], "db_pool_saturated");
    assert_eq!(health["checks"]["db_pool"]["saturation"], 1.0);
    assert_eq!(
        health["resilience"]["recovery_recommendation"]["action"],
        "consider_controlled_worker_restart"
    );
    let kinds: Vec<_> = health["resilience"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"pool_saturation".to_string()), "{kinds:?}");

    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for the pool timeout"
    );
    assert_eq!(retry_after(&db_response), 5);
    let (status, body) = json(db_response).await;
    assert_error(status, &body, 503, "DB_POOL_EXHAUSTED");
    assert_eq!(body["meta"]["retry_after_seconds"], 5);

    // The cached WIP summary does not need the pool.
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);
}

/// A PostgreSQL app behind the fault proxy (None when PostgreSQL is not configured).
async fn behind_proxy(env: &[(&str, &str)]) -> Option<(TestApp, FaultProxy)> {
    let url = postgres_url("resilience through the fault proxy")?;
    let proxy = FaultProxy::start(upstream_of(&url)).await;
    let mut builder = TestApp::builder(Backend::Postgres).through_proxy(proxy.addr);
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    let app = builder.start().await;
    app.login_as_admin().await;
    Some((app, proxy))
}

async fn db_answer(app: &TestApp) -> (u16, Value, Option<u64>) {
    let response = app.get(DB_READ).await;
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let (status, body) = json(response).await;
    (status, body, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_database_opens_the_breaker_which_then_sends_nothing_and_probes_once() {
    // Sessions are read through Redis here, so every database call the test counts is one of
    // the page-list reads (without Redis, session reads would count against the breaker too;
    // the WIP cache updater checks every 10 minutes, so not during the test).
    let Some(redis) = crate::helpers::redis_url("breaker counts with sessions in Redis") else {
        return;
    };
    let prefix = format!("t{:x}", crate::helpers::rand_u64());
    let Some((app, proxy)) = behind_proxy(&[
        ("REDIS_URL", &redis),
        ("REDIS_KEY_PREFIX", &prefix),
        // Generous bounds, so a loaded test machine never pushes a session read to the database.
        ("REDIS_COMMAND_TIMEOUT_MS", "3000"),
        ("SESSION_CACHE_MS", "1000"),
        // Room for a connection handshake through the slowed proxy below.
        ("DB_POOL_TIMEOUT", "5"),
        ("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "3"),
        ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "5"),
        ("CIRCUIT_BREAKER_WINDOW_SIZE", "10"),
        ("CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS", "1"),
    ])
    .await
    else {
        return;
    };
    assert_eq!(db_answer(&app).await.0, 200);
    // The WIP cache updater's first load (at start) has finished: none of its calls is counted.
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);

    proxy.set(Fault::Cut).await;

    // Connection failures, each answered with the retry-aware code, until the breaker opens.
    let mut failures = 0;
    let opened = loop {
        let (status, body, retry) = db_answer(&app).await;
        if body["error"]["code"] == "CIRCUIT_BREAKER_OPEN" {
            break (status, body, retry);
        }
        assert_error(status, &body, 503, "DB_CONNECTION_FAILED");
        assert_eq!(retry, Some(5));
        failures += 1;
        assert!(failures <= 10, "the breaker never opened");
    };
    assert_eq!(failures, 5, "opens at the threshold");
    let (status, body, first_retry) = opened;
    assert_error(status, &body, 503, "CIRCUIT_BREAKER_OPEN");
    let first_retry = first_retry.unwrap();
    assert!((1..=3).contains(&first_retry), "{first_retry}");

    // While open, nothing reaches the database.
    let traffic = proxy.traffic();
    for _ in 0..10 {
        let (status, body, _) = db_answer(&app).await;
        assert_error(status, &body, 503, "CIRCUIT_BREAKER_OPEN");
    }
    assert_eq!(
        proxy.traffic(),
        traffic,
        "zero queries reached the database"
    );

    // Retry-After counts down.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, _, later_retry) = db_answer(&app).await;
    assert!(
        later_retry.unwrap() < first_retry,
        "{later_retry:?} < {first_retry}"
    );

    // The health pool goes through the same cut proxy: the database is unreachable.
    let (status, health) = json(app.get("/health").await).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["degraded_reason"], "database_unreachable");

    // The database returns, slowly. Health sees it at once; the breaker stays open until its
    // recovery timeout, then the probe takes long enough for 50 callers to pile up.
    proxy.set(Fault::None).await;
    proxy.delay(Duration::from_millis(400));
    let (status, health) = json(app.get("/health").await).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["degraded_reason"], "circuit_breaker_open");
    assert_eq!(
        health["resilience"]["recovery_recommendation"]["action"],
        "wait_for_circuit_half_open"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = (0..50).map(|_| app.client.get(app.url(DB_READ)).send());
    let answers = futures_util::future::join_all(calls).await;
    let mut ok = 0;
    for a in answers {
        let (status, body) = json(a.unwrap()).await;
        if status == 200 {
            ok += 1;
        } else {
            assert_error(status, &body, 503, "CIRCUIT_BREAKER_OPEN");
        }
    }
    assert_eq!(ok, 1, "half-open admits exactly one probe");

    // The probe succeeded: the breaker is closed.
    proxy.delay(Duration::ZERO);
    assert_eq!(db_answer(&app).await.0, 200);
    let (_, deep) = json(app.get("/health/deep").await).await;
    assert_eq!(deep["circuit_breaker"]["state"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_wip_is_served_with_its_label_while_the_breaker_is_open() {
    let Some((app, proxy)) = behind_proxy(&[
        ("CACHE_CHECK_INTERVAL", "1"),
        ("DB_POOL_TIMEOUT", "1"),
        ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "2"),
        ("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "60"),
    ])
    .await
    else {
        return;
    };
    let (status, fresh) = json(app.get("/api/wip/overview/summary").await).await;
    assert_eq!(status, 200);
    assert_eq!(fresh["meta"]["cache_state"], "fresh");

    proxy.set(Fault::Cut).await;
    while db_answer(&app).await.1["error"]["code"] != "CIRCUIT_BREAKER_OPEN" {}
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let (status, stale) = json(app.get("/api/wip/overview/summary").await).await;
    assert_eq!(status, 200, "{stale}");
    assert_eq!(stale["meta"]["cache_state"], "stale");
    assert!(stale["meta"]["age_seconds"].as_u64().unwrap() >= 1);
    assert_eq!(stale["data"], fresh["data"]);
    let (status, matrix) = json(app.get("/api/wip/overview/matrix").await).await;
    assert_eq!(status, 200);
    assert_eq!(matrix["meta"]["cache_state"], "stale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_makes_health_unhealthy_within_bounds() {
    let Some((app, proxy)) = behind_proxy(&[("DB_HEALTH_POOL_TIMEOUT", "2")]).await else {
        return;
    };
    let (status, _) = json(app.get("/health").await).await;
    assert_eq!(status, 200);

    proxy.set(Fault::Refuse).await;
    let started = Instant::now();
    let (status, body) = json(app.get("/health").await).await;
    let elapsed = started.elapsed();

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["degraded_reason"], "database_unreachable");
    assert_eq!(body["checks"]["database"]["status"], "unreachable");
    assert_eq!(
        body["resilience"]["recovery_recommendation"]["action"],
        "check_database_connectivity"
    );
    assert!(elapsed < Duration::from_secs(5), "answered in {elapsed:?}");

    // And it recovers by itself.
    proxy.set(Fault::None).await;
    let (status, body) = json(app.get("/health").await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_timeout_answers_504() {
    let Some(url) = postgres_url("statement timeout") else {
        return;
    };
    let _ = url;
    let app = TestApp::builder(Backend::Postgres)
        .env("DB_CALL_TIMEOUT_MS", "500")
        .start()
        .await;
    app.login_as_admin().await;
    // Another session locks the table: the app's read waits until its statement timeout.
    let locker = sqlx::PgPool::connect(&app.database_url()).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE pages IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();

    let response = app.get(DB_READ).await;
    let (status, body) = json(response).await;
    tx.rollback().await.unwrap();

    assert_error(status, &body, 504, "DB_QUERY_TIMEOUT");
    assert!(body["error"].get("details").is_none());
    assert_eq!(
        db_answer(&app).await.0,
        200,
        "fine again once the lock is gone"
    );
}

#[tokio::test]
async fn a_sqlite_call_past_its_timeout_is_a_query_timeout() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("DB_CALL_TIMEOUT_MS", "200")
        .seed(None)
        .start()
        .await;
    app.login_as_user().await;
    let pool = &app.state().db.request;
    let started = Instant::now();
    let result: Result<i64, _> = mes_dashboard::with_conn!(pool, |c| sqlx::query_scalar(
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000000) \
         SELECT count(*) FROM r"
    )
    .fetch_one(&mut *c));
    let error = result.expect_err("the call is cut");
    assert!(started.elapsed() < Duration::from_secs(2));
    let app_error: mes_dashboard::http::AppError = error.into();
    assert_eq!(app_error.code().as_str(), "DB_QUERY_TIMEOUT");
    assert_eq!(app_error.status(), 504);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_slow_query_limit_answers_503_with_retry_after() {
    let Some(_) = postgres_url("slow pool limit") else {
        return;
    };
    let app = TestApp::builder(Backend::Postgres)
        .env("DB_SLOW_MAX_CONCURRENT", "1")
        .env("DB_SLOW_MAX_WAIT_SECONDS", "1")
        .env("DB_SLOW_CALL_TIMEOUT_MS", "20000")
        .start()
        .await;
    app.login_as_user().await;
    let locker = sqlx::PgPool::connect(&app.database_url()).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE equipment_state_history IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let body = serde_json::json!({
        "from": (today - chrono::Duration::days(1)).to_string(),
        "to": today.to_string(),
    });

    let first = app.post_json_with_csrf("/api/resource/history/query", &body);
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let response = app
            .post_json_with_csrf("/api/resource/history/query", &body)
            .await;
        (response, started.elapsed())
    };
    let release = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        tx.rollback().await.unwrap();
    };
    let (first, (second, waited), ()) = tokio::join!(first, second, release);

    assert!(
        waited >= Duration::from_millis(900),
        "bounded wait: {waited:?}"
    );
    assert!(second.headers().contains_key("retry-after"));
    let (status, body) = json(second).await;
    assert_error(status, &body, 503, "SERVICE_UNAVAILABLE");
    let (status, body) = json(first).await;
    assert_eq!(status, 200, "the query in its slot completes: {body}");
    assert!(
        !body["data"]["detail"]["rows"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// The breaker open means the database is known to be failing: every cached answer says
/// `stale` at once, before the cache's own refresh has noticed anything (before the fix they
/// said `fresh` until the next refresh failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_say_stale_as_soon_as_the_breaker_opens() {
    let Some((app, proxy)) = behind_proxy(&[
        ("CACHE_CHECK_INTERVAL", "3600"),
        ("EQUIPMENT_STATUS_SYNC_INTERVAL", "3600"),
        ("DB_POOL_TIMEOUT", "1"),
        ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "2"),
        ("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "60"),
    ])
    .await
    else {
        return;
    };
    let cached = [
        "/api/wip/overview/summary",
        "/api/hold-overview/summary",
        "/api/resource/status/summary",
    ];
    for path in cached {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["meta"]["cache_state"], "fresh", "{path}");
    }

    proxy.set(Fault::Cut).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while db_answer(&app).await.1["error"]["code"] != "CIRCUIT_BREAKER_OPEN" {
        assert!(Instant::now() < deadline, "the breaker opens");
    }
    for path in cached {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["meta"]["cache_state"], "stale", "{path}: {body}");
    }
}

/// Polls `/health` every 100 ms until its status is `want`; the time it took.
async fn health_until(app: &TestApp, want: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = json(app.get("/health").await).await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "/health still {status} after {limit:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// After an outage `/health` is healthy within 5 s of the database's return, every time:
/// twenty rounds, alternating a cut (connections reset, new ones refused at once) and a
/// silence (the database stops answering, so the probe's call times out on its connection).
/// Before the fix the timed-out connection went back to the pool, whose release ping then hung
/// on it holding the health pool's only slot: every probe timed out at acquire for ~30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_healthy_within_5_s_of_the_database_coming_back_twenty_times() {
    let Some((app, proxy)) = behind_proxy(&[
        ("DB_HEALTH_POOL_TIMEOUT", "2"),
        ("DB_HEALTH_CALL_TIMEOUT_MS", "1000"),
    ])
    .await
    else {
        return;
    };
    health_until(&app, 200, Duration::from_secs(30)).await;
    for round in 0..20 {
        if round % 2 == 0 {
            proxy.set(Fault::Cut).await;
        } else {
            proxy.delay(Duration::from_secs(60));
        }
        health_until(&app, 503, Duration::from_secs(30)).await;

        if round % 2 == 0 {
            proxy.set(Fault::None).await;
        } else {
            proxy.delay(Duration::ZERO);
        }
        // The contract's bound; the poll itself can only make it look slower.
        let took = health_until(&app, 200, Duration::from_secs(60)).await;
        assert!(
            took < Duration::from_secs(5),
            "round {round}: healthy {took:?} after the database came back"
        );
    }
}
