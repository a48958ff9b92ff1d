//! Worker processes beyond reloads: workers that outlive a killed supervisor stop on their own
//! (their control channel closes), and every worker gets the development secrets the
//! supervisor made up. (Recycling after WORKER_MAX_REQUESTS is a decision of the supervisor's
//! core, tested there without processes.)

use std::time::{Duration, Instant};

use super::{BIN, Site, fresh_client, process_alive, send_signal, serving};

/// The value of `name` in the environment process `pid` started with.
fn environ_value(pid: u32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("a worker's environment");
    environ.split(|b| *b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (key, value) = entry.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// The processes `pid` started that are running.
fn children(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the supervisor's threads");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_drain_and_exit_when_the_supervisor_is_killed() {
    let site = Site::new().await;
    let mut sup = site.start(BIN.as_ref(), 2, &[]).await;
    let workers = serving(&sup.try_status().await.unwrap(), Some(1));
    // Workers hand freed memory back at once (the allocator's option; see supervisor/spawn.rs).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        for pid in &workers {
            assert_eq!(
                environ_value(*pid, "MIMALLOC_PURGE_DELAY").as_deref(),
                Some("0")
            );
        }
    }

    send_signal(sup.pid(), "KILL");
    let _ = sup.wait_exit(Duration::from_secs(10));
    let started = Instant::now();
    while workers.iter().any(|p| process_alive(*p)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "workers {workers:?} outlived their supervisor; logs:\n{}",
            sup.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sup.wait_for_log("the supervisor is gone; draining", Duration::from_secs(5))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_development_every_worker_accepts_the_one_demo_password_printed() {
    let site = Site::new().await;
    // Development without LOCAL_AUTH_USERS (empty is unset) or LDAP: the demo login.
    let sup = site
        .start_anonymous(
            BIN.as_ref(),
            2,
            &[
                ("MES_ENV", "development"),
                ("LOCAL_AUTH_USERS", ""),
                ("MIMALLOC_PURGE_DELAY", "250"),
            ],
        )
        .await;
    // The operator's own allocator setting is the workers' too.
    let workers = children(sup.pid());
    assert!(!workers.is_empty(), "the supervisor's workers");
    for pid in workers {
        assert_eq!(
            environ_value(pid, "MIMALLOC_PURGE_DELAY").as_deref(),
            Some("250")
        );
    }
    sup.wait_for_log("Development login", Duration::from_secs(30))
        .await;
    let logs = sup.logs();
    assert_eq!(
        logs.matches("Development login").count(),
        1,
        "printed once, by the supervisor:\n{logs}"
    );
    let password = logs
        .split("password `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the password is printed")
        .to_string();
    assert_eq!(password.len(), 16);

    // New connections spread over both workers; every one accepts the printed password.
    for attempt in 0..8 {
        let client = fresh_client();
        let anonymous = client.get(sup.url("/api/auth/csrf")).send().await.unwrap();
        let cookie = crate::helpers::set_session_cookie(&anonymous).unwrap();
        let (_, body) = crate::helpers::json(anonymous).await;
        let token = body["data"]["csrf_token"].as_str().unwrap().to_string();
        let login = client
            .post(sup.url("/api/auth/login"))
            .header("cookie", cookie)
            .header("x-csrf-token", token)
            .header("connection", "close")
            .json(&serde_json::json!({"username": "demo", "password": password}))
            .send()
            .await
            .unwrap();
        let (status, body) = crate::helpers::json(login).await;
        assert_eq!(status, 200, "attempt {attempt}: {body}");
        assert_eq!(body["data"]["user"]["is_admin"], true, "{body}");
    }
}

/// The value of the sample line `series` (name with its labels) in a Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_from_any_worker_show_every_worker_of_the_instance_and_totals() {
    let site = Site::new().await;
    let sup = site.start(BIN.as_ref(), 2, &[]).await;
    let workers = serving(&sup.try_status().await.unwrap(), Some(1));
    assert_eq!(workers.len(), 2);

    // New connections spread over the workers. Once every worker has beaten and received
    // the supervisor's next snapshot, each answer — whichever worker gives it — lists both,
    // with the instance total equal to their sum: six answers in a row must.
    let until = Instant::now() + Duration::from_secs(30);
    let mut in_a_row = 0;
    while in_a_row < 6 {
        assert!(
            Instant::now() < until,
            "six /metrics answers in a row listing both workers"
        );
        let response = fresh_client()
            .get(sup.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let per_worker: Vec<f64> = workers
            .iter()
            .filter_map(|pid| {
                text.lines().find_map(|l| {
                    let rest = l.strip_prefix("mes_http_requests_total{worker=\"")?;
                    rest.contains(&format!("pid=\"{pid}\"}}"))
                        .then(|| rest.rsplit_once(' ')?.1.parse().ok())?
                })
            })
            .collect();
        if per_worker.len() < 2 {
            in_a_row = 0;
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        in_a_row += 1;
        let total =
            sample(&text, "mes_http_requests_total{worker=\"all\"}").expect("the instance total");
        assert_eq!(total, per_worker.iter().sum::<f64>(), "{text}");
        assert!(
            text.contains("mes_db_pool_max{pool=\"request\",worker=\"all\"}"),
            "{text}"
        );
        for family in ["mes_event_streams_open", "mes_log_lines_dropped_total"] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family}:\n{text}"
            );
        }
    }
}
