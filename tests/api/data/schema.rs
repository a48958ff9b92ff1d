//! Migrations on both backends, and the seeded factory's rules checked in the database itself.

use std::collections::HashSet;

use mes_dashboard::config::NonQualityReasons;
use mes_dashboard::db::lots::STATUS_RULE_SQL;
use mes_dashboard::db::migrate;
use mes_dashboard::with_conn;

use super::{database, seeded};
use crate::helpers::{Backend, TestDb};
use crate::on_both_backends;

on_both_backends!(
    migrations_apply_once_and_running_them_again_changes_nothing,
    the_seeded_factory_keeps_the_plants_rules_in_the_database,
);

/// Every column of the tables the reports read, as docs/SCHEMA.md lists them.
const COLUMNS: &[(&str, &str)] = &[
    (
        "workcenters",
        "workcenter_id, name, sequence, workcenter_group, group_sequence",
    ),
    ("workcenter_steps", "workcenter_id, step, name, sequence"),
    ("packages", "package_id, family"),
    (
        "lots",
        "lot_id, product, package_id, workcenter_id, step, status, quantity, priority, \
         equipment_id, track_in_at, hold_reason, hold_at, hold_by, started_at, updated_at, \
         work_order, lot_type, bop, workflow, function, wafer_lot, move_in_at, hold_department, \
         hold_comment, future_hold_comment",
    ),
    (
        "equipment",
        "equipment_id, workcenter_id, model, e10_state, state_reason, state_since, updated_at, \
         family, location, package_group, vendor, is_production, is_key, is_monitored",
    ),
    (
        "equipment_state_history",
        "id, equipment_id, e10_state, state_reason, started_at, ended_at",
    ),
    (
        "hold_events",
        "id, lot_id, product, package_id, workcenter_id, step, quantity, hold_reason, hold_at, \
         hold_by, hold_department, hold_comment, future_hold, future_hold_comment, release_at, \
         release_by",
    ),
    (
        "maintenance_jobs",
        "job_id, job_order, status, stage, equipment_id, model, created_at, completed_at, \
         symptom_code, cause_code, repair_code, technician",
    ),
    (
        "maintenance_job_transactions",
        "id, job_id, changed_at, status, stage, changed_by, note",
    ),
];

async fn migrations_apply_once_and_running_them_again_changes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let database = database(&db.url);
    let pool = &database.request;

    let first = migrate::run(pool).await.expect("migrations apply");
    let again = migrate::run(pool)
        .await
        .expect("running them again is fine");

    assert_eq!(first, 11, "every migration applied");
    assert_eq!(again, 0, "nothing left to apply");
    for (table, columns) in COLUMNS {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {columns} FROM {table}"));
        let result = with_conn!(pool, |c| async {
            sqlx::query(sql)
                .fetch_all(&mut *c)
                .await
                .map(|rows| rows.len())
        });
        assert!(result.is_ok(), "{table}: {result:?}");
    }
    // A row written the old way (only the first columns) is still valid.
    let inserted = with_conn!(pool, |c| async {
        sqlx::query(
            "INSERT INTO equipment (equipment_id, workcenter_id, model, e10_state, state_reason, \
         state_since, updated_at) VALUES ('X-1', 'WB', 'M', 'SBY', NULL, $1, $1)",
        )
        .bind(chrono::Utc::now())
        .execute(&mut *c)
        .await
        .map(|done| done.rows_affected())
    });
    assert!(inserted.is_ok(), "{inserted:?}");
    let flags = with_conn!(pool, |c| sqlx::query_as::<_, (bool, bool, bool)>(
        "SELECT is_production, is_key, is_monitored FROM equipment WHERE equipment_id = 'X-1'"
    )
    .fetch_one(&mut *c))
    .unwrap();
    assert_eq!(flags, (true, false, false));
    database.close().await;
}

async fn count(database: &mes_dashboard::db::Database, sql: String) -> i64 {
    let pool = &database.request;
    let sql = sqlx::AssertSqlSafe(sql);
    with_conn!(pool, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *c))
    .unwrap()
}

