//! The generated factory obeys the plant's rules; each check recomputes what it expects from
//! the rows themselves.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::config::NonQualityReasons;
use crate::db::lots::wip_status;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn small(seed: u64) -> SeedOptions {
    SeedOptions {
        seed,
        lots: 2_000,
        tools: 60,
        days: 10,
        holds_per_day: None,
        now: now(),
    }
}

fn is_quality(e: &HoldEventRow) -> bool {
    e.hold_reason
        .is_none_or(|r| !catalog::non_quality_reasons().any(|n| n == r))
}

#[test]
fn the_same_seed_gives_the_same_factory() {
    assert_eq!(generate(&small(7)), generate(&small(7)));
    assert_ne!(generate(&small(7)).lots, generate(&small(8)).lots);
}

#[test]
fn sizes_and_the_status_rule_hold() {
    let f = generate(&small(1));
    assert_eq!(f.lots.len(), 2_000);
    assert_eq!(f.tools.len(), 60);
    let ids: HashSet<_> = f.lots.iter().map(|l| l.lot_id.as_str()).collect();
    assert_eq!(ids.len(), 2_000, "lot ids are unique");
    for status in ["RUN", "QUEUE", "HOLD"] {
        assert!(f.lots.iter().any(|l| l.status == status), "{status}");
    }
    let state: HashMap<&str, &str> = f
        .tools
        .iter()
        .map(|t| (t.equipment_id.as_str(), t.e10_state))
        .collect();
    for lot in &f.lots {
        let held = lot.hold_at.is_some();
        assert_eq!(
            lot.status,
            wip_status(lot.equipment_id.is_some(), held),
            "{lot:?}"
        );
        assert_eq!(held, lot.hold_reason.is_some(), "{}", lot.lot_id);
        assert_eq!(held, lot.hold_by.is_some() && lot.hold_department.is_some());
        assert_eq!(lot.equipment_id.is_some(), lot.track_in_at.is_some());
        if let Some(tool) = &lot.equipment_id {
            assert_eq!(
                state[tool.as_str()],
                "PRD",
                "lots run on tools in production"
            );
            assert!(lot.track_in_at.unwrap() >= lot.move_in_at);
        }
        assert!(lot.quantity > 0);
        assert!(lot.started_at <= lot.move_in_at && lot.move_in_at <= now());
        if let Some(at) = lot.hold_at {
            assert!(at >= lot.move_in_at, "held at the current step");
        }
        let latest = [Some(lot.move_in_at), lot.track_in_at, lot.hold_at]
            .into_iter()
            .flatten()
            .max();
        assert_eq!(
            Some(lot.updated_at),
            latest,
            "updated_at is the last change"
        );
        let steps: Vec<&str> = f
            .steps
            .iter()
            .filter(|s| s.workcenter_id == lot.workcenter_id)
            .map(|s| s.step)
            .collect();
        assert!(
            steps.contains(&lot.step.as_str()),
            "{}: {}",
            lot.lot_id,
            lot.step
        );
        assert!(lot.work_order.starts_with("WO") && !lot.wafer_lot.is_empty());
    }
    // A lot on a tool with an active hold exists and runs: the rule puts the tool first.
    assert!(
        f.lots
            .iter()
            .any(|l| l.status == "RUN" && l.hold_at.is_some())
    );
    // Days at station spread over every bucket (0–1, 1–3, 3–7, 7+).
    let now = now();
    for (lo, hi) in [(0, 1), (1, 3), (3, 7), (7, 1_000)] {
        assert!(
            f.lots.iter().any(|l| {
                let days = (now - l.move_in_at).num_hours() as f64 / 24.0;
                days >= f64::from(lo) && days < f64::from(hi)
            }),
            "a lot {lo}–{hi} days at its station"
        );
    }
    // Every workcenter has a tool; every group holds a workcenter.
    for wc in &f.workcenters {
        assert!(
            f.tools.iter().any(|t| t.workcenter_id == wc.id),
            "{}",
            wc.id
        );
    }
    for group in catalog::GROUPS {
        assert!(f.workcenters.iter().any(|w| w.group == *group), "{group}");
    }
}

#[test]
fn every_held_lot_has_exactly_one_open_event_matching_it() {
    let f = generate(&small(2));
    let mut open: HashMap<&str, Vec<&HoldEventRow>> = HashMap::new();
    for e in f.hold_events.iter().filter(|e| e.release_at.is_none()) {
        open.entry(&e.lot_id).or_default().push(e);
    }
    let held: Vec<&LotRow> = f.lots.iter().filter(|l| l.hold_at.is_some()).collect();
    assert!(held.len() > 50);
    assert_eq!(open.len(), held.len(), "no open event without a held lot");
    for lot in held {
        let events = &open[lot.lot_id.as_str()];
        assert_eq!(events.len(), 1, "{}", lot.lot_id);
        let e = events[0];
        assert_eq!(Some(e.hold_at), lot.hold_at);
        assert_eq!(e.hold_reason, lot.hold_reason);
        assert_eq!(Some(e.hold_by), lot.hold_by);
        assert_eq!(Some(e.hold_department), lot.hold_department);
        assert_eq!(e.hold_comment, lot.hold_comment);
        assert_eq!(e.future_hold_comment, lot.future_hold_comment);
        assert_eq!(
            (e.workcenter_id, e.step.as_str(), e.quantity),
            (lot.workcenter_id, lot.step.as_str(), lot.quantity)
        );
    }
}

