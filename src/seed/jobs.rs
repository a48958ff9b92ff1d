//! Maintenance jobs: one opens when a tool goes down unscheduled (UDT) and is closed when the
//! tool comes back, each with its transactions (reported → diagnosis → repair, sometimes a
//! wait for parts → verification → closed). The job of a tool still down is open; a few jobs
//! of tools back in the last day still wait for their verification to be signed off.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::catalog::{CAUSES, REPAIRS, TECHNICIANS, people_of, symptom_of};
use super::rows::{JobRow, JobTransactionRow, StateSpan, ToolRow};

/// A down span shorter than this is a quick reset, not a job.
const SHORTEST: i64 = 10;

struct Step {
    at: DateTime<Utc>,
    status: &'static str,
    stage: &'static str,
    by: &'static str,
    note: Option<String>,
}

/// The jobs and their transactions, job ids in order of creation.
pub fn generate(
    rng: &mut ChaCha8Rng,
    tools: &[ToolRow],
    history: &[StateSpan],
    now: DateTime<Utc>,
) -> (Vec<JobRow>, Vec<JobTransactionRow>) {
    let operators = people_of("製造部");
    let by_id: HashMap<&str, &ToolRow> =
        tools.iter().map(|t| (t.equipment_id.as_str(), t)).collect();
    // Every breakdown still going on, and those that lasted more than a quick reset, with
    // the time its job was raised (a few minutes into it), in that order.
    let mut downs: Vec<(DateTime<Utc>, &StateSpan)> = history
        .iter()
        .filter(|s| s.e10_state == "UDT")
        .filter(|s| {
            s.ended_at
                .is_none_or(|end| end - s.started_at >= Duration::minutes(SHORTEST))
        })
        .map(|s| {
            let delay = Duration::seconds(rng.random_range(0..180));
            (
                s.started_at + delay.min((s.ended_at.unwrap_or(now) - s.started_at) / 2),
                s,
            )
        })
        .collect();
    downs.sort_by(|a, b| (a.0, &a.1.equipment_id).cmp(&(b.0, &b.1.equipment_id)));
    let mut jobs = Vec::with_capacity(downs.len());
    let mut transactions = Vec::with_capacity(downs.len() * 5);
    let (mut day, mut day_seq, mut month, mut month_seq) = (None, 0, None, 0);
    for (created, span) in downs {
        let Some(tool) = by_id.get(span.equipment_id.as_str()) else {
            continue;
        };
        let end = span.ended_at;
        let length = end.unwrap_or(now) - created;
        let at = |f: f64| created + Duration::seconds((length.num_seconds() as f64 * f) as i64);
        let technician = TECHNICIANS[rng.random_range(0..TECHNICIANS.len())];
        let operator = operators[rng.random_range(0..operators.len())];
        let symptom = symptom_of(span.state_reason);
        let cause = *CAUSES.choose(rng).expect("causes");
        let repair = *REPAIRS.choose(rng).expect("repairs");
        let mut steps = vec![Step {
            at: created,
            status: "OPEN",
            stage: "報修",
            by: operator,
            note: Some(format!("{} 報修：{symptom}", tool.equipment_id)),
        }];
        let step = |f: f64, status, stage, by, note: &str| Step {
            at: at(f),
            status,
            stage,
            by,
            note: Some(note.to_string()),
        };
        // Where the job is now: closed (the tool came back), or as far as its age allows.
        let closed = end.is_some();
        let recent = end.is_some_and(|e| now - e < Duration::days(1));
        let signed_off = closed && !(recent && rng.random_ratio(1, 30));
        let hours = length.num_minutes() as f64 / 60.0;
        if closed || hours > 0.33 {
            steps.push(step(0.1, "IN_PROGRESS", "診斷", technician, "到場檢查"));
        }
        if closed || hours > 2.0 {
            steps.push(step(0.3, "IN_PROGRESS", "維修", technician, cause));
        }
        if (closed && hours > 4.0 && rng.random_ratio(1, 4))
            || (!closed && hours > 8.0 && rng.random_bool(0.4))
        {
            steps.push(step(0.45, "WAIT_PARTS", "待料", technician, "等待零件"));
            if closed {
                steps.push(step(
                    0.75,
                    "IN_PROGRESS",
                    "維修",
                    technician,
                    "零件到料，繼續維修",
                ));
            }
        }
        if closed {
            steps.push(step(0.9, "WAIT_VERIFY", "驗機", technician, repair));
        }
        if signed_off {
            steps.push(step(1.0, "DONE", "結案", operator, "驗機 OK，恢復生產"));
        }
        let last = steps.last().expect("a job has its first step");
        let diagnosed = steps.iter().any(|s| s.stage == "維修");

        let date = created.date_naive();
        if day != Some(date) {
            (day, day_seq) = (Some(date), 0);
        }
        let ym = (date.year(), date.month());
        if month != Some(ym) {
            (month, month_seq) = (Some(ym), 0);
        }
        day_seq += 1;
        month_seq += 1;
        let job_id = format!("MJ{}{day_seq:04}", created.format("%y%m%d"));
        jobs.push(JobRow {
            job_id: job_id.clone(),
            job_order: format!("CM{}{month_seq:05}", created.format("%y%m")),
            status: last.status,
            stage: last.stage,
            equipment_id: tool.equipment_id.clone(),
            model: tool.model,
            created_at: created,
            completed_at: if signed_off { end } else { None },
            symptom_code: symptom,
            cause_code: diagnosed.then_some(cause),
            repair_code: closed.then_some(repair),
            technician: (steps.len() > 1).then_some(technician),
        });
        transactions.extend(steps.into_iter().map(|s| JobTransactionRow {
            job_id: job_id.clone(),
            changed_at: s.at,
            status: s.status,
            stage: s.stage,
            changed_by: s.by,
            note: s.note,
        }));
    }
    (jobs, transactions)
}
