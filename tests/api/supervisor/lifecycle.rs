//! Worker processes beyond reloads: workers that outlive a killed supervisor stop on their own
//! (their control channel closes), and every worker gets the development secrets the
//! supervisor made up. (Recycling after WORKER_MAX_REQUESTS is a decision of the supervisor's
//! core, tested there without processes.)

use std::time::{Duration, Instant};

use super::{BIN, Site, fresh_client, process_alive, send_signal, serving};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_drain_and_exit_when_the_supervisor_is_killed() {
    let site = Site::new().await;
    let mut sup = site.start(BIN.as_ref(), 2, &[]).await;
    let workers = serving(&sup.try_status().await.unwrap(), Some(1));

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
            &[("MES_ENV", "development"), ("LOCAL_AUTH_USERS", "")],
        )
        .await;
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
