//! The WIP cache updater with Redis L2: one load per change shared by every instance (the
//! refresh lock), pub/sub refreshing the other instances, Redis dying and coming back, and the
//! bounded wait before the first load.

use std::time::{Duration, Instant};

use mes_dashboard::cache::l2::{self, Keys};
use serde_json::Value;

use crate::helpers::{Backend, PrivateRedis, TestApp, json, postgres_url, rand_u64, redis_url};
use crate::on_both_backends;

/// Generous: the machine is shared and tests run in parallel.
const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `probe` until it returns `Some`, failing with `what` after [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `checks.cache` of the app's `/health` (not memoized in testing mode).
async fn cache_status(app: &TestApp) -> Value {
    let (_, health) = json(app.get("/health").await).await;
    health["checks"]["cache"].clone()
}

async fn health(app: &TestApp) -> Value {
    json(app.get("/health").await).await.1
}

fn count(status: &Value, field: &str) -> u64 {
    status[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field}: {status}"))
}

/// Waits until the app serves a snapshot, and returns its cache status.
async fn loaded(app: &TestApp) -> Value {
    eventually("the first WIP load", || async {
        let status = cache_status(app).await;
        (status["state"] == "fresh").then_some(status)
    })
    .await
}

async fn subscribed(app: &TestApp) {
    eventually("the WIP listener to subscribe", || async {
        (cache_status(app).await["listener"] == "subscribed").then_some(())
    })
    .await
}

async fn total_quantity(app: &TestApp) -> i64 {
    let (status, body) = json(app.get("/api/wip/overview/summary").await).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["total"]["quantity"].as_i64().unwrap()
}

/// Changes one lot in PostgreSQL as the MES would: more quantity, a later update time.
async fn grow_a_lot(app: &TestApp, lot_id: &str, by: i64) {
    let pool = sqlx::PgPool::connect(&app.database_url()).await.unwrap();
    let changed = sqlx::query(
        "UPDATE lots SET quantity = quantity + $2, \
         updated_at = (SELECT max(updated_at) FROM lots) + interval '1 second' \
         WHERE lot_id = $1",
    )
    .bind(lot_id)
    .bind(by)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    pool.close().await;
}

fn first_lot(app: &TestApp) -> String {
    app.factory.as_ref().unwrap().lots[0].lot_id.clone()
}

/// Two instances on one PostgreSQL and one Redis prefix, both logged in. `None` (skipped)
/// without the services.
async fn two_instances(
    redis: &str,
    a_interval: &str,
    b_interval: &str,
) -> Option<(TestApp, TestApp)> {
    postgres_url("WIP cache shared through Redis")?;
    let prefix = format!("t{:x}", rand_u64());
    let a = TestApp::builder(Backend::Postgres)
        .env("REDIS_URL", redis)
        .env("REDIS_KEY_PREFIX", &prefix)
        .env("REDIS_COMMAND_TIMEOUT_MS", "3000")
        .env("CACHE_CHECK_INTERVAL", a_interval)
        .start()
        .await;
    // A publishes first, so B's start finds the current version in Redis.
    let status = loaded(&a).await;
    assert_eq!(status["source"], "database", "{status}");
    eventually("A's first publication", || async {
        (count(&cache_status(&a).await, "publishes") >= 1).then_some(())
    })
    .await;
    let b = a
        .another_instance(&[("CACHE_CHECK_INTERVAL", b_interval)])
        .await;
    a.login_as_user().await;
    b.login_as_user().await;
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_loads_from_redis_and_follows_publications_without_the_database() {
    let Some(redis) = redis_url("WIP pub/sub refresh") else {
        return;
    };
    // B checks once, at start: every later change can only reach it through pub/sub.
    let Some((a, b)) = two_instances(&redis, "1", "3600").await else {
        return;
    };
    let status = loaded(&b).await;
    assert_eq!(
        status["source"], "redis",
        "B started from A's publication: {status}"
    );
    assert_eq!(count(&status, "db_loads"), 0, "{status}");
    subscribed(&b).await;
    let before = total_quantity(&b).await;
    assert_eq!(before, total_quantity(&a).await);
    let a_before = cache_status(&a).await;

    grow_a_lot(&a, &first_lot(&a), 1000).await;

    let after = eventually("B to serve the change", || async {
        let q = total_quantity(&b).await;
        (q != before).then_some(q)
    })
    .await;
    assert_eq!(after, before + 1000);
    let b_status = cache_status(&b).await;
    let a_status = cache_status(&a).await;
    assert_eq!(
        count(&b_status, "db_loads"),
        0,
        "B never loaded: {b_status}"
    );
    assert_eq!(count(&b_status, "l2_loads"), 2, "{b_status}");
    assert_eq!(b_status["version"], a_status["version"]);
    assert_eq!(
        count(&a_status, "db_loads"),
        count(&a_before, "db_loads") + 1,
        "{a_status}"
    );
    assert_eq!(total_quantity(&a).await, after);
    // Lot detail comes from the same snapshot.
    let (status, lot) = json(b.get(&format!("/api/wip/lot/{}", first_lot(&a))).await).await;
    assert_eq!(status, 200, "{lot}");
    assert_eq!(lot["meta"]["cache_state"], "fresh");
    assert_eq!(lot["meta"]["updated_at"], {
        let (_, s) = json(b.get("/api/wip/overview/summary").await).await;
        s["meta"]["updated_at"].clone()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_lock_lets_one_instance_load_and_publish_each_change() {
    let Some(redis) = redis_url("WIP refresh lock") else {
        return;
    };
    // Both check every 2 s (keys live 6 s), racing for each change.
    let Some((a, b)) = two_instances(&redis, "2", "2").await else {
        return;
    };
    loaded(&b).await;
    let lot = first_lot(&a);
    for round in 1..=3 {
        let (sa, sb) = (cache_status(&a).await, cache_status(&b).await);
        let loads = count(&sa, "db_loads") + count(&sb, "db_loads");
        let publishes = count(&sa, "publishes") + count(&sb, "publishes");
        let before = total_quantity(&a).await;

        grow_a_lot(&a, &lot, 10).await;

        for app in [&a, &b] {
            eventually("both instances to serve the change", || async {
                (total_quantity(app).await == before + 10).then_some(())
            })
            .await;
        }
        let (sa, sb) = (cache_status(&a).await, cache_status(&b).await);
        assert_eq!(
            count(&sa, "db_loads") + count(&sb, "db_loads"),
            loads + 1,
            "round {round}: one database load for the change\nA {sa}\nB {sb}"
        );
        assert_eq!(
            count(&sa, "publishes") + count(&sb, "publishes"),
            publishes + 1,
            "round {round}: one publication\nA {sa}\nB {sb}"
        );
        assert_eq!(sa["version"], sb["version"], "round {round}");
    }

    // While another process holds the lock, neither instance loads; once it is released,
    // exactly one of them does and the other takes its publication.
    let redis_client = &a.state().redis;
    let keys = Keys::new(redis_client);
    assert!(
        l2::try_lock(
            redis_client,
            &keys,
            "another-holder",
            Duration::from_secs(60)
        )
        .await
        .unwrap()
    );
    let (sa, sb) = (cache_status(&a).await, cache_status(&b).await);
    let loads = count(&sa, "db_loads") + count(&sb, "db_loads");
    let publishes = count(&sa, "publishes") + count(&sb, "publishes");
    let before = total_quantity(&a).await;
    grow_a_lot(&a, &lot, 100).await;
    // Long enough for both to check (every 2 s) and find the lock taken; nothing may load.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (sa, sb) = (cache_status(&a).await, cache_status(&b).await);
    assert_eq!(
        count(&sa, "db_loads") + count(&sb, "db_loads"),
        loads,
        "nobody loads while the lock is held\nA {sa}\nB {sb}"
    );
    assert_eq!(total_quantity(&a).await, before);
    assert_eq!(total_quantity(&b).await, before);
    // Only the owner's token releases it.
    assert!(
        !l2::unlock(redis_client, &keys, "not-the-owner")
            .await
            .unwrap()
    );
    assert!(
        l2::unlock(redis_client, &keys, "another-holder")
            .await
            .unwrap()
    );
    for app in [&a, &b] {
        eventually(
            "both instances to serve the change after the lock",
            || async { (total_quantity(app).await == before + 100).then_some(()) },
        )
        .await;
    }
    let (sa, sb) = (cache_status(&a).await, cache_status(&b).await);
    assert_eq!(
        count(&sa, "db_loads") + count(&sb, "db_loads"),
        loads + 1,
        "one load once the lock is free\nA {sa}\nB {sb}"
    );
    assert_eq!(
        count(&sa, "publishes") + count(&sb, "publishes"),
        publishes + 1
    );
    assert_eq!(sa["version"], sb["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wip_is_served_while_redis_is_down_and_everything_recovers_when_it_returns() {
    if postgres_url("WIP with Redis killed").is_none() {
        return;
    }
    let mut redis = PrivateRedis::start().await;
    let Some((a, b)) = two_instances(&redis.url(), "1", "3600").await else {
        return;
    };
    loaded(&b).await;
    subscribed(&b).await;
    for app in [&a, &b] {
        let report = health(app).await;
        assert_eq!(report["status"], "healthy", "{report}");
    }
    let lot = first_lot(&a);
    let publishes_before_kill = count(&cache_status(&a).await, "publishes");

    redis.kill();

    for app in [&a, &b] {
        let report = eventually("health to see Redis gone", || async {
            let report = health(app).await;
            (report["degraded_reason"] == "redis_unavailable").then_some(report)
        })
        .await;
        assert_eq!(report["status"], "degraded", "{report}");
        for path in [
            "/api/wip/overview/summary".to_string(),
            "/api/wip/overview/matrix".to_string(),
            format!("/api/wip/lot/{lot}"),
        ] {
            let (status, body) = json(app.get(&path).await).await;
            assert_eq!(status, 200, "{path} with Redis down: {body}");
            assert_eq!(body["meta"]["cache_state"], "fresh", "{path}");
        }
    }
    // Without Redis, A refreshes its own L1 from the database.
    let before = total_quantity(&a).await;
    grow_a_lot(&a, &lot, 5).await;
    eventually("A to load the change by itself", || async {
        (total_quantity(&a).await == before + 5).then_some(())
    })
    .await;
    assert_eq!(cache_status(&a).await["l2"], "unavailable");
    eventually("B's listener to notice", || async {
        (cache_status(&b).await["listener"] == "down").then_some(())
    })
    .await;

    redis.restart().await;

    for app in [&a, &b] {
        eventually("health to be healthy again", || async {
            (health(app).await["status"] == "healthy").then_some(())
        })
        .await;
    }
    subscribed(&b).await;
    // Publishing resumes: the empty Redis gets A's current snapshot again.
    eventually("A to publish to the new Redis", || async {
        let status = cache_status(&a).await;
        (count(&status, "publishes") > publishes_before_kill
            && status["l2"] == "in_use"
            && redis_has_wip(&redis, &a).await)
            .then_some(())
    })
    .await;
    // And the re-subscribed listener carries the next change to B, which never queries it.
    let b_before = total_quantity(&b).await;
    let a_before = total_quantity(&a).await;
    grow_a_lot(&a, &lot, 7).await;
    eventually("B to receive the change through Redis", || async {
        (total_quantity(&b).await == a_before + 7).then_some(())
    })
    .await;
    assert_ne!(b_before, a_before + 7);
    let b_status = cache_status(&b).await;
    assert_eq!(count(&b_status, "db_loads"), 0, "{b_status}");
}

/// Whether the app's prefix has WIP data in `redis`.
async fn redis_has_wip(redis: &PrivateRedis, app: &TestApp) -> bool {
    let Ok(client) = ::redis::Client::open(redis.url()) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let key = format!("{}:wip:meta", app.state().redis.prefix());
    ::redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut conn)
        .await
        .is_ok_and(|n| n == 1)
}

on_both_backends!(without_redis_each_instance_refreshes_from_the_database);

async fn without_redis_each_instance_refreshes_from_the_database(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("CACHE_CHECK_INTERVAL", "1")
        .start()
        .await;
    app.login_as_user().await;
    let status = loaded(&app).await;
    assert_eq!(status["l2"], "disabled");
    assert_eq!(status["listener"], "disabled");
    let lots = app.factory.as_ref().unwrap().lots.len();
    let gone = first_lot(&app);
    assert_eq!(
        json(app.get(&format!("/api/wip/lot/{gone}")).await).await.0,
        200
    );

    // The lot leaves the process (the count is part of the freshness stamp).
    execute(&app, backend, "DELETE FROM lots WHERE lot_id = $1", &gone).await;

    eventually("the summary to drop the lot", || async {
        let (_, body) = json(app.get("/api/wip/overview/summary").await).await;
        (body["data"]["total"]["lots"] == lots - 1).then_some(())
    })
    .await;
    let (status, body) = json(app.get(&format!("/api/wip/lot/{gone}")).await).await;
    crate::helpers::assert_error(status, &body, 404, "NOT_FOUND");
    assert_eq!(count(&cache_status(&app).await, "db_loads"), 2);
}

async fn execute(app: &TestApp, backend: Backend, sql: &'static str, arg: &str) {
    let url = app.database_url();
    match backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(arg).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(sql).bind(arg).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_before_the_first_load_waits_a_bounded_time_then_gets_503() {
    if postgres_url("first-load wait").is_none() {
        return;
    }
    let a = TestApp::builder(Backend::Postgres).start().await;
    // The lots table is locked, so B's first load waits (its statement timeout is long).
    let locker = sqlx::PgPool::connect(&a.database_url()).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE lots IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let b = a
        .another_instance(&[
            ("CACHE_FIRST_LOAD_WAIT_MS", "300"),
            ("DB_CALL_TIMEOUT_MS", "60000"),
        ])
        .await;
    b.login_as_user().await;

    let response = b.get("/api/wip/overview/summary").await;
    let retry = response.headers().get("retry-after").cloned();
    let (status, body) = json(response).await;
    crate::helpers::assert_error(status, &body, 503, "SERVICE_UNAVAILABLE");
    assert_eq!(retry.unwrap(), "5");
    assert_eq!(body["meta"]["retry_after_seconds"], 5);
    assert_eq!(cache_status(&b).await["state"], "empty");

    tx.rollback().await.unwrap();
    eventually("B's first load once the lock is gone", || async {
        (json(b.get("/api/wip/overview/summary").await).await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_started_while_redis_is_down_serves_from_the_database_then_starts_publishing() {
    let mut redis = PrivateRedis::start().await;
    redis.kill();
    let prefix = format!("t{:x}", rand_u64());
    let app = TestApp::builder(Backend::Sqlite)
        .env("REDIS_URL", &redis.url())
        .env("REDIS_KEY_PREFIX", &prefix)
        .env("CACHE_CHECK_INTERVAL", "1")
        .start()
        .await;
    app.login_as_user().await;

    let (status, body) = json(app.get("/api/wip/overview/summary").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "fresh");
    let report = health(&app).await;
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(report["degraded_reason"], "redis_unavailable");
    let cache = &report["checks"]["cache"];
    assert_eq!(cache["source"], "database", "{cache}");
    assert_eq!(cache["l2"], "unavailable", "{cache}");
    assert_eq!(cache["listener"], "down", "{cache}");
    assert_eq!(count(cache, "publishes"), 0);

    redis.restart().await;

    eventually("health, the listener and publishing to recover", || async {
        let report = health(&app).await;
        let cache = &report["checks"]["cache"];
        (report["status"] == "healthy"
            && cache["listener"] == "subscribed"
            && cache["l2"] == "in_use"
            && count(cache, "publishes") >= 1
            && redis_has_wip(&redis, &app).await)
            .then_some(())
    })
    .await;
    assert_eq!(
        count(&cache_status(&app).await, "db_loads"),
        1,
        "the data did not change: published, not reloaded"
    );

    // The updater and its listener stop with the app.
    let (_, hooks) = app.shutdown().await;
    assert!(hooks.clean(), "{hooks:?}");
    assert_eq!(hooks.hooks[0].name, "cache_updater");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_pub_sub_connection_is_found_by_its_ping_and_replaced() {
    use crate::faults::{FaultProxy, upstream_of, via};
    use mes_dashboard::redis::subscribe::IDLE_PING;
    let redis = PrivateRedis::start().await;
    let proxy = FaultProxy::start(upstream_of(&redis.url())).await;
    let app = TestApp::builder(Backend::Sqlite)
        .env("REDIS_URL", &via(&redis.url(), proxy.addr))
        .start()
        .await;
    subscribed(&app).await;

    // Redis stops answering without closing anything: nothing tells the listener but its
    // own PING, sent after IDLE_PING without traffic and unanswered within the command
    // timeout (500 ms by default).
    proxy.delay(Duration::from_secs(3_600));
    let started = Instant::now();
    loop {
        if cache_status(&app).await["listener"] == "down" {
            break;
        }
        assert!(
            started.elapsed() < IDLE_PING * 4,
            "the silent subscription was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Redis answers again: a new subscription replaces the silent one.
    proxy.delay(Duration::ZERO);
    subscribed(&app).await;
}
