//! Background jobs (PRODUCT §4) over real HTTP: a long hold-history range runs as a job that
//! another instance reads, pages and cancels; results expire (410); a shutdown cancels a
//! running job and says so; a job whose worker died is failed; the queue is bounded (429);
//! only the owner or an administrator sees a job. On SQLite and PostgreSQL with the database
//! as the store, and on PostgreSQL with Redis as the store.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error, json, postgres_url, rand_u64, redis_url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Database,
    Redis,
}

/// One test per backend and store: SQLite and PostgreSQL with the database store, PostgreSQL
/// with Redis.
macro_rules! on_every_store {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite, Store::Database).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if postgres_url("postgres").is_some() {
                    super::$name(Backend::Postgres, Store::Database).await
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                if postgres_url("postgres").is_some() && redis_url("jobs in Redis").is_some() {
                    super::$name(Backend::Postgres, Store::Redis).await
                }
            }
        }
    )+};
}

on_every_store!(
    a_job_is_read_paged_and_cancelled_from_another_instance,
    a_result_expires_after_its_ttl,
    a_shutdown_cancels_the_running_job_and_says_so,
    a_job_whose_worker_died_is_reported_failed,
);

crate::on_both_backends!(
    past_the_queue_limit_a_job_is_refused_with_retry_after,
    only_the_owner_or_an_administrator_sees_a_job,
);

/// 91 shift days: a job once past `ASYNC_QUERY_DAYS` = 30.
fn long_range() -> Value {
    json!({"from": "2020-01-01", "to": "2020-03-31"})
}

async fn start(backend: Backend, store: Store, env: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend).env("ASYNC_QUERY_DAYS", "30");
    if store == Store::Redis {
        let url = redis_url("jobs in Redis").expect("checked by the caller");
        builder = builder
            .env("REDIS_URL", &url)
            .env("REDIS_KEY_PREFIX", &format!("t{:x}", rand_u64()))
            .env("REDIS_COMMAND_TIMEOUT_MS", "3000");
    }
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    let app = builder.start().await;
    assert_eq!(
        app.state().jobs.store().name(),
        match store {
            Store::Database => "database",
            Store::Redis => "redis",
        }
    );
    app
}

