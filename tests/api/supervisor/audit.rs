//! The supervisor's audit trail through a real database outage (PostgreSQL behind a proxy the
//! test cuts): decisions taken while the database is down go to the file audit log, are copied
//! into the database once it is back, and `/admin/api/audit` shows each record once — also
//! after a copy is retried from the start.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{BIN, Site, Supervisor, fresh_client};
use crate::faults::{Fault, FaultProxy, upstream_of, via};
use crate::helpers::{Backend, json as body};
use mes_dashboard::supervisor::audit::file::{FILE_NAME, MARKER_NAME};

/// The file audit log's records.
fn file_records(runtime: &Path) -> Vec<Value> {
    std::fs::read_to_string(runtime.join(FILE_NAME))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON record"))
        .collect()
}

/// Whether the marker says the whole file is in the database.
fn all_copied(runtime: &Path) -> bool {
    let len = std::fs::metadata(runtime.join(FILE_NAME)).map_or(0, |m| m.len());
    let marker = std::fs::read_to_string(runtime.join(MARKER_NAME)).unwrap_or_default();
    len > 0 && marker.trim() == len.to_string()
}

async fn until(what: &str, sup: &Supervisor, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "no {what} within {limit:?}; logs:\n{}",
            sup.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET /admin/api/audit` once the worker reads the database again (its breaker may still be
/// open just after the outage): the entries.
async fn audit_entries(sup: &Supervisor) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let response = fresh_client()
            .get(sup.url("/admin/api/audit?limit=500"))
            .header("cookie", &sup.cookie)
            .send()
            .await
            .unwrap();
        let (status, answer) = body(response).await;
        assert_eq!(status, 200, "{answer}");
        if answer["data"]["database_error"].is_null() {
            return answer["data"]["entries"].as_array().unwrap().clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the audit log never read the database again: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// How many entries show each record id.
fn shown(entries: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for e in entries {
        if let Some(id) = e["record_id"].as_str() {
            *counts.entry(id.to_string()).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_kept_in_the_file_during_an_outage_reach_the_database_once_it_is_back() {
    if crate::helpers::postgres_url("supervisor audit outage").is_none() {
        return;
    }
    let site = Site::on(Backend::Postgres).await;
    let proxy = FaultProxy::start(upstream_of(&site.db.url)).await;
    let url = via(&site.db.url, proxy.addr);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SUPERVISOR_AUDIT_RETRY_INTERVAL", "1"),
        ("DB_POOL_TIMEOUT", "1"),
        ("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "1"),
    ];
    let runtime = site.runtime();
    let mut sup = site.start(BIN.as_ref(), 1, &env).await;

    // With the database up, a reload's records go straight in.
    sup.signal("HUP");
    sup.wait_for("generation 2", Duration::from_secs(60), |s| {
        s["generation"] == 2 && s["reload_in_progress"] == false
    })
    .await;
    // The status says "done" before the writer's insert of the completion has returned: wait
    // for the database to show it, or the outage below could cut that insert in flight (the
    // row lands, the answer is lost, the file keeps a copy that rightly stays out).
    let started = Instant::now();
    while !audit_entries(&sup)
        .await
        .iter()
        .any(|e| e["detail"]["phase"] == "completed" && e["target"] == "generation 2")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the completed reload never reached the database; logs:\n{}",
            sup.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The outage: the next reload's records go to the file, each with its database error.
    proxy.set(Fault::Refuse).await;
    sup.signal("HUP");
    until(
        "completed reload in the file",
        &sup,
        Duration::from_secs(90),
        || {
            file_records(&runtime)
                .iter()
                .any(|r| r["detail"]["phase"] == "completed" && r["target"] == "generation 3")
        },
    )
    .await;
    let kept = file_records(&runtime);
    assert!(kept.len() >= 2, "{kept:?}");
    assert!(kept.iter().all(|r| r["db_error"].is_string()), "{kept:?}");
    assert!(!all_copied(&runtime));

    // The database is back: the writer copies the file in and moves its marker.
    proxy.set(Fault::None).await;
    until(
        "copy into the database",
        &sup,
        Duration::from_secs(60),
        || all_copied(&runtime),
    )
    .await;
    let entries = audit_entries(&sup).await;
    let counts = shown(&entries);
    for record in &kept {
        let id = record["id"].as_str().unwrap();
        assert_eq!(
            counts.get(id),
            Some(&1),
            "record {id} shown once: {entries:?}"
        );
        let row = entries.iter().find(|e| e["record_id"] == id).unwrap();
        assert_eq!(row["store"], "database", "{row}");
        assert_eq!(row["detail"]["phase"], record["detail"]["phase"]);
        assert_eq!(
            row["detail"]["copied_from_file"]["db_error"], record["db_error"],
            "{row}"
        );
    }
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(
        entries.iter().all(|e| e["store"] == "database"),
        "{entries:?}"
    );
    // Two reloads, each requested and completed, newest first: the copies keep their time.
    let phases: Vec<&str> = entries
        .iter()
        .map(|e| e["detail"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["completed", "requested", "completed", "requested"],
        "{entries:?}"
    );

    // A copy retried from the start (the marker lost, a new supervisor) adds nothing: every
    // record id is unique in the table.
    sup.signal("TERM");
    let (exit, _) = sup.wait_exit(Duration::from_secs(60));
    assert!(exit.success(), "{exit}");
    std::fs::remove_file(runtime.join(MARKER_NAME)).unwrap();
    let sup = site.start(BIN.as_ref(), 1, &env).await;
    until("second copy", &sup, Duration::from_secs(60), || {
        all_copied(&runtime)
    })
    .await;
    let again = audit_entries(&sup).await;
    assert_eq!(shown(&again), counts, "{again:?}");
    assert_eq!(again.len(), entries.len());
}
