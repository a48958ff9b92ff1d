//! The query functions of the new tables return what the generated rows say, computed here
//! independently from the factory the test seeded.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use mes_dashboard::config::NonQualityReasons;
use mes_dashboard::db::hold_events::{self, EventQuery, HoldEvent, Reasons, Record, SortBy};
use mes_dashboard::db::{lots, maintenance, reference, tools};
use mes_dashboard::seed::HoldEventRow;

use super::seeded;
use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(
    lots_tools_and_reference_data_load_as_seeded,
    hold_event_queries_return_the_events_of_a_window,
    hold_event_pages_filter_sort_and_count_like_the_rows_say,
    maintenance_queries_return_the_jobs_and_their_transactions,
);

async fn lots_tools_and_reference_data_load_as_seeded(backend: Backend) {
    let s = seeded(backend).await;
    let f = &s.factory;
    let pool = &s.database.request;

    let records = lots::load_lot_records(pool).await.unwrap();
    let mut want = f.lots.clone();
    want.sort_by(|a, b| a.lot_id.cmp(&b.lot_id));
    assert_eq!(records.len(), want.len());
    for (got, lot) in records.iter().zip(&want) {
        assert_eq!(got.lot_id, lot.lot_id);
        assert_eq!(got.status, lot.status);
        assert_eq!(got.work_order.as_deref(), Some(lot.work_order.as_str()));
        assert_eq!(got.lot_type.as_deref(), Some(lot.lot_type));
        assert_eq!(got.bop.as_deref(), Some(lot.bop.as_str()));
        assert_eq!(got.workflow.as_deref(), Some(lot.workflow.as_str()));
        assert_eq!(got.function.as_deref(), Some(lot.function));
        assert_eq!(got.wafer_lot.as_deref(), Some(lot.wafer_lot.as_str()));
        assert_eq!(got.move_in_at, Some(lot.move_in_at));
        assert_eq!(got.hold_at, lot.hold_at);
        assert_eq!(got.hold_department.as_deref(), lot.hold_department);
        assert_eq!(got.hold_comment.as_deref(), lot.hold_comment);
        assert_eq!(got.future_hold_comment, lot.future_hold_comment);
        assert_eq!(got.equipment_id, lot.equipment_id);
        assert_eq!(got.quantity, lot.quantity);
    }
    let one = lots::lot_record(pool, &want[3].lot_id).await.unwrap();
    assert_eq!(one.as_ref(), Some(&records[3]));
    assert_eq!(lots::lot_record(pool, "ZZ999999").await.unwrap(), None);

    let workcenters = reference::workcenter_infos(pool).await.unwrap();
    let ids: Vec<&str> = workcenters
        .iter()
        .map(|w| w.workcenter_id.as_str())
        .collect();
    let want_ids: Vec<&str> = f.workcenters.iter().map(|w| w.id).collect();
    assert_eq!(ids, want_ids, "route order");
    let group_of: HashMap<&str, &str> = f.workcenters.iter().map(|w| (w.id, w.group)).collect();
    for w in &workcenters {
        assert_eq!(
            w.workcenter_group.as_deref(),
            Some(group_of[w.workcenter_id.as_str()])
        );
    }
    let steps = reference::workcenter_steps(pool).await.unwrap();
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.workcenter_id.as_str(), s.step.as_str()))
        .collect();
    // The factory lists steps by workcenter in route order, each in its own order.
    let want_steps: Vec<(&str, &str)> = f.steps.iter().map(|s| (s.workcenter_id, s.step)).collect();
    assert_eq!(got, want_steps);
    let packages = reference::package_infos(pool).await.unwrap();
    assert_eq!(packages.len(), f.packages.len());

    let fleet = tools::load_tool_records(pool).await.unwrap();
    assert_eq!(fleet.len(), f.tools.len());
    for tool in &fleet {
        let seeded = f
            .tools
            .iter()
            .find(|t| t.equipment_id == tool.equipment_id)
            .unwrap();
        assert_eq!(
            tool.workcenter_group.as_deref(),
            Some(group_of[seeded.workcenter_id])
        );
        assert_eq!(tool.family.as_deref(), Some(seeded.family));
        assert_eq!(tool.location.as_deref(), Some(seeded.location));
        assert_eq!(tool.package_group.as_deref(), Some(seeded.package_group));
        assert_eq!(tool.vendor.as_deref(), Some(seeded.vendor));
        assert_eq!(
            (tool.is_production, tool.is_key, tool.is_monitored),
            (seeded.is_production, seeded.is_key, seeded.is_monitored)
        );
        assert_eq!(tool.e10_state, seeded.e10_state);
    }
    assert!(fleet.iter().any(|t| t.is_key) && fleet.iter().any(|t| !t.is_key));
    s.database.close().await;
}

