//! Reloads under load: no failed request, no refused connection, the slow request in flight
//! finishes on the old generation, and afterwards only the new generation answers. Also: a new
//! binary that exits at once leaves the old generation serving, the failure is reported, and
//! the next good binary on disk is the one the next reload starts. (A generation that never
//! becomes ready is the core's WORKER_READY_TIMEOUT decision, tested there.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::{BIN, Site, fresh_client, process_alive, serving};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, counter: &AtomicU64, what: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 20 {
            errors.push(what);
        }
    }
}

/// Requests in a loop until `stop`: keep-alive (one pooled client) or a new connection each.
async fn load(
    url: String,
    cookie: String,
    keep_alive: bool,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let client = if keep_alive {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    } else {
        fresh_client()
    };
    while !stop.load(Ordering::Relaxed) {
        match client.get(&url).header("cookie", &cookie).send().await {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(_) => tally.ok.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    tally.fail(&tally.failed, format!("body: {e:?}"));
                    continue;
                }
            },
            Ok(r) => {
                tally.fail(&tally.failed, format!("status {}", r.status()));
                continue;
            }
            Err(e) if e.is_connect() => {
                tally.fail(&tally.refused, format!("connect: {e:?}"));
                continue;
            }
            Err(e) => {
                tally.fail(&tally.failed, format!("request: {e:?}"));
                continue;
            }
        };
    }
}

/// A `POST /api/wip/lots/lookup` held in flight on a worker of the serving generation: a first
/// request on the same connection proves a worker has accepted the connection (`accepted` is
/// told then), the lookup's head and all but the last byte of its body follow, and the last
/// byte waits for `finish`. Returns the lookup's raw answer.
async fn held_lookup(
    addr: std::net::SocketAddr,
    cookie: String,
    csrf: String,
    accepted: oneshot::Sender<()>,
    finish: oneshot::Receiver<()>,
) -> String {
    let body = br#"{"lot_ids": ["NO-SUCH-LOT-1", "NO-SUCH-LOT-2", "NO-SUCH-LOT-3"]}"#;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let first = read_answer(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let head = format!(
        "POST /api/wip/lots/lookup HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (last, most) = body.split_last().unwrap();
    stream.write_all(most).await.unwrap();
    let _ = accepted.send(());
    let _ = finish.await;
    stream.write_all(&[*last]).await.unwrap();
    read_answer(&mut stream).await
}

