//! Stopping (DESIGN §5): the real binary under SIGTERM with an event stream open, on PostgreSQL
//! and Redis — streams closed, every stop hook once and in order, exit 0, no connection left
//! behind — and a stop hook that hangs, abandoned after its bound while the later ones run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mes_dashboard::lifecycle::{Outcome, Phase};
use serde_json::Value;

use crate::helpers::{
    Backend, SHUTDOWN_ORDER, TestApp, TestDb, USER, capture_output, client, json, local_auth_users,
    postgres_url, rand_u64, redis_url, seed_database, small_factory,
};
use crate::supervisor::{BIN, send_signal};

/// The app's connections as PostgreSQL sees them, by `application_name`.
async fn connections_named(base_url: &str, application_name: &str) -> i64 {
    let admin = sqlx::PgPool::connect(base_url).await.unwrap();
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1 || '/%'",
    )
    .bind(application_name)
    .fetch_one(&admin)
    .await
    .unwrap();
    admin.close().await;
    count
}

/// Polls until the app has `want` connections (backends end a moment after the socket closes).
async fn wait_for_connections(base_url: &str, application_name: &str, want: fn(i64) -> bool) {
    let started = Instant::now();
    loop {
        let count = connections_named(base_url, application_name).await;
        if want(count) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{count} connections named {application_name}/… after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `hooks` of the one structured shutdown report in a JSON log.
fn shutdown_reports(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter(|l| l.contains("shutdown report"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|line| {
            let hooks = line
                .get("hooks")
                .or_else(|| line.get("fields").and_then(|f| f.get("hooks")))
                .cloned()
                .unwrap_or(Value::Null);
            match hooks {
                Value::String(s) => serde_json::from_str(&s).unwrap(),
                other => other,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_streams_runs_every_hook_once_in_order_and_leaves_no_connection() {
    let Some(base) = postgres_url("shutdown of the real binary") else {
        return;
    };
    let Some(redis) = redis_url("shutdown of the real binary") else {
        return;
    };
    let db = TestDb::new(Backend::Postgres).await;
    seed_database(&db.url, &small_factory()).await;
    let application_name = format!("mes-test-{:x}", rand_u64());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MES_ENV", "testing")
        .env("WORKERS", "0")
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("DB_APPLICATION_NAME", &application_name)
        .env("REDIS_URL", &redis)
        .env("REDIS_KEY_PREFIX", format!("shutdown-{:x}", rand_u64()))
        .env("LOCAL_AUTH_USERS", local_auth_users())
        .env("CSRF_MODE", "enforce")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,sqlx=warn")
        .env("GRACEFUL_TIMEOUT", "20")
        .env("EQUIPMENT_STREAM_KEEPALIVE_SECONDS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let logs = capture_output(&mut child);
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let http = client();
    let started = Instant::now();
    while !http
        .get(url("/health/live"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not serving; logs:\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Logged in, some data served, an event stream open.
    let (_, csrf) = json(http.get(url("/api/auth/csrf")).send().await.unwrap()).await;
    let (status, body) = json(
        http.post(url("/api/auth/login"))
            .header("x-csrf-token", csrf["data"]["csrf_token"].as_str().unwrap())
            .json(&serde_json::json!({"username": USER, "password": crate::helpers::TEST_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let summary = http
        .get(url("/api/wip/overview/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let mut stream = http
        .get(url("/api/resource/status/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
        .await
        .expect("the stream sends within its keep-alive")
        .unwrap();
    assert!(first.is_some());
    let reader = tokio::spawn(async move {
        // Until the server ends the stream; `Ok(None)` is a clean end.
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            }
        }
    });
    wait_for_connections(&base, &application_name, |n| n > 0).await;

    // Two SIGTERMs: the second runs nothing twice.
    let stopping = Instant::now();
    send_signal(child.id(), "TERM");
    tokio::time::sleep(Duration::from_millis(100)).await;
    send_signal(child.id(), "TERM");
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "still running 30 s after SIGTERM; logs:\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = stopping.elapsed();
    let logs = logs.lock().unwrap().clone();
    assert!(exit.success(), "{exit}; logs:\n{logs}");
    // The open stream did not hold the drain up to GRACEFUL_TIMEOUT (20 s).
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}; logs:\n{logs}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the stream ended with the server")
        .unwrap();
    assert_eq!(ended, Ok(()), "the stream ended cleanly");

    let reports = shutdown_reports(&logs);
    assert_eq!(reports.len(), 1, "one report, hooks run once:\n{logs}");
    let hooks = reports[0].as_array().expect("the report lists the hooks");
    let names: Vec<&str> = hooks.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, SHUTDOWN_ORDER);
    for hook in hooks {
        assert_eq!(hook["outcome"], "finished", "{hook}");
        assert!(hook["duration_ms"].as_u64().is_some(), "{hook}");
    }

    // Nothing of the app is left in PostgreSQL.
    wait_for_connections(&base, &application_name, |n| n == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_hook_is_abandoned_after_its_bound_and_the_later_ones_still_run() {
    let Some(base) = postgres_url("a hanging stop hook") else {
        return;
    };
    let application_name = format!("mes-test-{:x}", rand_u64());
    let app = TestApp::builder(Backend::Postgres)
        .env("DB_APPLICATION_NAME", &application_name)
        .env("SHUTDOWN_HOOK_TIMEOUT", "1")
        .start()
        .await;
    app.login_as_user().await;
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);
    wait_for_connections(&base, &application_name, |n| n > 0).await;

    // A component whose stop never finishes, stopped before the clients it would use.
    app.state()
        .shutdown
        .register("test.hangs", Phase::CacheUpdater, || async {
            std::future::pending::<()>().await;
            Ok(())
        });
    let started = Instant::now();
    let (_, report) = app.shutdown().await;
    let took = started.elapsed();

    assert!(!report.clean(), "{report:?}");
    let hanging = report
        .hooks
        .iter()
        .position(|h| h.name == "test.hangs")
        .unwrap();
    assert_eq!(report.hooks[hanging].outcome, Outcome::TimedOut);
    assert!(report.hooks[hanging].duration_ms >= 1000);
    let after: Vec<&str> = report.hooks[hanging + 1..]
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    // It was registered in the cache updater's phase, right after `cache_updater`.
    assert_eq!(after, SHUTDOWN_ORDER[1..]);
    assert!(
        report.hooks[hanging + 1..]
            .iter()
            .all(|h| h.outcome == Outcome::Finished),
        "{report:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    wait_for_connections(&base, &application_name, |n| n == 0).await;
}
