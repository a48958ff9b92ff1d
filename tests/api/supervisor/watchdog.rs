//! The watchdog with real processes and signals: a stopped (SIGSTOP, hung) worker is replaced
//! after WORKER_TIMEOUT while the other serves; a killed worker is replaced. (The decisions
//! themselves — timeouts, back-off, kill grace — are tested in the supervisor's core.)

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{BIN, Site, fresh_client, process_alive, send_signal, serving};

fn slot_of(status: &Value, pid: u32) -> u64 {
    status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["pid"] == pid)
        .unwrap()["slot"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_worker_is_replaced_after_the_timeout_and_a_killed_one_at_once() {
    let site = Site::new().await;
    let mut sup = site
        .start(
            BIN.as_ref(),
            2,
            &[("WORKER_TIMEOUT", "3"), ("WORKER_KILL_GRACE_SECONDS", "2")],
        )
        .await;
    let status = sup.try_status().await.unwrap();
    let pids = serving(&status, Some(1));
    let (hung, other) = (pids[0], pids[1]);
    let hung_slot = slot_of(&status, hung);

    // SIGSTOP: the worker's runtime stops beating; the other keeps serving new connections.
    // (A thread that was already inside accept() when the signal came keeps that connection
    // until the worker is killed, as with any hung worker; the test sends nothing until every
    // thread has stopped.)
    send_signal(hung, "STOP");
    wait_until_stopped(hung).await;
    let client = fresh_client();
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let r = client
            .get(sup.url("/api/wip/overview/summary"))
            .header("cookie", &sup.cookie)
            .send()
            .await
            .expect("the other worker answers");
        assert_eq!(r.status(), 200);
        served += 1;
    }
    assert!(served > 0);
    sup.wait_for_log(
        &format!("WORKER TIMEOUT (pid {hung})"),
        Duration::from_secs(30),
    )
    .await;
    let status = sup
        .wait_for(
            "the hung worker's replacement",
            Duration::from_secs(60),
            |s| {
                let now = serving(s, Some(1));
                now.len() == 2 && now.contains(&other) && !now.contains(&hung)
            },
        )
        .await;
    let replacement = *serving(&status, Some(1))
        .iter()
        .find(|p| **p != other)
        .unwrap();
    assert_eq!(slot_of(&status, replacement), hung_slot);
    let started = Instant::now();
    while process_alive(hung) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hung worker {hung} was not killed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let watchdog = &status["history"][0];
    assert_eq!(watchdog["source"], "watchdog", "{status}");
    assert_eq!(watchdog["action"], "replace");
    // The other worker's heartbeats carry the requests it served meanwhile.
    sup.wait_for(
        "the other worker's requests in its heartbeat",
        Duration::from_secs(30),
        |s| {
            s["workers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["pid"] == other && w["requests_served"].as_u64() >= Some(served))
        },
    )
    .await;

    // SIGKILL: a crash; replaced after the back-off.
    send_signal(other, "KILL");
    let status = sup
        .wait_for(
            "the killed worker's replacement",
            Duration::from_secs(60),
            |s| {
                let now = serving(s, Some(1));
                now.len() == 2 && now.contains(&replacement) && !now.contains(&other)
            },
        )
        .await;
    let crash = &status["history"][0];
    assert_eq!(crash["source"], "auto", "{status}");
    assert_eq!(crash["success"], true, "{status}");
    assert!(
        crash["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("pid {other}")) && r.contains("signal 9")),
        "{status}"
    );
    let r = fresh_client()
        .get(sup.url("/api/wip/overview/summary"))
        .header("cookie", &sup.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Waits until every thread of `pid` is stopped (state `T` in /proc).
async fn wait_until_stopped(pid: u32) {
    let started = Instant::now();
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        let all_stopped = tasks.filter_map(Result::ok).all(|t| {
            std::fs::read_to_string(t.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rsplit_once(") ")?.1.to_string();
                    after.chars().next()
                })
                .is_some_and(|state| state == 'T' || state == 't')
        });
        if all_stopped {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "worker {pid} did not stop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
