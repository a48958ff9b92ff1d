use chrono::Duration as Span;
use serde_json::json;

use super::*;

fn record(state: JobState, heartbeat_ago: Span) -> JobRecord {
    let now = Utc::now();
    JobRecord {
        id: new_id(),
        kind: "test".into(),
        owner: "alice".into(),
        state,
        progress: 40,
        params: json!({}),
        error: None,
        cancel_requested: false,
        worker: worker_name(),
        heartbeat_at: now - heartbeat_ago,
        created_at: now - Span::minutes(1),
        started_at: Some(now - Span::minutes(1)),
        finished_at: None,
        expires_at: now + Span::minutes(30),
    }
}

#[test]
fn a_job_whose_heartbeat_stopped_is_seen_failed_not_running() {
    let now = Utc::now();
    let alive = record(JobState::Running, Span::seconds(1)).as_seen_at(now);
    assert_eq!(alive.state, JobState::Running);
    let dead = record(JobState::Running, Span::seconds(6)).as_seen_at(now);
    assert_eq!(dead.state, JobState::Failed);
    assert!(dead.error.unwrap().contains("no heartbeat"));
    let queued = record(JobState::Queued, Span::seconds(60)).as_seen_at(now);
    assert_eq!(queued.state, JobState::Failed);
    let done = record(JobState::Done, Span::hours(1)).as_seen_at(now);
    assert_eq!(done.state, JobState::Done, "a finished job stays finished");
}

#[test]
fn ids_are_32_hex_digits_and_states_round_trip() {
    let id = new_id();
    assert!(valid_id(&id), "{id}");
    assert_ne!(id, new_id());
    for bad in ["", "../x", &id.to_uppercase(), &id[1..]] {
        assert!(!valid_id(bad) || bad == id, "{bad}");
    }
    for s in [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ] {
        assert_eq!(JobState::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert_eq!(JobState::parse("paused"), None);
}

#[test]
fn stored_rows_page_in_the_order_asked() {
    let result = json!({"rows": [
        {"tool": "B", "hours": 2.5},
        {"tool": "A", "hours": 10},
        {"tool": "C", "hours": null},
        {"tool": "D", "hours": 7},
    ]});
    let page = page_rows(&result, 1, 2, Some("hours"), true);
    assert_eq!(page["total"], 4);
    assert_eq!(page["rows"][0]["tool"], "A");
    assert_eq!(page["rows"][1]["tool"], "D");
    let page = page_rows(&result, 2, 3, Some("tool"), false);
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page["rows"][0]["tool"], "D");
    let page = page_rows(&result, 9, 3, None, false);
    assert_eq!(page["rows"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_context_stops_its_work_at_the_next_checkpoint() {
    let ctx = JobContext::detached();
    assert!(ctx.checkpoint().await.is_ok());
    ctx.cancel("cancelled by alice".into());
    ctx.cancel("the server shut down".into());
    let stopped = ctx.checkpoint().await;
    assert!(
        matches!(&stopped, Err(JobError::Cancelled(reason)) if reason == "cancelled by alice"),
        "the first reason is kept: {stopped:?}"
    );
}
