//! The WIP read APIs on the seeded factory, on both backends.

use mes_dashboard::cache::lots::{Field, Micros};
use mes_dashboard::db::lots::load_lot_records;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    summary_counts_every_lot_by_status,
    matrix_rows_follow_route_order_and_add_up,
    a_lot_is_found_by_id_and_unknown_or_malformed_ids_are_refused,
    a_lookup_returns_found_lots_and_names_the_missing_ones,
    the_snapshot_holds_every_column_of_every_lot_as_the_database_rows_say,
);

async fn summary_counts_every_lot_by_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();

    let (status, body) = json(app.get("/api/wip/overview/summary").await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let data = &body["data"];
    assert_eq!(data["total"]["lots"], factory.lots.len());
    let total_qty: i64 = factory.lots.iter().map(|l| l.quantity).sum();
    assert_eq!(data["total"]["quantity"], total_qty);
    for status in ["RUN", "QUEUE", "HOLD"] {
        let lots: Vec<_> = factory.lots.iter().filter(|l| l.status == status).collect();
        assert!(!lots.is_empty(), "the test factory has {status} lots");
        assert_eq!(data["by_status"][status]["lots"], lots.len(), "{status}");
        let qty: i64 = lots.iter().map(|l| l.quantity).sum();
        assert_eq!(data["by_status"][status]["quantity"], qty, "{status}");
    }
    assert_eq!(body["meta"]["cache_state"], "fresh");
    assert!(body["meta"]["updated_at"].is_string());
    assert_eq!(body["meta"]["app_version"], env!("CARGO_PKG_VERSION"));
}

async fn matrix_rows_follow_route_order_and_add_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();

    let (status, body) = json(app.get("/api/wip/overview/matrix").await).await;

    assert_eq!(status, 200, "{body}");
    let rows = body["data"]["rows"].as_array().unwrap();
    let order: Vec<_> = rows
        .iter()
        .map(|r| r["workcenter"].as_str().unwrap())
        .collect();
    let expected: Vec<_> = factory.workcenters.iter().map(|w| w.id).collect();
    assert_eq!(order, expected);
    let mut sum_lots = 0;
    for row in rows {
        let wc = row["workcenter"].as_str().unwrap();
        let cells = row["cells"].as_object().unwrap();
        let row_lots: u64 = cells.values().map(|c| c["lots"].as_u64().unwrap()).sum();
        assert_eq!(row["total"]["lots"], row_lots, "{wc}");
        for (package, cell) in cells {
            let want = factory
                .lots
                .iter()
                .filter(|l| l.workcenter_id == wc && l.package_id == package)
                .count();
            assert_eq!(cell["lots"], want, "{wc} × {package}");
        }
        sum_lots += row_lots;
    }
    assert_eq!(sum_lots as usize, factory.lots.len());
    assert_eq!(body["data"]["total"]["lots"], factory.lots.len());
}

