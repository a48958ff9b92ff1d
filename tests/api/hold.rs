//! The remaining WIP read APIs on the seeded factory, on both backends: one workcenter's
//! detail and the lots on hold (figures, summary, pages). Expected figures are computed from
//! the factory the test seeded.

use std::collections::BTreeMap;

use mes_dashboard::seed::LotRow;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error, client, json};
use crate::on_both_backends;

on_both_backends!(
    a_workcenter_detail_lists_its_lots_with_totals_and_filters,
    the_hold_figures_match_the_held_lots,
);

fn held(app: &TestApp) -> Vec<&LotRow> {
    let mut held: Vec<&LotRow> = app
        .factory
        .as_ref()
        .unwrap()
        .lots
        .iter()
        .filter(|l| l.status == "HOLD")
        .collect();
    held.sort_by(|a, b| {
        (a.hold_at.is_none(), a.hold_at, &a.lot_id).cmp(&(
            b.hold_at.is_none(),
            b.hold_at,
            &b.lot_id,
        ))
    });
    assert!(held.len() > 10, "the test factory holds lots");
    held
}

fn ids(lots: &Value) -> Vec<String> {
    lots.as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].as_str().unwrap().to_string())
        .collect()
}

fn tally(lots: &[&LotRow]) -> (usize, i64) {
    (lots.len(), lots.iter().map(|l| l.quantity).sum())
}

async fn a_workcenter_detail_lists_its_lots_with_totals_and_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let factory = app.factory.as_ref().unwrap();
    let mut by_wc: BTreeMap<&str, Vec<&LotRow>> = BTreeMap::new();
    for lot in &factory.lots {
        by_wc.entry(lot.workcenter_id).or_default().push(lot);
    }
    let (wc, lots) = by_wc.iter().max_by_key(|(_, l)| l.len()).unwrap();
    let anonymous = client()
        .get(app.url(&format!("/api/wip/detail/{wc}")))
        .send()
        .await
        .unwrap();
    let (status, body) = json(anonymous).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    app.login_as_user().await;

    let (status, body) = json(app.get(&format!("/api/wip/detail/{wc}")).await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "fresh");
    assert!(body["meta"]["updated_at"].is_string());
    let data = &body["data"];
    assert_eq!(data["workcenter"], *wc);
    let name = factory
        .workcenters
        .iter()
        .find(|w| w.id == *wc)
        .unwrap()
        .name;
    assert_eq!(data["name"], name);
    let mut want: Vec<String> = lots.iter().map(|l| l.lot_id.clone()).collect();
    want.sort();
    assert_eq!(ids(&data["lots"]), want);
    assert_eq!(data["count"], lots.len());
    let (n, qty) = tally(lots);
    assert_eq!(data["totals"]["total"]["lots"], n);
    assert_eq!(data["totals"]["total"]["quantity"], qty);
    for status in ["RUN", "QUEUE", "HOLD"] {
        let of: Vec<_> = lots
            .iter()
            .copied()
            .filter(|l| l.status == status)
            .collect();
        let (n, qty) = tally(&of);
        assert_eq!(data["totals"]["by_status"][status]["lots"], n, "{status}");
        assert_eq!(data["totals"]["by_status"][status]["quantity"], qty);
    }
    let packages: Vec<&str> = data["totals"]["by_package"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for package in &packages {
        let of: Vec<_> = lots
            .iter()
            .copied()
            .filter(|l| l.package_id == *package)
            .collect();
        assert_eq!(data["totals"]["by_package"][package]["lots"], of.len());
    }
    let first = &data["lots"][0];
    let lot = lots.iter().find(|l| l.lot_id == want[0]).unwrap();
    assert_eq!(first["product"], lot.product);
    assert_eq!(first["status"], lot.status);
    assert_eq!(first["quantity"], lot.quantity);
    assert_eq!(first["priority"], lot.priority);
    assert_eq!(first["step"], lot.step);

    // Filters narrow the list; the totals stay the workcenter's.
    let held_here = lots.iter().filter(|l| l.status == "HOLD").count();
    let (status, body) = json(app.get(&format!("/api/wip/detail/{wc}?status=hold")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], held_here);
    assert_eq!(
        body["data"]["filters"]["status"],
        serde_json::json!(["HOLD"])
    );
    assert_eq!(body["data"]["totals"]["total"]["lots"], lots.len());
    for lot in body["data"]["lots"].as_array().unwrap() {
        assert_eq!(lot["status"], "HOLD");
        assert!(lot["hold_reason"].is_string(), "{lot}");
    }
    let package = packages[0];
    let in_package = lots.iter().filter(|l| l.package_id == package).count();
    let (status, body) = json(
        app.get(&format!("/api/wip/detail/{wc}?package={package}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], in_package);

    // Unknown and malformed.
    let (status, body) = json(app.get("/api/wip/detail/NOWHERE").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    for (path, named) in [
        ("/api/wip/detail/bad%20wc", "workcenter"),
        ("/api/wip/detail/%3Cscript%3E", "workcenter"),
        (&format!("/api/wip/detail/{wc}?status=DONE"), "status"),
        (&format!("/api/wip/detail/{wc}?package=a%2Fb"), "package"),
        (&format!("/api/wip/detail/{wc}?colour=red"), "colour"),
    ] {
        let (status, body) = json(app.get(path).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{path}: {message}");
    }
}

async fn the_hold_figures_match_the_held_lots(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = json(
        client()
            .get(app.url("/api/wip/overview/hold"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    app.login_as_user().await;
    let held = held(&app);
    let (n, qty) = tally(&held);

    let (status, body) = json(app.get("/api/wip/overview/hold").await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["cache_state"], "fresh");
    let data = &body["data"];
    assert_eq!(data["total"]["lots"], n);
    assert_eq!(data["total"]["quantity"], qty);
    for (group, key_of) in [
        (
            "by_reason",
            (|l: &LotRow| l.hold_reason.unwrap_or("(no reason)").to_string())
                as fn(&LotRow) -> String,
        ),
        ("by_workcenter", |l| l.workcenter_id.to_string()),
    ] {
        let mut want: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for lot in &held {
            let e = want.entry(key_of(lot)).or_default();
            e.0 += 1;
            e.1 += lot.quantity;
        }
        let got: BTreeMap<String, (usize, i64)> = data[group]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_string(),
                    (
                        g["lots"].as_u64().unwrap() as usize,
                        g["quantity"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(got, want, "{group}");
    }
}
