//! The writes the simulator makes keep a lot's row, its hold events, the tools' lots and the
//! maintenance jobs consistent; and after a simulation run the whole factory still obeys the
//! rules.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mes_dashboard::db::hold_events::{self, NewHold, hold_lot, release_lot};
use mes_dashboard::db::lots::{STATUS_RULE_SQL, lot_record};
use mes_dashboard::db::maintenance::{self, JobStep, record_job_step};
use mes_dashboard::db::tools::{ToolChange, change_tool_state};
use mes_dashboard::simulate;
use mes_dashboard::with_conn;

use super::seeded;
use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(
    holding_and_releasing_a_lot_keeps_its_row_and_its_events_consistent,
    a_breakdown_takes_the_lots_off_the_tool_and_opens_a_job_its_return_closes,
    a_simulation_run_leaves_the_factory_consistent,
);

async fn holding_and_releasing_a_lot_keeps_its_row_and_its_events_consistent(backend: Backend) {
    let s = seeded(backend).await;
    let pool = &s.database.request;
    let waiting = s
        .factory
        .lots
        .iter()
        .find(|l| l.status == "QUEUE" && l.future_hold_comment.is_none())
        .unwrap();
    let running = s
        .factory
        .lots
        .iter()
        .find(|l| l.status == "RUN" && l.hold_at.is_none())
        .unwrap();
    let at = Utc::now();
    fn hold(lot: &str, at: DateTime<Utc>) -> NewHold<'_> {
        NewHold {
            lot_id: lot,
            reason: Some("工程驗證"),
            at,
            by: "王志明",
            department: Some("製程工程部"),
            comment: Some("新程式驗證中"),
            future_hold: false,
            future_hold_comment: None,
        }
    }
    let waiting_id = waiting.lot_id.as_str();
    let running_id = running.lot_id.as_str();

    assert!(hold_lot(pool, &hold(waiting_id, at)).await.unwrap());
    assert!(
        !hold_lot(pool, &hold(waiting_id, at)).await.unwrap(),
        "already held"
    );
    assert!(
        !hold_lot(pool, &hold("ZZ999999", at)).await.unwrap(),
        "unknown lot"
    );

    let lot = lot_record(pool, waiting_id).await.unwrap().unwrap();
    assert_eq!(lot.status, "HOLD");
    assert_eq!(lot.hold_reason.as_deref(), Some("工程驗證"));
    assert_eq!(lot.hold_department.as_deref(), Some("製程工程部"));
    assert_eq!(lot.hold_at.map(|t| t.timestamp()), Some(at.timestamp()));
    let events = hold_events::for_lot(pool, waiting_id).await.unwrap();
    let open: Vec<_> = events.iter().filter(|e| e.release_at.is_none()).collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].hold_at, lot.hold_at.unwrap());
    assert_eq!(open[0].step.as_deref(), Some(waiting.step.as_str()));
    assert_eq!(open[0].quantity, waiting.quantity);
    assert!(!open[0].future_hold);

    // Held while it runs: the rule keeps it RUN.
    assert!(hold_lot(pool, &hold(running_id, at)).await.unwrap());
    let lot = lot_record(pool, running_id).await.unwrap().unwrap();
    assert_eq!(lot.status, "RUN");
    assert!(lot.hold_at.is_some());

    let later = at + chrono::Duration::minutes(90);
    assert!(
        release_lot(pool, waiting_id, "林怡君", later)
            .await
            .unwrap()
    );
    assert!(
        !release_lot(pool, waiting_id, "林怡君", later)
            .await
            .unwrap(),
        "not held"
    );
    let lot = lot_record(pool, waiting_id).await.unwrap().unwrap();
    assert_eq!(lot.status, "QUEUE");
    assert_eq!(
        (lot.hold_at, lot.hold_reason, lot.hold_comment),
        (None, None, None)
    );
    let events = hold_events::for_lot(pool, waiting_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.release_by.as_deref(), Some("林怡君"));
    assert_eq!(
        last.release_at.map(|t| t.timestamp()),
        Some(later.timestamp())
    );
    assert!(events.iter().all(|e| e.release_at.is_some()));

    // A future hold taking effect carries the lot's pending comment, and consumes it.
    with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE lots SET future_hold_comment = '預約於 FT-010 扣留：工程確認' \
             WHERE lot_id = $1",
        )
        .bind(waiting_id)
        .execute(&mut *c)
        .await
        .map(|done| done.rows_affected())
    })
    .unwrap();
    let future = NewHold {
        future_hold: true,
        ..hold(waiting_id, at)
    };
    assert!(hold_lot(pool, &future).await.unwrap());
    let events = hold_events::for_lot(pool, waiting_id).await.unwrap();
    let open = events.iter().find(|e| e.release_at.is_none()).unwrap();
    assert!(open.future_hold);
    assert_eq!(
        open.future_hold_comment.as_deref(),
        Some("預約於 FT-010 扣留：工程確認")
    );
    assert!(
        release_lot(pool, waiting_id, "林怡君", later)
            .await
            .unwrap()
    );
    let lot = lot_record(pool, waiting_id).await.unwrap().unwrap();
    assert_eq!(lot.future_hold_comment, None);
    s.database.close().await;
}

