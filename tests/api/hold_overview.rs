//! The hold overview and hold detail APIs (`/api/hold-overview/*`, `/api/hold-detail/*`) on
//! the seeded factory, on both backends. Every expected figure is computed here from the lots
//! the test seeded, with ages measured at the answer's own `as_of`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use mes_dashboard::seed::LotRow;
use reqwest::header;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error, client, json};
use crate::on_both_backends;

on_both_backends!(
    the_hold_overview_summary_matches_the_held_lots_by_type,
    the_hold_matrix_counts_workcenter_by_package,
    held_lots_are_sorted_paged_filtered_and_exported,
    a_reason_detail_has_its_cards_distribution_and_lots,
);

const DAY: i64 = 86_400_000_000;

fn non_quality(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| mes_dashboard::seed::catalog::non_quality_reasons().any(|n| n == r))
}

fn held(app: &TestApp) -> Vec<&LotRow> {
    let held: Vec<&LotRow> = app
        .factory
        .as_ref()
        .unwrap()
        .lots
        .iter()
        .filter(|l| l.status == "HOLD")
        .collect();
    assert!(held.len() > 10, "the test factory holds lots");
    assert!(
        held.iter().any(|l| non_quality(l.hold_reason))
            && held.iter().any(|l| !non_quality(l.hold_reason)),
        "both hold types are held"
    );
    held
}

fn as_of(data: &Value) -> i64 {
    let text = data["as_of"].as_str().expect("as_of");
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
        .timestamp_micros()
}

fn age(lot: &LotRow, now: i64) -> i64 {
    (now - lot.move_in_at.timestamp_micros()).max(0)
}

fn range_of(age: i64) -> &'static str {
    if age < DAY {
        "0-1"
    } else if age < 3 * DAY {
        "1-3"
    } else if age < 7 * DAY {
        "3-7"
    } else {
        "7+"
    }
}

fn groups(data: &Value) -> BTreeMap<String, (u64, i64)> {
    data.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                (g["lots"].as_u64().unwrap(), g["quantity"].as_i64().unwrap()),
            )
        })
        .collect()
}

fn tally_by(lots: &[&LotRow], key: impl Fn(&LotRow) -> String) -> BTreeMap<String, (u64, i64)> {
    let mut out: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for lot in lots {
        let e = out.entry(key(lot)).or_default();
        e.0 += 1;
        e.1 += lot.quantity;
    }
    out
}