/// The event as the test's rows have it, to compare with a loaded one.
fn same(got: &HoldEvent, row: &HoldEventRow) -> bool {
    got.lot_id == row.lot_id
        && got.hold_at == row.hold_at
        && got.release_at == row.release_at
        && got.hold_reason.as_deref() == row.hold_reason
        && got.quantity == row.quantity
        && got.workcenter_id == row.workcenter_id
        && got.future_hold == row.future_hold
        && got.future_hold_comment == row.future_hold_comment
        && got.hold_department.as_deref() == Some(row.hold_department)
        && got.release_by.as_deref() == row.release_by
}

fn keys(events: &[HoldEvent]) -> Vec<(String, DateTime<Utc>)> {
    events
        .iter()
        .map(|e| (e.lot_id.clone(), e.hold_at))
        .collect()
}

fn row_keys<'a>(rows: impl Iterator<Item = &'a HoldEventRow>) -> Vec<(String, DateTime<Utc>)> {
    rows.map(|e| (e.lot_id.clone(), e.hold_at)).collect()
}

async fn hold_event_queries_return_the_events_of_a_window(backend: Backend) {
    let s = seeded(backend).await;
    let f = &s.factory;
    let pool = &s.database.request;
    let now = f.lots.iter().map(|l| l.updated_at).max().unwrap();
    let (from, to) = (now - Duration::hours(30), now - Duration::hours(6));

    let got = hold_events::overlapping(pool, from, to).await.unwrap();

    let mut want: Vec<&HoldEventRow> = f
        .hold_events
        .iter()
        .filter(|e| e.hold_at < to && e.release_at.is_none_or(|r| r >= from))
        .collect();
    want.sort_by_key(|e| e.hold_at);
    assert!(want.len() > 5, "the window has events");
    let mut got_keys = keys(&got);
    let mut want_keys = row_keys(want.iter().copied());
    assert!(
        got.windows(2).all(|w| w[0].hold_at <= w[1].hold_at),
        "oldest first"
    );
    got_keys.sort();
    want_keys.sort();
    assert_eq!(got_keys, want_keys);
    for e in &got {
        let row = want
            .iter()
            .find(|r| r.lot_id == e.lot_id && r.hold_at == e.hold_at)
            .unwrap();
        assert!(same(e, row), "{e:?} vs {row:?}");
    }

    let open = hold_events::open_events(pool).await.unwrap();
    let mut open_keys = keys(&open);
    open_keys.sort();
    let mut want_open = row_keys(f.hold_events.iter().filter(|e| e.release_at.is_none()));
    want_open.sort();
    assert_eq!(open_keys, want_open);

    // A lot held more than once: its whole story, in order.
    let mut per_lot: HashMap<&str, usize> = HashMap::new();
    for e in &f.hold_events {
        *per_lot.entry(&e.lot_id).or_default() += 1;
    }
    let (lot, n) = per_lot.iter().max_by_key(|(id, n)| (**n, *id)).unwrap();
    assert!(*n > 1);
    let story = hold_events::for_lot(pool, lot).await.unwrap();
    assert_eq!(story.len(), *n);
    assert!(
        story
            .windows(2)
            .all(|w| w[0].release_at.unwrap() <= w[1].hold_at)
    );
    s.database.close().await;
}

/// Which generated events a case expects.
type Keep<'a> = Box<dyn Fn(&HoldEventRow) -> bool + 'a>;

async fn hold_event_pages_filter_sort_and_count_like_the_rows_say(backend: Backend) {
    let s = seeded(backend).await;
    let f = &s.factory;
    let pool = &s.database.request;
    let now = f.lots.iter().map(|l| l.updated_at).max().unwrap();
    let (from, to) = (now - Duration::days(2), now - Duration::hours(2));
    let non_quality = NonQualityReasons::demo();
    let list = non_quality.names().to_vec();
    let quality = |e: &HoldEventRow| non_quality.hold_type(e.hold_reason).as_str() == "quality";

    let cases: Vec<(Record, Reasons<'_>, Keep<'_>)> = vec![
        (
            Record::New,
            Reasons::All,
            Box::new(|e| e.hold_at >= from && e.hold_at < to),
        ),
        (
            Record::Released,
            Reasons::Except(&list),
            Box::new(|e| e.release_at.is_some_and(|r| r >= from && r < to) && quality(e)),
        ),
        (
            Record::OnHold,
            Reasons::Only(&list),
            Box::new(|e| e.hold_at < to && e.release_at.is_none_or(|r| r >= to) && !quality(e)),
        ),
        (
            Record::Any,
            Reasons::All,
            Box::new(|e| e.hold_at < to && e.release_at.is_none_or(|r| r >= from)),
        ),
    ];
    for (record, reasons, keep) in &cases {
        let want: Vec<&HoldEventRow> = f.hold_events.iter().filter(|e| keep(e)).collect();
        assert!(!want.is_empty(), "{record:?} selects events");
        // Longest first (open holds count until the window's end), then a second page.
        let duration = |e: &HoldEventRow| e.release_at.unwrap_or(to) - e.hold_at;
        let mut sorted = want.clone();
        sorted.sort_by_key(|e| std::cmp::Reverse(duration(e)));
        let query = |offset: u64| EventQuery {
            from,
            to,
            record: *record,
            reasons: *reasons,
            held_for: None,
            sort: SortBy::Duration,
            descending: true,
            limit: 3,
            offset,
        };
        let first = hold_events::page(pool, &query(0)).await.unwrap();
        let second = hold_events::page(pool, &query(3)).await.unwrap();
        assert_eq!(first.total as usize, want.len(), "{record:?}");
        assert_eq!(second.total as usize, want.len());
        let durations: Vec<Duration> = first
            .events
            .iter()
            .chain(&second.events)
            .map(|e| e.release_at.unwrap_or(to) - e.hold_at)
            .collect();
        let want_durations: Vec<Duration> = sorted.iter().take(6).map(|e| duration(e)).collect();
        assert_eq!(durations, want_durations, "{record:?}");
    }

    // By lot id, ascending, every row on one page.
    let all = hold_events::page(
        pool,
        &EventQuery {
            from,
            to,
            record: Record::Any,
            reasons: Reasons::Only(&list[..1]),
            held_for: None,
            sort: SortBy::LotId,
            descending: false,
            limit: 10_000,
            offset: 0,
        },
    )
    .await
    .unwrap();
    let mut want: Vec<(String, DateTime<Utc>)> = f
        .hold_events
        .iter()
        .filter(|e| e.hold_at < to && e.release_at.is_none_or(|r| r >= from))
        .filter(|e| e.hold_reason == Some(list[0].as_str()))
        .map(|e| (e.lot_id.clone(), e.hold_at))
        .collect();
    want.sort();
    let got: Vec<(String, DateTime<Utc>)> = keys(&all.events);
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want);
    assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "by lot id");
    s.database.close().await;
}