async fn a_breakdown_takes_the_lots_off_the_tool_and_opens_a_job_its_return_closes(
    backend: Backend,
) {
    let s = seeded(backend).await;
    let pool = &s.database.request;
    let f = &s.factory;
    let tool = f
        .tools
        .iter()
        .find(|t| {
            f.lots
                .iter()
                .any(|l| l.equipment_id.as_ref() == Some(&t.equipment_id))
        })
        .expect("a tool runs lots");
    let on_it: Vec<_> = f
        .lots
        .iter()
        .filter(|l| l.equipment_id.as_ref() == Some(&tool.equipment_id))
        .collect();
    let open_before = maintenance::open_jobs(pool).await.unwrap().len();
    let down = Utc::now();
    let change = ToolChange {
        equipment_id: &tool.equipment_id,
        state: "UDT",
        reason: Some("真空異常"),
        at: down,
        by: "鄭雅雯",
        symptom: Some("S02 真空異常"),
    };

    assert!(change_tool_state(pool, &change).await.unwrap());

    for lot in &on_it {
        let now = lot_record(pool, &lot.lot_id).await.unwrap().unwrap();
        assert_eq!(now.equipment_id, None, "{}", lot.lot_id);
        assert_eq!(now.track_in_at, None);
        let want = if lot.hold_at.is_some() {
            "HOLD"
        } else {
            "QUEUE"
        };
        assert_eq!(now.status, want);
        assert_eq!(now.step, lot.step, "it waits at its step");
    }
    let open = maintenance::open_jobs(pool).await.unwrap();
    assert_eq!(open.len(), open_before + 1);
    let job = open
        .iter()
        .find(|j| j.equipment_id == tool.equipment_id)
        .unwrap();
    assert_eq!(job.status, "OPEN");
    assert_eq!(job.symptom_code.as_deref(), Some("S02 真空異常"));
    assert_eq!(job.model.as_deref(), Some(tool.model));
    assert!(
        job.job_id
            .starts_with(&format!("MJ{}", down.format("%y%m%d")))
    );
    assert!(f.jobs.iter().all(|j| j.job_id != job.job_id), "a new id");

    let step = JobStep {
        job_id: &job.job_id,
        status: "IN_PROGRESS",
        stage: "維修",
        at: down + chrono::Duration::minutes(10),
        by: "周建志",
        note: Some("C02 吸嘴堵塞"),
        technician: Some("周建志"),
        cause_code: Some("C02 吸嘴堵塞"),
        repair_code: None,
    };
    assert!(record_job_step(pool, &step).await.unwrap());
    let back = ToolChange {
        state: "SBY",
        reason: None,
        at: down + chrono::Duration::minutes(45),
        ..change
    };
    assert!(change_tool_state(pool, &back).await.unwrap());

    let closed = maintenance::job(pool, &job.job_id).await.unwrap().unwrap();
    assert_eq!(closed.status, "DONE");
    assert_eq!(
        closed.completed_at.map(|t| t.timestamp()),
        Some(back.at.timestamp())
    );
    assert_eq!(closed.technician.as_deref(), Some("周建志"));
    assert_eq!(closed.cause_code.as_deref(), Some("C02 吸嘴堵塞"));
    let steps = maintenance::transactions(pool, &job.job_id).await.unwrap();
    let statuses: Vec<&str> = steps.iter().map(|t| t.status.as_str()).collect();
    assert_eq!(statuses, ["OPEN", "IN_PROGRESS", "DONE"]);
    assert!(
        !record_job_step(pool, &step).await.unwrap(),
        "a closed job stays closed"
    );
    assert!(
        !change_tool_state(
            pool,
            &ToolChange {
                equipment_id: "NOPE-1",
                ..change
            }
        )
        .await
        .unwrap()
    );
    s.database.close().await;
}

