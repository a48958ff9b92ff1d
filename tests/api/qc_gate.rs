//! `GET /api/qc-gate/summary` and `/lots` on both backends: the lots waiting at QC-GATE steps
//! by bucket, against figures computed here. The test gives every QC-GATE lot a move-in time
//! of its own, each at least 30 minutes from a bucket edge (so the instant the server measures
//! at cannot move a lot across one), waits for the snapshot that carries them, and compares.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::helpers::{Backend, TestApp, assert_error, client, json};
use crate::on_both_backends;

on_both_backends!(qc_gate_lots_are_bucketed_by_waiting_time_as_computed_here);

const DEADLINE: Duration = Duration::from_secs(30);

/// Minutes since move-in given to the QC-GATE lots in turn, and the bucket each falls in.
pub const WAITS: [(i64, &str); 8] = [
    (30, "lt6h"),
    (330, "lt6h"),
    (390, "6to12h"),
    (690, "6to12h"),
    (750, "12to24h"),
    (1410, "12to24h"),
    (1470, "gt24h"),
    (4320, "gt24h"),
];

fn is_qc_gate(step: &str) -> bool {
    let upper = step.to_ascii_uppercase();
    upper.contains("QC") && upper.contains("GATE")
}

/// Gives each QC-GATE lot of the factory a wait from [`WAITS`] (in lot id order) and drops
/// one other lot so the freshness stamp changes; returns (lot id, step, quantity, bucket).
pub async fn set_waits(
    app: &TestApp,
    backend: Backend,
) -> Vec<(String, String, i64, &'static str)> {
    let factory = app.factory.as_ref().unwrap();
    let mut gate: Vec<_> = factory
        .lots
        .iter()
        .filter(|l| is_qc_gate(&l.step))
        .collect();
    gate.sort_by(|a, b| a.lot_id.cmp(&b.lot_id));
    assert!(
        gate.len() >= WAITS.len(),
        "the seed puts lots at QC-GATE steps"
    );
    let other = factory
        .lots
        .iter()
        .find(|l| !is_qc_gate(&l.step))
        .unwrap()
        .lot_id
        .clone();
    let now = Utc::now();
    let mut want = Vec::new();
    let mut updates = Vec::new();
    for (i, lot) in gate.iter().enumerate() {
        let (minutes, bucket) = WAITS[i % WAITS.len()];
        updates.push((lot.lot_id.clone(), now - chrono::Duration::minutes(minutes)));
        want.push((lot.lot_id.clone(), lot.step.clone(), lot.quantity, bucket));
    }
    let update = "UPDATE lots SET move_in_at = $1, updated_at = $2 WHERE lot_id = $3";
    let delete = "DELETE FROM lots WHERE lot_id = $1";
    match backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url()).await.unwrap();
            for (id, at) in &updates {
                sqlx::query(update)
                    .bind(at)
                    .bind(now)
                    .bind(id)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sqlx::query(delete)
                .bind(&other)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url())
                .await
                .unwrap();
            for (id, at) in &updates {
                sqlx::query(update)
                    .bind(at)
                    .bind(now)
                    .bind(id)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sqlx::query(delete)
                .bind(&other)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
    // The snapshot that carries them: one lot fewer in process.
    let total = factory.lots.len() - 1;
    let until = Instant::now() + DEADLINE;
    loop {
        let (_, body) = json(app.get("/api/wip/overview/summary").await).await;
        if body["data"]["total"]["lots"] == total {
            break;
        }
        assert!(
            Instant::now() < until,
            "the WIP snapshot never reloaded: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    want
}

async fn qc_gate_lots_are_bucketed_by_waiting_time_as_computed_here(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("CACHE_CHECK_INTERVAL", "1")
        .start()
        .await;
    let (status, body) = json(
        client()
            .get(app.url("/api/qc-gate/summary"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    app.login_as_user().await;
    let want = set_waits(&app, backend).await;

    // Per step and bucket, computed here.
    let mut expected: BTreeMap<(String, &str), (u64, i64)> = BTreeMap::new();
    for (_, step, qty, bucket) in &want {
        for key in [(step.clone(), *bucket), (String::new(), *bucket)] {
            let e = expected.entry(key).or_default();
            e.0 += 1;
            e.1 += qty;
        }
    }
    let (status, body) = json(app.get("/api/qc-gate/summary").await).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(
        data["bucket_order"],
        serde_json::json!(["lt6h", "6to12h", "12to24h", "gt24h"])
    );
    assert_eq!(data["total"]["lots"], want.len());
    assert_eq!(
        data["total"]["quantity"],
        want.iter().map(|w| w.2).sum::<i64>()
    );
    let steps = data["steps"].as_array().unwrap();
    // Every QC-GATE step of the route, in route order (the seed has six).
    assert!(steps.len() >= 6, "{data}");
    assert!(
        steps
            .iter()
            .all(|s| is_qc_gate(s["step"].as_str().unwrap()))
    );
    assert_eq!(steps[0]["step"], "SAW-QC-GATE");
    for figures in steps
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), &s["buckets"]))
        .chain([(String::new(), &data["total"]["buckets"])])
    {
        let (step, buckets) = figures;
        for bucket in ["lt6h", "6to12h", "12to24h", "gt24h"] {
            let (lots, qty) = expected
                .get(&(step.clone(), bucket))
                .copied()
                .unwrap_or_default();
            assert_eq!(buckets[bucket]["lots"], lots, "{step} {bucket}: {data}");
            assert_eq!(buckets[bucket]["quantity"], qty, "{step} {bucket}: {data}");
        }
    }

    // The list: longest wait first; a bucket and a step filter it; paging.
    let (status, body) = json(app.get("/api/qc-gate/lots?limit=1000").await).await;
    assert_eq!(status, 200, "{body}");
    let lots = body["data"]["lots"].as_array().unwrap();
    assert_eq!(body["data"]["total"], want.len());
    let waits: Vec<i64> = lots
        .iter()
        .map(|l| l["waiting_minutes"].as_i64().unwrap())
        .collect();
    assert!(waits.windows(2).all(|w| w[0] >= w[1]), "{waits:?}");
    for lot in lots {
        let id = lot["lot_id"].as_str().unwrap();
        let (_, _, _, bucket) = want.iter().find(|w| w.0 == id).unwrap();
        assert_eq!(lot["bucket"], *bucket, "{lot}");
    }
    let (step, _) = expected
        .keys()
        .find(|(s, _)| !s.is_empty())
        .unwrap()
        .clone();
    let (_, body) = json(
        app.get(&format!(
            "/api/qc-gate/lots?bucket=gt24h&step={step}&limit=2"
        ))
        .await,
    )
    .await;
    let (lots_want, _) = expected
        .get(&(step.clone(), "gt24h"))
        .copied()
        .unwrap_or_default();
    assert_eq!(body["data"]["total"], lots_want, "{body}");
    assert!(body["data"]["lots"].as_array().unwrap().len() <= 2);
    assert!(
        body["data"]["lots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["step"] == step.as_str() && l["bucket"] == "gt24h")
    );

    // CSV: every lot of the bucket, headers in the user's language.
    let (gt24_lots, _) = expected.get(&(String::new(), "gt24h")).copied().unwrap();
    let response = app
        .get("/api/qc-gate/lots?bucket=gt24h&format=csv&limit=1")
        .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("批號,"), "{text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count() as u64, gt24_lots);

    // The page: the chart, the segment, the table with the first page (50) of the lots.
    let page = app.get("/qc-gate?bucket=gt24h").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<svg") && html.contains("id=\"qc-segment\""),
        "{html}"
    );
    assert_eq!(
        html.matches("<tr data-lot=").count(),
        (gt24_lots as usize).min(50),
        "the first page of rows: {html}"
    );

    // Bad input names its parameter.
    for (query, named) in [
        ("bucket=7h", "bucket"),
        ("limit=0", "limit"),
        ("offset=x", "offset"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = json(app.get(&format!("/api/qc-gate/lots?{query}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(named),
            "{query}: {body}"
        );
    }
    let (status, body) = json(app.get("/api/qc-gate/summary?chart=2").await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    // The page's live redraw: the chart's markup on request.
    let (_, body) = json(app.get("/api/qc-gate/summary?chart=1").await).await;
    assert!(
        body["data"]["chart"]["svg"]
            .as_str()
            .unwrap()
            .starts_with("<svg"),
        "{body}"
    );
}