/// Reads one answer: its head, then its body (`Content-Length` bytes, or chunks to the last),
/// or until the server closes; bounded.
async fn read_answer(stream: &mut tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(usize::MAX);
            let chunked = head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked");
            if (chunked && body.ends_with("0\r\n\r\n")) || (!chunked && body.len() >= length) {
                return text;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return text,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("reading an answer: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_reloads_under_load_fail_no_request_and_refuse_no_connection() {
    let site = Site::new().await;
    let mut sup = site.start(BIN.as_ref(), 2, &[]).await;
    let url = sup.url("/api/wip/overview/summary");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for keep_alive in [true, true, false, false] {
        tasks.push(tokio::spawn(load(
            url.clone(),
            sup.cookie.clone(),
            keep_alive,
            stop.clone(),
            tally.clone(),
        )));
    }

    let mut generation = 1;
    let mut old_pids = Vec::new();
    for round in 0..5 {
        let before = sup.try_status().await.expect("status");
        let pids = serving(&before, Some(generation));
        assert_eq!(pids.len(), 2, "round {round}: {before}");
        old_pids.extend(pids.iter().copied());

        // A request is in flight on the current generation when the reload starts, and
        // finishes only once the new generation serves and the old one drains.
        let (accepted, on_accepted) = oneshot::channel();
        let (finish, on_finish) = oneshot::channel();
        let slow = tokio::spawn(held_lookup(
            sup.addr,
            sup.cookie.clone(),
            sup.csrf.clone(),
            accepted,
            on_finish,
        ));
        on_accepted.await.unwrap();
        sup.signal("HUP");

        let next = generation + 1;
        sup.wait_for(
            &format!("generation {next} serving"),
            Duration::from_secs(60),
            |s| {
                s["generation"] == next
                    && s["reload_in_progress"] == false
                    && serving(s, Some(next)).len() == 2
            },
        )
        .await;
        // The old workers were told to stop; the held request is answered once each of them
        // has taken the signal (it then answers with `Connection: close`). Waiting for their
        // log line keeps the check below independent of how fast a loaded machine delivers it.
        let until = std::time::Instant::now() + Duration::from_secs(60);
        for pid in &pids {
            while !sup.logs().lines().any(|l| {
                l.contains("stop signal; draining") && l.contains(&format!("worker.pid={pid}"))
            }) {
                assert!(
                    std::time::Instant::now() < until,
                    "round {round}: worker {pid} did not take its stop signal:\n{}",
                    sup.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        finish.send(()).unwrap();
        let answer = slow.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "round {round}: the slow request was answered by a draining (old) worker: {answer}"
        );
        assert!(answer.contains("NO-SUCH-LOT-2"), "{answer}");
        let after = sup
            .wait_for(
                &format!("generation {next} alone"),
                Duration::from_secs(60),
                |s| s["workers"].as_array().unwrap().len() == 2,
            )
            .await;
        for pid in &pids {
            assert!(
                !serving(&after, None).contains(pid),
                "old worker {pid} still serving"
            );
        }
        generation = next;
    }

    // Keep the load on the new generation for a moment, then stop it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let errors = tally.errors.lock().unwrap().clone();
    let ok = tally.ok.load(Ordering::Relaxed);
    assert_eq!(
        tally.failed.load(Ordering::Relaxed),
        0,
        "failed requests: {errors:?}"
    );
    assert_eq!(
        tally.refused.load(Ordering::Relaxed),
        0,
        "refused connections: {errors:?}"
    );
    assert!(ok > 50, "the load ran ({ok} requests)");

    // Afterwards only generation 6 answers: every old worker is gone.
    let started = Instant::now();
    while old_pids.iter().any(|p| process_alive(*p)) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "old workers still alive: {old_pids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..6 {
        let s = sup.try_status().await.expect("status");
        assert_eq!(s["answered_by"]["generation"], 6, "{s}");
    }
    let status = sup.try_status().await.unwrap();
    let history = status["history"].as_array().unwrap();
    assert_eq!(history.len(), 5);
    assert!(
        history
            .iter()
            .all(|h| h["source"] == "signal" && h["success"] == true),
        "{status}"
    );
}

/// Replaces the file at `path` atomically (as an upgrade does) with `content`.
fn install(path: &std::path::Path, content: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_generation_that_cannot_start_leaves_the_old_one_serving() {
    let site = Site::new().await;
    // The supervisor runs a copy of the binary that the test then "upgrades".
    let bin = site.dir.path().join("mes-dashboard");
    std::fs::copy(BIN, &bin).unwrap();
    let mut sup = site.start(&bin, 2, &[]).await;
    let first = serving(&sup.try_status().await.unwrap(), Some(1));

    // 1. The new binary exits at once.
    install(&bin, b"#!/bin/sh\necho 'broken build' >&2\nexit 3\n");
    sup.signal("HUP");
    let status = sup
        .wait_for("the failed reload", Duration::from_secs(30), |s| {
            s["history"][0]["success"] == false && s["reload_in_progress"] == false
        })
        .await;
    assert!(
        status["last_reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("exited with status 3")),
        "{status}"
    );
    assert_eq!(status["generation"], 1);
    assert_eq!(
        serving(&status, Some(1)),
        first,
        "the old generation serves"
    );
    sup.wait_for_log(
        "reload failed; the old generation keeps serving",
        Duration::from_secs(5),
    )
    .await;
    let r = fresh_client()
        .get(sup.url("/api/wip/overview/summary"))
        .header("cookie", &sup.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // 2. The real binary is back: the next reload succeeds.
    std::fs::copy(BIN, site.dir.path().join("mes-dashboard.new")).unwrap();
    std::fs::rename(site.dir.path().join("mes-dashboard.new"), &bin).unwrap();
    sup.signal("HUP");
    let status = sup
        .wait_for("the good reload", Duration::from_secs(60), |s| {
            s["history"][0]["success"] == true
                && serving(s, None).len() == 2
                && s["workers"].as_array().unwrap().len() == 2
        })
        .await;
    assert!(status["generation"].as_u64().unwrap() > 1, "{status}");
    assert!(status["last_reload_error"].is_null(), "{status}");
}
