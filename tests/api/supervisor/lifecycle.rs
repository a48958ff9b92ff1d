//! Worker life cycles beyond reloads: recycling after WORKER_MAX_REQUESTS, and workers that
//! outlive a killed supervisor stopping on their own.

use std::time::{Duration, Instant};

use super::{BIN, Site, fresh_client, process_alive, send_signal, serving};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_is_recycled_after_max_requests_without_counting_as_churn() {
    let site = Site::new().await;
    let mut sup = site
        .start(BIN.as_ref(), 1, &[("WORKER_MAX_REQUESTS", "30")])
        .await;
    let first = serving(&sup.try_status().await.unwrap(), Some(1))[0];

    let client = fresh_client();
    for _ in 0..40 {
        let r = client
            .get(sup.url("/api/wip/overview/summary"))
            .header("cookie", &sup.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let status = sup
        .wait_for(
            "the recycled worker's replacement",
            Duration::from_secs(60),
            |s| {
                let now = serving(s, Some(1));
                now.len() == 1 && now[0] != first && s["history"][0]["success"] == true
            },
        )
        .await;
    let entry = &status["history"][0];
    assert_eq!(entry["action"], "recycle", "{status}");
    assert_eq!(entry["source"], "auto");
    assert_eq!(status["policy"]["attempts_in_window"], 0, "{status}");
    assert_eq!(status["policy"]["state"], "allowed");
    let started = Instant::now();
    while process_alive(first) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{first} still alive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