async fn scalar(pool: &mes_dashboard::db::DbPool, sql: String) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql);
    with_conn!(pool, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *c))
    .unwrap()
}

async fn a_simulation_run_leaves_the_factory_consistent(backend: Backend) {
    let s = seeded(backend).await;
    let pool = &s.database.request;
    let events_before = scalar(pool, "SELECT count(*) FROM hold_events".into()).await;
    let latest_move_in = s.factory.lots.iter().map(|l| l.move_in_at).max().unwrap();

    let report = simulate::run(
        pool,
        &simulate::SimulateOptions {
            rate: 300.0,
            seed: 5,
            duration: Some(Duration::from_secs(3)),
        },
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("the simulation runs");

    assert!(report.flips > 0 && report.moves > 0, "{report:?}");
    assert!(report.holds > 0 && report.releases > 0, "{report:?}");
    let checks = [
        // The status rule.
        format!("SELECT count(*) FROM lots WHERE status <> ({STATUS_RULE_SQL})"),
        // Every held lot has one open event, and no other lot has one.
        "SELECT count(*) FROM lots l WHERE (l.hold_at IS NOT NULL) <> \
         ((SELECT count(*) FROM hold_events e WHERE e.lot_id = l.lot_id \
         AND e.release_at IS NULL AND e.hold_at = l.hold_at) = 1)"
            .into(),
        "SELECT count(*) FROM hold_events e WHERE e.release_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM lots l WHERE l.lot_id = e.lot_id AND l.hold_at = e.hold_at)"
            .into(),
        // Lots only on tools in production.
        "SELECT count(*) FROM lots l JOIN equipment e ON e.equipment_id = l.equipment_id \
         WHERE e.e10_state <> 'PRD'"
            .into(),
        // At most three lots on a tool.
        "SELECT count(*) FROM (SELECT equipment_id FROM lots WHERE equipment_id IS NOT NULL \
         GROUP BY equipment_id HAVING count(*) > 3) crowded"
            .into(),
        // Every tool down has an open job; every open job's tool is down, or was.
        "SELECT count(*) FROM equipment e WHERE e.e10_state = 'UDT' AND NOT EXISTS \
         (SELECT 1 FROM maintenance_jobs j WHERE j.equipment_id = e.equipment_id \
         AND j.completed_at IS NULL)"
            .into(),
        "SELECT count(*) FROM maintenance_jobs j WHERE j.completed_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM equipment_state_history h WHERE h.equipment_id = j.equipment_id \
         AND h.e10_state = 'UDT' AND h.started_at <= j.created_at \
         AND (h.ended_at IS NULL OR h.ended_at > j.created_at))"
            .into(),
        // One open history span per tool.
        "SELECT count(*) FROM equipment e WHERE (SELECT count(*) FROM equipment_state_history \
         h WHERE h.equipment_id = e.equipment_id AND h.ended_at IS NULL) <> 1"
            .into(),
    ];
    for sql in checks {
        assert_eq!(scalar(pool, sql.clone()).await, 0, "{sql}");
    }
    assert!(scalar(pool, "SELECT count(*) FROM hold_events".into()).await > events_before);
    let lots = mes_dashboard::db::lots::load_lot_records(pool)
        .await
        .unwrap();
    assert!(
        lots.iter()
            .any(|l| l.move_in_at.is_some_and(|t| t > latest_move_in)),
        "lots moved on"
    );
    s.database.close().await;
}