/// Submits the long range; the job id.
async fn submit(app: &TestApp) -> String {
    let (status, body) = json(
        app.post_json_with_csrf("/api/hold-history/query", &long_range())
            .await,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["job_id"].as_str().unwrap().to_string();
    assert_eq!(body["data"]["status_url"], format!("/api/jobs/{id}"));
    id
}

async fn status(app: &TestApp, id: &str) -> Value {
    let (status, body) = json(app.get(&format!("/api/jobs/{id}")).await).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// Polls `app` until the job's state is one of `states` (a generous deadline).
async fn wait_for(app: &TestApp, id: &str, states: &[&str]) -> Value {
    let started = Instant::now();
    loop {
        let job = status(app, id).await;
        if states.iter().any(|s| job["state"] == *s) {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job {id} never reached {states:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_job_is_read_paged_and_cancelled_from_another_instance(backend: Backend, store: Store) {
    let a = start(backend, store, &[]).await;
    // The other instance answers the same range at once: the figures must agree.
    let b = a.another_instance(&[("ASYNC_QUERY_DAYS", "1000")]).await;
    crate::hold_history::insert(&a.database_url(), &crate::hold_history::events()).await;
    a.login_as_user().await;
    b.login_as_user().await;

    let id = submit(&a).await;
    let job = wait_for(&b, &id, &["done"]).await;
    assert_eq!(job["progress"], 100);
    assert_eq!(job["owner"], "alice");
    assert!(job["finished_at"].is_string());
    let (status, result) = json(
        b.get(&format!("/api/jobs/{id}/result?page=1&page_size=3"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{result}");
    let (status, direct) = json(
        b.post_json_with_csrf("/api/hold-history/query", &long_range())
            .await,
    )
    .await;
    assert_eq!(status, 200, "{direct}");
    for part in ["cards", "trend", "pareto", "buckets", "window"] {
        assert_eq!(result["data"][part], direct["data"][part], "{part}");
    }
    assert_eq!(
        result["data"]["detail"]["total"],
        direct["data"]["detail"]["total"]
    );
    assert_eq!(
        result["data"]["detail"]["rows"].as_array().unwrap().len(),
        3
    );
    // Every inserted hold falls in the 91 days.
    assert_eq!(result["data"]["cards"]["new_holds"]["count"], 8);

    // A slow job, cancelled from the other instance.
    a.state().jobs.pause_at_checkpoints(Duration::from_secs(3));
    let id = submit(&a).await;
    wait_for(&b, &id, &["running"]).await;
    let (status, cancelled) = json(
        b.post_json_with_csrf(&format!("/api/jobs/{id}/cancel"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    // The answer waits (up to 3 s) for the worker on `a` to confirm; a very busy machine may
    // answer first with the cancel still pending.
    let state = cancelled["data"]["state"].as_str().unwrap();
    assert!(["cancelled", "running"].contains(&state), "{cancelled}");
    assert_eq!(cancelled["data"]["error"], "cancelled by alice");
    let seen = status_of_cancelled(&a, &id).await;
    assert_eq!(seen["error"], "cancelled by alice");
    assert_eq!(seen["cancel_requested"], false);
    let (status, body) = json(a.get(&format!("/api/jobs/{id}/result")).await).await;
    assert_error(status, &body, 409, "CONFLICT");
    let (status, body) = json(
        a.post_json_with_csrf(&format!("/api/jobs/{id}/cancel"), &json!({}))
            .await,
    )
    .await;
    assert_error(status, &body, 409, "CONFLICT");
}

async fn status_of_cancelled(app: &TestApp, id: &str) -> Value {
    wait_for(app, id, &["cancelled"]).await
}

async fn a_result_expires_after_its_ttl(backend: Backend, store: Store) {
    let app = start(backend, store, &[("JOB_RESULT_TTL", "1")]).await;
    app.login_as_user().await;
    let id = submit(&app).await;
    let job = wait_for(&app, &id, &["done"]).await;
    let (code, body) = json(app.get(&format!("/api/jobs/{id}/result")).await).await;
    // Read at once it may still be there; after the TTL it is gone for good.
    assert!(code == 200 || code == 410, "{body}");
    assert!(job["expires_at"].is_string());
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let (code, body) = json(app.get(&format!("/api/jobs/{id}/result")).await).await;

    assert_error(code, &body, 410, "JOB_EXPIRED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("run the query again"),
        "{body}"
    );
    let job = self::status(&app, &id).await;
    assert_eq!(job["state"], "done");
    assert_eq!(job["expired"], true);
}

async fn a_shutdown_cancels_the_running_job_and_says_so(backend: Backend, store: Store) {
    let a = start(backend, store, &[]).await;
    let b = a.another_instance(&[]).await;
    a.login_as_user().await;
    b.login_as_user().await;
    b.state().jobs.pause_at_checkpoints(Duration::from_secs(30));
    let id = submit(&b).await;
    wait_for(&a, &id, &["running"]).await;

    let started = Instant::now();
    let (_, report) = b.shutdown().await;

    let jobs_hook = report.hooks.iter().find(|h| h.name == "jobs").unwrap();
    assert_eq!(
        jobs_hook.outcome,
        mes_dashboard::lifecycle::Outcome::Finished
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let job = status(&a, &id).await;
    assert_eq!(job["state"], "cancelled", "{job}");
    assert!(
        job["error"].as_str().unwrap().contains("shut down"),
        "{job}"
    );
}

async fn a_job_whose_worker_died_is_reported_failed(backend: Backend, store: Store) {
    let a = start(backend, store, &[]).await;
    a.login_as_user().await;
    // Another instance on a runtime of its own, which then dies at once: no shutdown hook,
    // no last write — as when its process is killed.
    let id = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let id = rt.block_on(async {
                    let b = a.another_instance(&[]).await;
                    b.login_as_user().await;
                    b.state().jobs.pause_at_checkpoints(Duration::from_secs(60));
                    let id = submit(&b).await;
                    wait_for(&b, &id, &["running"]).await;
                    std::mem::forget(b);
                    id
                });
                rt.shutdown_background();
                id
            })
            .join()
            .unwrap()
    });
    let job = status(&a, &id).await;
    assert!(
        job["state"] == "running" || job["state"] == "failed",
        "{job}"
    );

    let job = wait_for(&a, &id, &["failed"]).await;

    assert!(
        job["error"].as_str().unwrap().contains("no heartbeat"),
        "{job}"
    );
    let (status, body) = json(a.get(&format!("/api/jobs/{id}/result")).await).await;
    assert_error(status, &body, 409, "CONFLICT");
}

async fn past_the_queue_limit_a_job_is_refused_with_retry_after(backend: Backend) {
    let app = start(
        backend,
        Store::Database,
        &[("DB_SLOW_MAX_CONCURRENT", "1"), ("JOB_QUEUE_MAX", "1")],
    )
    .await;
    app.login_as_user().await;
    app.state()
        .jobs
        .pause_at_checkpoints(Duration::from_secs(30));
    let running = submit(&app).await;
    wait_for(&app, &running, &["running"]).await;
    let queued = submit(&app).await;
    assert_eq!(status(&app, &queued).await["state"], "queued");

    let response = app
        .post_json_with_csrf("/api/hold-history/query", &long_range())
        .await;

    let retry = response.headers().get("retry-after").cloned();
    let (status_code, body) = json(response).await;
    assert_error(status_code, &body, 429, "TOO_MANY_REQUESTS");
    assert!(retry.is_some(), "Retry-After is set");
    // Cancelling the queued one frees its place at once.
    let (code, body) = json(
        app.post_json_with_csrf(&format!("/api/jobs/{queued}/cancel"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["state"], "cancelled");
    submit(&app).await;
}

async fn only_the_owner_or_an_administrator_sees_a_job(backend: Backend) {
    let app = start(backend, Store::Database, &[]).await;
    let admin = app.another_instance(&[]).await;
    app.login_as_user().await;
    admin.login_as_admin().await;
    app.state()
        .jobs
        .pause_at_checkpoints(Duration::from_secs(30));
    admin
        .state()
        .jobs
        .pause_at_checkpoints(Duration::from_secs(30));
    let alices = submit(&app).await;
    let admins = submit(&admin).await;

    let (code, body) = json(app.get(&format!("/api/jobs/{admins}")).await).await;
    assert_error(code, &body, 403, "FORBIDDEN");
    let (code, body) = json(
        app.post_json_with_csrf(&format!("/api/jobs/{admins}/cancel"), &json!({}))
            .await,
    )
    .await;
    assert_error(code, &body, 403, "FORBIDDEN");
    assert_eq!(status(&admin, &alices).await["owner"], "alice");
    let (code, body) = json(
        admin
            .post_json_with_csrf(&format!("/api/jobs/{alices}/cancel"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["error"], "cancelled by admin");

    for id in ["0123456789abcdef0123456789abcdef", "nope", "..%2F..%2Fx"] {
        let (code, body) = json(app.get(&format!("/api/jobs/{id}")).await).await;
        assert_error(code, &body, 404, "NOT_FOUND");
    }
    // Without the CSRF token a cancel never reaches the handler.
    let (code, body) = json(
        app.client
            .post(app.url(&format!("/api/jobs/{alices}/cancel")))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 403, "{body}");
}