async fn a_lot_is_found_by_id_and_unknown_or_malformed_ids_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let held = app
        .factory
        .as_ref()
        .unwrap()
        .lots
        .iter()
        .find(|l| l.status == "HOLD")
        .unwrap()
        .clone();

    let (status, body) = json(app.get(&format!("/api/wip/lot/{}", held.lot_id)).await).await;
    assert_eq!(status, 200, "{body}");
    let lot = &body["data"];
    assert_eq!(lot["lot_id"], held.lot_id);
    assert_eq!(lot["status"], "HOLD");
    assert_eq!(lot["quantity"], held.quantity);
    assert_eq!(lot["hold_reason"], held.hold_reason.unwrap());
    assert!(lot["workcenter_name"].is_string());

    let (status, body) = json(app.get("/api/wip/lot/ZZ999999").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");

    for bad in ["bad%20id", "%3Cscript%3E", "..%2Fetc", &"A".repeat(41)] {
        let (status, body) = json(app.get(&format!("/api/wip/lot/{bad}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        assert!(body["error"]["message"].as_str().unwrap().contains("lotid"));
    }
}

async fn a_lookup_returns_found_lots_and_names_the_missing_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let ids: Vec<String> = app.factory.as_ref().unwrap().lots[..3]
        .iter()
        .map(|l| l.lot_id.clone())
        .collect();

    let body = json!({"lot_ids": [ids[0], ids[1], ids[2], "ZZ000001", ids[0]]});
    let (status, body) = json(app.post_json_with_csrf("/api/wip/lots/lookup", &body).await).await;

    assert_eq!(status, 200, "{body}");
    let mut found: Vec<_> = body["data"]["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(found, want);
    assert_eq!(body["data"]["not_found"], json!(["ZZ000001"]));

    let (status, body) = json(
        app.post_json_with_csrf(
            "/api/wip/lots/lookup",
            &json!({"lot_ids": ["ok1", "bad id"]}),
        )
        .await,
    )
    .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lot_ids[1]")
    );
}

/// The snapshot's load decodes rows by column position with borrowed texts; the rows here are
/// read by column name into owned records (`load_lot_records`), so a column read from the
/// wrong position, or a text interned under the wrong field, shows as a difference.
async fn the_snapshot_holds_every_column_of_every_lot_as_the_database_rows_say(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let records = load_lot_records(&app.state().db.request)
        .await
        .expect("the lots");
    let snapshot = app.state().wip.get().await.expect("loaded").snapshot;
    let table = &snapshot.table;
    assert!(records.len() > 100, "the test factory has lots");
    assert_eq!(table.len(), records.len());

    for r in &records {
        let pos = table
            .position(&r.lot_id)
            .expect("every lot is in the snapshot");
        let lot = &table.lots[pos as usize];
        let text = |field| table.text(pos, field);
        let id = &r.lot_id;
        assert_eq!(
            table.workcenter_of(pos).workcenter_id,
            r.workcenter_id,
            "{id}"
        );
        assert_eq!(lot.status.as_str(), r.status, "{id}");
        assert_eq!(
            (lot.quantity, i64::from(lot.priority)),
            (r.quantity, r.priority),
            "{id}"
        );
        let texts = [
            (Field::Product, Some(r.product.as_str())),
            (Field::Package, Some(r.package_id.as_str())),
            (Field::Step, Some(r.step.as_str())),
            (Field::Equipment, r.equipment_id.as_deref()),
            (Field::HoldReason, r.hold_reason.as_deref()),
            (Field::HoldBy, r.hold_by.as_deref()),
            (Field::HoldDepartment, r.hold_department.as_deref()),
            (Field::HoldComment, r.hold_comment.as_deref()),
            (Field::FutureHoldComment, r.future_hold_comment.as_deref()),
            (Field::WorkOrder, r.work_order.as_deref()),
            (Field::LotType, r.lot_type.as_deref()),
            (Field::Bop, r.bop.as_deref()),
            (Field::Workflow, r.workflow.as_deref()),
            (Field::Function, r.function.as_deref()),
            (Field::WaferLot, r.wafer_lot.as_deref()),
        ];
        for (field, want) in texts {
            assert_eq!(text(field), want, "{id} {field:?}");
        }
        let times = [
            (lot.track_in_at, r.track_in_at),
            (lot.hold_at, r.hold_at),
            (lot.move_in_at, r.move_in_at),
            (lot.started_at, Some(r.started_at)),
            (lot.updated_at, Some(r.updated_at)),
        ];
        for (i, (held, want)) in times.into_iter().enumerate() {
            assert_eq!(held, Micros::from_time(want), "{id} time #{i}");
        }
    }
    // The seeded factory fills optional columns somewhere, so they were compared non-null.
    assert!(records.iter().any(|r| r.hold_comment.is_some()));
    assert!(records.iter().any(|r| r.equipment_id.is_some()));
    assert!(records.iter().any(|r| r.track_in_at.is_some()));
}

#[tokio::test]
async fn an_empty_factory_answers_zeros_not_errors() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    app.login_as_user().await;
    assert_eq!(app.state().db.backend.as_str(), "sqlite");

    let (status, body) = json(app.get("/api/wip/overview/summary").await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"], json!({"lots": 0, "quantity": 0}));
    assert_eq!(body["data"]["by_status"]["HOLD"]["lots"], 0);
}