async fn the_seeded_factory_keeps_the_plants_rules_in_the_database(backend: Backend) {
    let s = seeded(backend).await;
    let f = &s.factory;
    let db = &s.database;

    // Every lot's status follows the rule.
    let breaking = count(
        db,
        format!("SELECT count(*) FROM lots WHERE status <> ({STATUS_RULE_SQL})"),
    )
    .await;
    assert_eq!(breaking, 0);
    let held = f.lots.iter().filter(|l| l.hold_at.is_some()).count() as i64;
    assert!(held > 10);
    // Every held lot has exactly one open event, at its hold time for its reason; no other
    // lot has one.
    let matching = count(
        db,
        "SELECT count(*) FROM lots l JOIN hold_events e ON e.lot_id = l.lot_id \
         AND e.release_at IS NULL WHERE e.hold_at = l.hold_at AND e.hold_reason = l.hold_reason \
         AND e.hold_by = l.hold_by AND e.workcenter_id = l.workcenter_id"
            .into(),
    )
    .await;
    let open = count(
        db,
        "SELECT count(*) FROM hold_events WHERE release_at IS NULL".into(),
    )
    .await;
    assert_eq!((matching, open), (held, held));
    // Lots held more than once.
    let repeated = count(
        db,
        "SELECT count(*) FROM (SELECT lot_id FROM hold_events GROUP BY lot_id \
         HAVING count(*) > 1) r"
            .into(),
    )
    .await;
    assert!(repeated > 0);
    // Lots run only on tools in production.
    let misplaced = count(
        db,
        "SELECT count(*) FROM lots l JOIN equipment e ON e.equipment_id = l.equipment_id \
         WHERE e.e10_state <> 'PRD'"
            .into(),
    )
    .await;
    assert_eq!(misplaced, 0);
    // Every open job's tool is down, or was when the job opened; every tool down has one.
    let unexplained = count(
        db,
        "SELECT count(*) FROM maintenance_jobs j WHERE j.completed_at IS NULL AND NOT EXISTS \
         (SELECT 1 FROM equipment_state_history h WHERE h.equipment_id = j.equipment_id \
         AND h.e10_state = 'UDT' AND h.started_at <= j.created_at \
         AND (h.ended_at IS NULL OR h.ended_at > j.created_at))"
            .into(),
    )
    .await;
    assert_eq!(unexplained, 0);
    let down_without_job = count(
        db,
        "SELECT count(*) FROM equipment e WHERE e.e10_state = 'UDT' AND NOT EXISTS \
         (SELECT 1 FROM maintenance_jobs j WHERE j.equipment_id = e.equipment_id \
         AND j.completed_at IS NULL)"
            .into(),
    )
    .await;
    assert_eq!(down_without_job, 0);
    // Lots' steps are steps of their workcenter.
    let stray = count(
        db,
        "SELECT count(*) FROM lots l WHERE NOT EXISTS (SELECT 1 FROM workcenter_steps s \
         WHERE s.workcenter_id = l.workcenter_id AND s.step = l.step)"
            .into(),
    )
    .await;
    assert_eq!(stray, 0);
    // The non-quality reasons the events use are the default setting's.
    let pool = &db.request;
    let reasons: HashSet<String> = with_conn!(pool, |c| sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT hold_reason FROM hold_events WHERE hold_reason IS NOT NULL"
    )
    .fetch_all(&mut *c))
    .unwrap()
    .into_iter()
    .collect();
    let default = NonQualityReasons::demo();
    let non_quality: HashSet<&str> = reasons
        .iter()
        .map(String::as_str)
        .filter(|r| default.contains(r))
        .collect();
    let listed: HashSet<&str> = default.names().iter().map(String::as_str).collect();
    assert!(non_quality.len() >= 6, "{non_quality:?}");
    assert!(non_quality.is_subset(&listed));
    assert!(reasons.len() > non_quality.len(), "quality reasons too");
    s.database.close().await;
}
