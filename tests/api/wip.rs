//! The WIP read APIs on the seeded factory, on both backends.

use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    summary_counts_every_lot_by_status,
    matrix_rows_follow_route_order_and_add_up,
    a_lot_is_found_by_id_and_unknown_or_malformed_ids_are_refused,
    a_lookup_returns_found_lots_and_names_the_missing_ones,
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