#[test]
fn hold_history_is_believable() {
    let opts = small(3);
    let f = generate(&opts);
    let start = opts.now - Duration::days(i64::from(opts.days));
    // Events of a lot never overlap; every release follows its hold and is in the past.
    let mut by_lot: HashMap<&str, Vec<&HoldEventRow>> = HashMap::new();
    for e in &f.hold_events {
        by_lot.entry(&e.lot_id).or_default().push(e);
        if let Some(r) = e.release_at {
            assert!(r > e.hold_at && r < opts.now, "{e:?}");
            assert!(e.release_by.is_some());
        }
    }
    for events in by_lot.values_mut() {
        events.sort_by_key(|e| e.hold_at);
        for pair in events.windows(2) {
            assert!(
                pair[0].release_at.is_some_and(|r| r <= pair[1].hold_at),
                "{pair:?}"
            );
        }
    }
    // Repeats: lots held more than once, some for the same quality reason.
    assert!(by_lot.values().filter(|e| e.len() > 1).count() > 20);
    assert!(by_lot.values().any(|events| {
        let reasons: Vec<_> = events
            .iter()
            .filter(|e| is_quality(e))
            .filter_map(|e| e.hold_reason)
            .collect();
        reasons.iter().collect::<HashSet<_>>().len() < reasons.len()
    }));
    // Long holds, future holds, quality and non-quality, a hold without a reason.
    let long = |e: &&HoldEventRow| e.release_at.unwrap_or(opts.now) - e.hold_at > Duration::days(3);
    assert!(f.hold_events.iter().filter(long).count() > 20);
    assert!(f.hold_events.iter().filter(|e| e.future_hold).count() > 20);
    let (q, nq): (Vec<&HoldEventRow>, Vec<&HoldEventRow>) =
        f.hold_events.iter().partition(|e| is_quality(e));
    assert!(
        q.len() > 100 && nq.len() > 100,
        "{} quality, {} not",
        q.len(),
        nq.len()
    );
    // Each day of the window gets about the configured number of new holds.
    let rate = opts.hold_rate();
    assert_eq!(rate, 80);
    for day in 0..opts.days {
        let from = start + Duration::days(i64::from(day));
        let n = f
            .hold_events
            .iter()
            .filter(|e| e.hold_at >= from && e.hold_at < from + Duration::days(1))
            .count() as u32;
        assert!(n >= rate * 7 / 10, "day {day}: {n} new holds");
    }
    // Oldest first.
    assert!(
        f.hold_events
            .windows(2)
            .all(|w| w[0].hold_at <= w[1].hold_at)
    );
}

#[test]
fn the_seeds_non_quality_reasons_are_the_default_setting() {
    let f = generate(&small(4));
    let default = NonQualityReasons::demo();
    assert_eq!(default.names().len(), 12);
    let used: HashSet<&str> = f.hold_events.iter().filter_map(|e| e.hold_reason).collect();
    let reasons: HashSet<&str> = catalog::HOLD_REASONS.iter().map(|r| r.name).collect();
    assert_eq!(reasons.len(), 24, "two dozen distinct reasons");
    for name in default.names() {
        assert!(reasons.contains(name.as_str()), "{name} is a seeded reason");
        assert!(used.contains(name.as_str()), "{name} is used");
    }
    let env_example = include_str!("../../.env.example");
    assert!(
        env_example.contains(&default.names().join(",")),
        ".env.example lists the default"
    );
}

#[test]
fn jobs_follow_breakdowns() {
    // Enough tools that jobs are raised around every midnight.
    let opts = SeedOptions {
        tools: 300,
        ..small(5)
    };
    let f = generate(&opts);
    let tools: HashMap<&str, &ToolRow> = f
        .tools
        .iter()
        .map(|t| (t.equipment_id.as_str(), t))
        .collect();
    let ids: HashSet<&str> = f.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids.len(), f.jobs.len(), "job ids are unique");
    assert!(f.jobs.len() > 100);
    for job in &f.jobs {
        // Created while its tool was down: within a UDT span of that tool.
        let down = f.history.iter().any(|h| {
            h.equipment_id == job.equipment_id
                && h.e10_state == "UDT"
                && h.started_at <= job.created_at
                && h.ended_at.is_none_or(|e| job.created_at < e)
        });
        assert!(down, "{job:?}");
        let tool = tools[job.equipment_id.as_str()];
        assert_eq!(job.model, tool.model);
        match job.completed_at {
            None => assert_ne!(job.status, "DONE"),
            Some(done) => {
                assert_eq!(job.status, "DONE");
                assert!(done > job.created_at);
            }
        }
        let steps: Vec<&JobTransactionRow> = f
            .job_transactions
            .iter()
            .filter(|t| t.job_id == job.job_id)
            .collect();
        assert_eq!(steps[0].status, "OPEN");
        assert!(steps.windows(2).all(|w| w[0].changed_at <= w[1].changed_at));
        let last = steps.last().unwrap();
        assert_eq!((last.status, last.stage), (job.status, job.stage));
    }
    // Every tool down now has an open job; some jobs of tools back wait for sign-off.
    for tool in f.tools.iter().filter(|t| t.e10_state == "UDT") {
        assert!(
            f.jobs
                .iter()
                .any(|j| j.equipment_id == tool.equipment_id && j.completed_at.is_none()),
            "{}",
            tool.equipment_id
        );
    }
}