fn ids(data: &Value) -> Vec<String> {
    data["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].as_str().unwrap().to_string())
        .collect()
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn data_of(app: &TestApp, path: &str) -> Value {
    let (status, body) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(body["meta"]["cache_state"], "fresh", "{path}");
    body["data"].clone()
}

async fn the_hold_overview_summary_matches_the_held_lots_by_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/api/hold-overview/summary",
        "/api/hold-overview/matrix",
        "/api/hold-overview/lots",
        "/api/hold-detail/summary?reason=x",
    ] {
        let (status, body) = json(client().get(app.url(path)).send().await.unwrap()).await;
        assert_error(status, &body, 401, "UNAUTHORIZED");
    }
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();
    let held = held(&app);
    let group_of: BTreeMap<&str, &str> = factory
        .workcenters
        .iter()
        .map(|w| (w.id, w.group))
        .collect();

    for hold_type in ["all", "quality", "non-quality"] {
        let data = data_of(
            &app,
            &format!("/api/hold-overview/summary?hold_type={hold_type}"),
        )
        .await;
        let now = as_of(&data);
        let lots: Vec<&LotRow> = held
            .iter()
            .copied()
            .filter(|l| match hold_type {
                "quality" => !non_quality(l.hold_reason),
                "non-quality" => non_quality(l.hold_reason),
                _ => true,
            })
            .collect();
        assert!(!lots.is_empty(), "{hold_type}");
        assert_eq!(data["hold_type"], hold_type);
        assert_eq!(data["total"]["lots"], lots.len(), "{hold_type}");
        assert_eq!(
            data["total"]["quantity"],
            lots.iter().map(|l| l.quantity).sum::<i64>()
        );
        // Both types' counts whatever the type chosen (the segment shows them).
        let quality = held.iter().filter(|l| !non_quality(l.hold_reason)).count();
        assert_eq!(data["by_type"]["quality"]["lots"], quality);
        assert_eq!(data["by_type"]["non-quality"]["lots"], held.len() - quality);
        let ages: Vec<i64> = lots.iter().map(|l| age(l, now)).collect();
        let longest = *ages.iter().max().unwrap() as f64 / DAY as f64;
        let average =
            ages.iter().map(|&a| a as i128).sum::<i128>() as f64 / ages.len() as f64 / DAY as f64;
        let got = data["longest_age_days"].as_f64().unwrap();
        assert!((got - longest).abs() < 1e-6, "{got} vs {longest}");
        let got = data["average_age_days"].as_f64().unwrap();
        assert!((got - average).abs() < 1e-6, "{got} vs {average}");
        let affected: BTreeSet<&str> = lots.iter().map(|l| group_of[l.workcenter_id]).collect();
        assert_eq!(data["workcenter_groups"], affected.len());
        assert_eq!(
            groups(&data["by_reason"]),
            tally_by(&lots, |l| l
                .hold_reason
                .unwrap_or("(no reason)")
                .to_string())
        );
        for g in data["by_reason"].as_array().unwrap() {
            let reason = g["key"].as_str().unwrap();
            let want = if non_quality(Some(reason)) {
                "non-quality"
            } else {
                "quality"
            };
            assert_eq!(g["hold_type"], want, "{reason}");
        }
        let counts: Vec<u64> = data["by_reason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["lots"].as_u64().unwrap())
            .collect();
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "Pareto order: {counts:?}"
        );
        assert_eq!(
            groups(&data["by_workcenter"]),
            tally_by(&lots, |l| l.workcenter_id.to_string())
        );
        assert_eq!(
            groups(&data["by_package"]),
            tally_by(&lots, |l| l.package_id.to_string())
        );
        let mut by_age = tally_by(&lots, |l| range_of(age(l, now)).to_string());
        for r in ["0-1", "1-3", "3-7", "7+"] {
            by_age.entry(r.to_string()).or_default();
        }
        assert_eq!(groups(&data["by_age"]), by_age, "{hold_type}");
        let order: Vec<&str> = data["by_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["0-1", "1-3", "3-7", "7+"]);
    }

    // A WIP filter and the hold filters narrow the figures.
    let package = held[0].package_id;
    let data = data_of(
        &app,
        &format!("/api/hold-overview/summary?package={package}"),
    )
    .await;
    let want = held.iter().filter(|l| l.package_id == package).count();
    assert_eq!(data["total"]["lots"], want);
    for (query, named) in [
        ("status=HOLD", "status"),
        ("hold_type=maybe", "hold_type"),
        ("age_range=2-4", "age_range"),
        ("workcenter=a%20b", "workcenter"),
        ("page=2", "page"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = json(
            app.get(&format!("/api/hold-overview/summary?{query}"))
                .await,
        )
        .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {message}");
    }
}

async fn the_hold_matrix_counts_workcenter_by_package(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let held = held(&app);
    for hold_type in ["all", "quality"] {
        let data = data_of(
            &app,
            &format!("/api/hold-overview/matrix?hold_type={hold_type}"),
        )
        .await;
        let lots: Vec<&LotRow> = held
            .iter()
            .copied()
            .filter(|l| hold_type == "all" || !non_quality(l.hold_reason))
            .collect();
        let want = tally_by(&lots, |l| format!("{}|{}", l.workcenter_id, l.package_id));
        let mut got: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for row in data["rows"].as_array().unwrap() {
            let wc = row["workcenter"].as_str().unwrap();
            assert!(
                row["total"]["lots"].as_u64().unwrap() > 0,
                "no empty row: {row}"
            );
            for (package, cell) in row["cells"].as_object().unwrap() {
                got.insert(
                    format!("{wc}|{package}"),
                    (
                        cell["lots"].as_u64().unwrap(),
                        cell["quantity"].as_i64().unwrap(),
                    ),
                );
            }
        }
        assert_eq!(got, want, "{hold_type}");
        assert_eq!(data["total"]["lots"], lots.len());
        let packages: BTreeSet<&str> = lots.iter().map(|l| l.package_id).collect();
        let listed: BTreeSet<&str> = data["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(listed, packages, "only packages with a held lot");
    }
}

async fn held_lots_are_sorted_paged_filtered_and_exported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let mut held = held(&app);
    // Oldest hold first (no hold time last), the lot id breaking ties.
    held.sort_by(|a, b| {
        (a.hold_at.is_none(), a.hold_at, &a.lot_id).cmp(&(
            b.hold_at.is_none(),
            b.hold_at,
            &b.lot_id,
        ))
    });
    let order: Vec<String> = held.iter().map(|l| l.lot_id.clone()).collect();

    let data = data_of(&app, "/api/hold-overview/lots").await;
    assert_eq!(data["total"], held.len());
    assert_eq!(
        (data["page"].as_u64(), data["page_size"].as_u64()),
        (Some(1), Some(100))
    );
    assert_eq!(data["sort"], "hold_at");
    assert_eq!(ids(&data), order[..held.len().min(100)]);
    // The 15 columns of the first lot.
    let now = as_of(&data);
    let row = &data["lots"][0];
    let lot = held[0];
    assert_eq!(row["work_order"], lot.work_order);
    assert_eq!(row["quantity"], lot.quantity);
    assert_eq!(row["product"], lot.product);
    assert_eq!(row["package_id"], lot.package_id);
    assert_eq!(row["workcenter_id"], lot.workcenter_id);
    assert_eq!(row["hold_reason"], serde_json::json!(lot.hold_reason));
    assert_eq!(row["step"], lot.step);
    let want_age = ((age(lot, now) as f64 / DAY as f64) * 100.0).round() / 100.0;
    assert_eq!(row["age_days"].as_f64().unwrap(), want_age);
    let hold_at = lot.hold_at.unwrap();
    let got_hold_at = DateTime::parse_from_rfc3339(row["hold_at"].as_str().unwrap()).unwrap();
    assert_eq!(got_hold_at.timestamp(), hold_at.timestamp());
    let hours = (((now - hold_at.timestamp_micros()) as f64 / 3.6e9) * 100.0).round() / 100.0;
    assert!((row["hold_duration_hours"].as_f64().unwrap() - hours).abs() < 0.011);
    assert_eq!(row["hold_by"], serde_json::json!(lot.hold_by));
    assert_eq!(
        row["hold_department"],
        serde_json::json!(lot.hold_department)
    );
    assert_eq!(row["hold_comment"], serde_json::json!(lot.hold_comment));
    assert_eq!(
        row["future_hold_comment"],
        serde_json::json!(lot.future_hold_comment)
    );

    // Pages: two pages of 7 are the first 14; past the end is empty with the total.
    let first = data_of(&app, "/api/hold-overview/lots?page_size=7").await;
    let second = data_of(&app, "/api/hold-overview/lots?page_size=7&page=2").await;
    let mut paged = ids(&first);
    paged.extend(ids(&second));
    assert_eq!(paged, order[..14]);
    assert_eq!(second["pages"], held.len().div_ceil(7));
    let past = data_of(&app, "/api/hold-overview/lots?page=1000").await;
    assert!(ids(&past).is_empty());
    assert_eq!(past["total"], held.len());

    // Sorted by quantity, largest first (the lot id breaking ties).
    let mut by_qty = held.clone();
    by_qty.sort_by(|a, b| {
        b.quantity
            .cmp(&a.quantity)
            .then_with(|| a.lot_id.cmp(&b.lot_id))
    });
    let data = data_of(
        &app,
        "/api/hold-overview/lots?sort=quantity&dir=desc&page_size=500",
    )
    .await;
    let want: Vec<String> = by_qty.iter().take(500).map(|l| l.lot_id.clone()).collect();
    assert_eq!(ids(&data), want);
    let data = data_of(
        &app,
        "/api/hold-overview/lots?sort=age_days&dir=desc&page_size=500",
    )
    .await;
    let ages: Vec<f64> = data["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["age_days"].as_f64().unwrap())
        .collect();
    assert!(ages.windows(2).all(|w| w[0] >= w[1]), "{ages:?}");

    // A matrix cell (workcenter × package) and an age range filter the list.
    let (wc, package) = (held[0].workcenter_id, held[0].package_id);
    let data = data_of(
        &app,
        &format!("/api/hold-overview/lots?workcenter={wc}&package={package}&page_size=500"),
    )
    .await;
    let mut want: Vec<String> = held
        .iter()
        .filter(|l| l.workcenter_id == wc && l.package_id == package)
        .map(|l| l.lot_id.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&data), want);
    for range in ["0-1", "1-3", "3-7", "7+"] {
        let data = data_of(
            &app,
            &format!(
                "/api/hold-overview/lots?age_range={}&page_size=500&sort=lot_id",
                encode(range)
            ),
        )
        .await;
        let now = as_of(&data);
        want = held
            .iter()
            .filter(|l| range_of(age(l, now)) == range)
            .map(|l| l.lot_id.clone())
            .collect();
        want.sort();
        assert_eq!(ids(&data), want, "{range}");
    }
    let reason = held[0].hold_reason.expect("seeded holds have a reason");
    let data = data_of(
        &app,
        &format!(
            "/api/hold-overview/lots?reason={}&page_size=500",
            encode(reason)
        ),
    )
    .await;
    let want: Vec<String> = held
        .iter()
        .filter(|l| l.hold_reason == Some(reason))
        .map(|l| l.lot_id.clone())
        .collect();
    assert_eq!(ids(&data), want);
    let data = data_of(&app, "/api/hold-overview/lots?workcenter=NOWHERE").await;
    assert_eq!(data["total"], 0);

    // CSV: every row the API counts (paging does not apply), in its order.
    let quality = data_of(
        &app,
        "/api/hold-overview/lots?hold_type=quality&page_size=1",
    )
    .await;
    let total = quality["total"].as_u64().unwrap() as usize;
    let response = app
        .client
        .get(app.url("/api/hold-overview/lots?hold_type=quality&page_size=1&format=csv"))
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let heads: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(heads.len(), 16, "15 columns and the hold type: {heads:?}");
    assert_eq!(heads[0], "Lot");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), total);
    assert_eq!(&rows[0][0], quality["lots"][0]["lot_id"].as_str().unwrap());
    assert!(rows.iter().all(|r| &r[7] == "quality"));

    for (query, named) in [
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page=x", "page"),
        ("sort=colour", "sort"),
        ("dir=up", "dir"),
        ("limit=5", "limit"),
        ("reason=a%0Ab", "reason"),
    ] {
        let (status, body) = json(app.get(&format!("/api/hold-overview/lots?{query}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {message}");
    }
}

async fn a_reason_detail_has_its_cards_distribution_and_lots(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let held = held(&app);
    // The reason with the most held lots.
    let by_reason = tally_by(&held, |l| {
        l.hold_reason.unwrap_or("(no reason)").to_string()
    });
    let (reason, _) = by_reason.iter().max_by_key(|(_, (n, _))| *n).unwrap();
    let lots: Vec<&LotRow> = held
        .iter()
        .copied()
        .filter(|l| l.hold_reason.unwrap_or("(no reason)") == reason)
        .collect();
    let q = encode(reason);

    let data = data_of(&app, &format!("/api/hold-detail/summary?reason={q}")).await;
    let now = as_of(&data);
    assert_eq!(data["reason"], reason.as_str());
    let want_type = if non_quality(Some(reason)) {
        "non-quality"
    } else {
        "quality"
    };
    assert_eq!(data["reason_type"], want_type);
    assert_eq!(data["total"]["lots"], lots.len());
    assert_eq!(
        data["total"]["quantity"],
        lots.iter().map(|l| l.quantity).sum::<i64>()
    );
    let workcenters: BTreeSet<&str> = lots.iter().map(|l| l.workcenter_id).collect();
    let packages: BTreeSet<&str> = lots.iter().map(|l| l.package_id).collect();
    assert_eq!(data["workcenters"], workcenters.len());
    assert_eq!(data["packages"], packages.len());
    let longest = lots.iter().map(|l| age(l, now)).max().unwrap() as f64 / DAY as f64;
    assert!((data["longest_age_days"].as_f64().unwrap() - longest).abs() <= 0.005);

    let data = data_of(&app, &format!("/api/hold-detail/distribution?reason={q}")).await;
    let now = as_of(&data);
    let mut by_age = tally_by(&lots, |l| range_of(age(l, now)).to_string());
    for r in ["0-1", "1-3", "3-7", "7+"] {
        by_age.entry(r.to_string()).or_default();
    }
    assert_eq!(groups(&data["by_age"]), by_age);
    assert_eq!(
        groups(&data["by_workcenter"]),
        tally_by(&lots, |l| l.workcenter_id.to_string())
    );
    assert_eq!(
        groups(&data["by_package"]),
        tally_by(&lots, |l| l.package_id.to_string())
    );

    // A bucket, a workcenter or a package filters the lots; CSV rows = the API's total.
    let (range, (n, _)) = by_age.iter().find(|(_, (n, _))| *n > 0).unwrap();
    let data = data_of(
        &app,
        &format!(
            "/api/hold-detail/lots?reason={q}&age_range={}&page_size=500",
            encode(range)
        ),
    )
    .await;
    let now = as_of(&data);
    let mut want: Vec<String> = lots
        .iter()
        .filter(|l| range_of(age(l, now)) == range)
        .map(|l| l.lot_id.clone())
        .collect();
    want.sort();
    let mut got = ids(&data);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(data["total"], want.len());
    assert!(*n > 0);
    let wc = lots[0].workcenter_id;
    let data = data_of(
        &app,
        &format!("/api/hold-detail/lots?reason={q}&workcenter={wc}"),
    )
    .await;
    let want = lots.iter().filter(|l| l.workcenter_id == wc).count();
    assert_eq!(data["total"], want);
    let response = app
        .client
        .get(app.url(&format!("/api/hold-detail/lots?reason={q}&format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("hold_detail_"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let rows = csv::Reader::from_reader(&bytes[3..]).records().count();
    assert_eq!(rows, lots.len());

    // The reason is required; an unknown one holds nothing.
    for path in [
        "/api/hold-detail/summary",
        "/api/hold-detail/distribution?reason=",
        "/api/hold-detail/lots?age_range=1-3",
    ] {
        let (status, body) = json(app.get(path).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("reason"),
            "{path}"
        );
    }
    let data = data_of(&app, "/api/hold-detail/summary?reason=NO-SUCH-REASON").await;
    assert_eq!(data["total"]["lots"], 0);
    assert_eq!(data["reason_type"], "quality");
}