async fn maintenance_queries_return_the_jobs_and_their_transactions(backend: Backend) {
    let s = seeded(backend).await;
    let f = &s.factory;
    let pool = &s.database.request;

    let open = maintenance::open_jobs(pool).await.unwrap();
    let mut want: Vec<_> = f.jobs.iter().filter(|j| j.completed_at.is_none()).collect();
    want.sort_by(|a, b| (a.created_at, &a.job_id).cmp(&(b.created_at, &b.job_id)));
    let got: Vec<&str> = open.iter().map(|j| j.job_id.as_str()).collect();
    let want_ids: Vec<&str> = want.iter().map(|j| j.job_id.as_str()).collect();
    assert!(!want_ids.is_empty(), "tools are down now");
    assert_eq!(got, want_ids, "longest open first");

    // Two tools over the last day.
    let now = f.lots.iter().map(|l| l.updated_at).max().unwrap();
    let (from, to) = (now - Duration::days(1), now);
    let mut busiest: HashMap<&str, usize> = HashMap::new();
    for j in &f.jobs {
        *busiest.entry(&j.equipment_id).or_default() += 1;
    }
    let mut tools: Vec<(&str, usize)> = busiest.into_iter().collect();
    tools.sort_by(|a, b| (b.1, a.0).cmp(&(a.1, b.0)));
    let chosen: Vec<String> = tools.iter().take(2).map(|(t, _)| t.to_string()).collect();
    let jobs = maintenance::jobs_between(pool, from, to, &chosen)
        .await
        .unwrap();
    let mut want: Vec<&str> = f
        .jobs
        .iter()
        .filter(|j| chosen.contains(&j.equipment_id))
        .filter(|j| j.created_at < to && j.completed_at.is_none_or(|c| c >= from))
        .map(|j| j.job_id.as_str())
        .collect();
    want.sort();
    let mut got: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    got.sort();
    assert_eq!(got, want);
    let every = maintenance::jobs_between(pool, from, to, &[])
        .await
        .unwrap();
    let want_every = f
        .jobs
        .iter()
        .filter(|j| j.created_at < to && j.completed_at.is_none_or(|c| c >= from))
        .count();
    assert_eq!(every.len(), want_every);

    // A job expands to its transactions, in order.
    let job = f.jobs.iter().find(|j| j.completed_at.is_some()).unwrap();
    let loaded = maintenance::job(pool, &job.job_id).await.unwrap().unwrap();
    assert_eq!(loaded.status, job.status);
    assert_eq!(loaded.completed_at, job.completed_at);
    assert_eq!(loaded.symptom_code.as_deref(), Some(job.symptom_code));
    let steps = maintenance::transactions(pool, &job.job_id).await.unwrap();
    let want: Vec<(&str, &str)> = f
        .job_transactions
        .iter()
        .filter(|t| t.job_id == job.job_id)
        .map(|t| (t.status, t.stage))
        .collect();
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|t| (t.status.as_str(), t.stage.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.last(), Some(&("DONE", "結案")));
    let ids: Vec<String> = f.jobs.iter().take(3).map(|j| j.job_id.clone()).collect();
    let batch = maintenance::transactions_of(pool, &ids).await.unwrap();
    let want = f
        .job_transactions
        .iter()
        .filter(|t| ids.contains(&t.job_id))
        .count();
    assert_eq!(batch.len(), want);
    assert!(
        maintenance::transactions_of(pool, &[])
            .await
            .unwrap()
            .is_empty()
    );
    s.database.close().await;
}
