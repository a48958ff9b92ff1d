//! The WIP filters, filter options, search, and the detail's paging, sorting and cards, on
//! both backends. Every expected figure is computed here from the rows read back from the
//! database (not from the seed generator, not from the snapshot).

use std::collections::BTreeMap;

use mes_dashboard::config::{HoldType, NonQualityReasons};
use mes_dashboard::db::lots::{LotRecord, load_lot_records};
use mes_dashboard::db::reference::{workcenter_infos as route, workcenter_steps as steps};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    every_filter_and_their_combinations_match_the_rows,
    search_suggests_prefix_matches_first_within_the_limit,
    the_detail_pages_sorts_and_counts_its_cards_and_steps,
    bad_filters_paging_and_sorting_are_named,
);

/// The rows as the database holds them, with what the filters need beside.
struct Rows {
    lots: Vec<LotRecord>,
    /// Workcenter id → its group.
    groups: BTreeMap<String, Option<String>>,
    reasons: NonQualityReasons,
}

impl Rows {
    async fn read(app: &TestApp) -> Self {
        let pool = &app.state().db.request;
        let lots = load_lot_records(pool).await.expect("the lots");
        assert!(lots.len() > 100, "the test factory has lots");
        let groups = route(pool)
            .await
            .expect("the route")
            .into_iter()
            .map(|w| (w.workcenter_id, w.workcenter_group))
            .collect();
        Self {
            lots,
            groups,
            reasons: app.state().config.holds.non_quality_reasons.clone(),
        }
    }

    fn hold_type(&self, l: &LotRecord) -> Option<HoldType> {
        (l.status == "HOLD").then(|| self.reasons.hold_type(l.hold_reason.as_deref()))
    }

    fn group(&self, l: &LotRecord) -> Option<&str> {
        self.groups.get(&l.workcenter_id).and_then(|g| g.as_deref())
    }

    /// A value of `column` that some lots have and others do not (a filter that narrows).
    fn narrowing<'a>(&'a self, column: impl Fn(&'a LotRecord) -> Option<&'a str>) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &self.lots {
            if let Some(v) = column(l) {
                *counts.entry(v).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n < self.lots.len())
            .max_by_key(|(_, n)| *n)
            .expect("a value that narrows")
            .0
            .to_string()
    }
}

/// Lots, quantity and lots by status of the rows passing `keep`.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    lots: u64,
    quantity: i64,
    by_status: BTreeMap<String, u64>,
    by_hold_type: BTreeMap<String, u64>,
}

fn figures(rows: &Rows, keep: &dyn Fn(&LotRecord) -> bool) -> Figures {
    let mut f = Figures::default();
    for s in ["RUN", "QUEUE", "HOLD"] {
        f.by_status.insert(s.into(), 0);
    }
    for t in ["quality", "non-quality"] {
        f.by_hold_type.insert(t.into(), 0);
    }
    for l in rows.lots.iter().filter(|l| keep(l)) {
        f.lots += 1;
        f.quantity += l.quantity;
        *f.by_status.get_mut(&l.status).unwrap() += 1;
        if let Some(t) = rows.hold_type(l) {
            *f.by_hold_type.get_mut(t.as_str()).unwrap() += 1;
        }
    }
    f
}

fn answered(summary: &Value) -> Figures {
    let count = |v: &Value| v["lots"].as_u64().unwrap();
    Figures {
        lots: count(&summary["total"]),
        quantity: summary["total"]["quantity"].as_i64().unwrap(),
        by_status: ["RUN", "QUEUE", "HOLD"]
            .iter()
            .map(|s| (s.to_string(), count(&summary["by_status"][s])))
            .collect(),
        by_hold_type: ["quality", "non-quality"]
            .iter()
            .map(|t| (t.to_string(), count(&summary["by_hold_type"][t])))
            .collect(),
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn data(app: &TestApp, path: &str) -> Value {
    let (status, body) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

fn contains_ci(text: Option<&str>, needle: &str) -> bool {
    text.is_some_and(|t| {
        t.to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase())
    })
}

type Keep<'a> = Box<dyn Fn(&LotRecord) -> bool + 'a>;

async fn every_filter_and_their_combinations_match_the_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let rows = Rows::read(&app).await;
    let r = &rows;
    let package = r.narrowing(|l| Some(&l.package_id));
    let other_package = r
        .lots
        .iter()
        .map(|l| l.package_id.clone())
        .find(|p| *p != package)
        .unwrap();
    let lot_type = r.narrowing(|l| l.lot_type.as_deref());
    let product = r.narrowing(|l| Some(&l.product));
    let workflow = r.narrowing(|l| l.workflow.as_deref());
    let bop = r.narrowing(|l| l.bop.as_deref());
    let function = r.narrowing(|l| l.function.as_deref());
    let group = r.narrowing(|l| r.group(l));
    // Partial texts: the middle of a real value, in the other case.
    let wo = r.lots[0]
        .work_order
        .clone()
        .expect("work orders are seeded");
    let wo_part = wo[2..wo.len() - 2].to_ascii_lowercase();
    let id_part = r.lots[r.lots.len() / 2].lot_id[1..5].to_ascii_lowercase();
    let two_packages = format!("{package}, {other_package}");

    let cases: Vec<(Vec<(&str, &str)>, Keep<'_>)> = vec![
        (
            vec![("package", &package)],
            Box::new(|l| l.package_id == package),
        ),
        (
            vec![("package", &two_packages)],
            Box::new(|l| l.package_id == package || l.package_id == other_package),
        ),
        (
            vec![("type", &lot_type)],
            Box::new(|l| l.lot_type.as_deref() == Some(&lot_type)),
        ),
        (
            vec![("product", &product)],
            Box::new(|l| l.product == product),
        ),
        (
            vec![("workflow", &workflow)],
            Box::new(|l| l.workflow.as_deref() == Some(&workflow)),
        ),
        (
            vec![("bop", &bop)],
            Box::new(|l| l.bop.as_deref() == Some(&bop)),
        ),
        (
            vec![("function", &function)],
            Box::new(|l| l.function.as_deref() == Some(&function)),
        ),
        (
            vec![("workcenter_group", &group)],
            Box::new(|l| r.group(l) == Some(&group)),
        ),
        (
            vec![("workorder", &wo_part)],
            Box::new(|l| contains_ci(l.work_order.as_deref(), &wo_part)),
        ),
        (
            vec![("lotid", &id_part)],
            Box::new(|l| contains_ci(Some(&l.lot_id), &id_part)),
        ),
        (
            vec![("status", "run,queue")],
            Box::new(|l| l.status == "RUN" || l.status == "QUEUE"),
        ),
        (vec![("status", "HOLD")], Box::new(|l| l.status == "HOLD")),
        (
            vec![("hold_type", "quality")],
            Box::new(|l| r.hold_type(l) == Some(HoldType::Quality)),
        ),
        (
            vec![("hold_type", "non-quality")],
            Box::new(|l| r.hold_type(l) == Some(HoldType::NonQuality)),
        ),
        (
            vec![("package", &package), ("status", "QUEUE")],
            Box::new(|l| l.package_id == package && l.status == "QUEUE"),
        ),
        (
            vec![("workcenter_group", &group), ("hold_type", "quality")],
            Box::new(|l| r.group(l) == Some(&group) && r.hold_type(l) == Some(HoldType::Quality)),
        ),
        (
            vec![
                ("type", &lot_type),
                ("workorder", &wo_part),
                ("function", &function),
            ],
            Box::new(|l| {
                l.lot_type.as_deref() == Some(&lot_type)
                    && contains_ci(l.work_order.as_deref(), &wo_part)
                    && l.function.as_deref() == Some(&function)
            }),
        ),
        (
            vec![("lotid", &id_part), ("package", &two_packages)],
            Box::new(|l| {
                contains_ci(Some(&l.lot_id), &id_part)
                    && (l.package_id == package || l.package_id == other_package)
            }),
        ),
        (vec![("product", "NO-SUCH-PRODUCT")], Box::new(|_| false)),
    ];

    for (pairs, keep) in &cases {
        let q = query(pairs);
        let want = figures(r, keep);
        if pairs.len() == 1 && pairs[0].0 != "product" {
            assert!(want.lots > 0, "{q}: the case selects some lots");
        }
        let summary = data(&app, &format!("/api/wip/overview/summary?{q}")).await;
        assert_eq!(answered(&summary), want, "summary ?{q}");

        let matrix = data(&app, &format!("/api/wip/overview/matrix?{q}")).await;
        assert_eq!(matrix["total"]["lots"], want.lots, "matrix ?{q}");
        for row in matrix["rows"].as_array().unwrap() {
            let wc = row["workcenter"].as_str().unwrap();
            let here = figures(r, &|l| keep(l) && l.workcenter_id == wc);
            assert_eq!(row["total"]["lots"], here.lots, "matrix ?{q} row {wc}");
        }

        // Each field's options are counted under the other filters.
        let options = data(&app, &format!("/api/wip/meta/filter-options?{q}")).await;
        if pairs.iter().all(|(k, _)| *k != "product") {
            let mut want: BTreeMap<String, u64> = BTreeMap::new();
            for l in r.lots.iter().filter(|l| keep(l)) {
                *want.entry(l.product.clone()).or_default() += 1;
            }
            assert_eq!(facet(&options["product"]), want, "product options ?{q}");
        }
        if pairs.len() == 1 {
            // Its own field's options ignore its own filter: every value of the whole plant.
            let name = pairs[0].0;
            let everyone = r.lots.clone();
            let want_statuses = figures(
                &Rows {
                    lots: everyone.clone(),
                    groups: r.groups.clone(),
                    reasons: r.reasons.clone(),
                },
                &|_| true,
            );
            if name == "status" || name == "hold_type" {
                let got = facet(&options["status"]);
                for (s, n) in &want_statuses.by_status {
                    assert_eq!(
                        got.get(s).copied().unwrap_or(0),
                        *n,
                        "status option {s} ?{q}"
                    );
                }
            }
            if name == "package" {
                let got = facet(&options["package"]);
                let distinct: std::collections::BTreeSet<_> =
                    everyone.iter().map(|l| l.package_id.clone()).collect();
                assert_eq!(
                    got.keys()
                        .cloned()
                        .collect::<std::collections::BTreeSet<_>>(),
                    distinct
                );
            }
        }
    }
}

fn facet(values: &Value) -> BTreeMap<String, u64> {
    values
        .as_array()
        .unwrap_or_else(|| panic!("a list of values: {values}"))
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_string(),
                v["lots"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn search_suggests_prefix_matches_first_within_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let rows = Rows::read(&app).await;
    let mut ids: Vec<&str> = rows.lots.iter().map(|l| l.lot_id.as_str()).collect();
    ids.sort_unstable();

    for (q, limit) in [
        ("", None),
        ("1", Some(50)),
        ("00", Some(5)),
        ("zz-none", None),
    ] {
        let needle = q.to_ascii_lowercase();
        let lower = |s: &str| s.to_ascii_lowercase();
        let mut want: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|i| lower(i).starts_with(&needle))
            .collect();
        want.extend(
            ids.iter()
                .copied()
                .filter(|i| !lower(i).starts_with(&needle) && lower(i).contains(&needle)),
        );
        want.truncate(limit.unwrap_or(20));
        let mut path = format!("/api/wip/meta/search?field=lotid&q={q}");
        if let Some(n) = limit {
            path.push_str(&format!("&limit={n}"));
        }
        let got = data(&app, &path).await;
        let values: Vec<&str> = got["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(values, want, "{path}");
        assert_eq!(got["limit"], limit.unwrap_or(20));
    }

    // A field of words: a prefix of one product, in lower case, finds it first.
    let product = rows.narrowing(|l| Some(&l.product));
    let q: String = product
        .chars()
        .take(3)
        .collect::<String>()
        .to_ascii_lowercase();
    let got = data(
        &app,
        &format!(
            "/api/wip/meta/search?field=product&{}&limit=50",
            query(&[("q", &q)])
        ),
    )
    .await;
    let values: Vec<&str> = got["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(values.contains(&product.as_str()), "{values:?}");
    let first_inner = values
        .iter()
        .position(|v| !v.to_ascii_lowercase().starts_with(&q));
    if let Some(i) = first_inner {
        assert!(
            values[i..]
                .iter()
                .all(|v| !v.to_ascii_lowercase().starts_with(&q)),
            "{values:?}"
        );
    }
    assert!(values.iter().all(|v| v.to_ascii_lowercase().contains(&q)));

    for (path, named) in [
        ("/api/wip/meta/search?field=lotid&q=a&limit=51", "limit"),
        ("/api/wip/meta/search?field=lotid&q=a&limit=0", "limit"),
        ("/api/wip/meta/search?field=colour&q=a", "field"),
        ("/api/wip/meta/search?q=a", "field"),
        ("/api/wip/meta/search?field=lotid&q=a&package=X", "package"),
    ] {
        let (status, body) = json(app.get(path).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{path}: {message}");
    }
}

async fn the_detail_pages_sorts_and_counts_its_cards_and_steps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let rows = Rows::read(&app).await;
    let mut by_wc: BTreeMap<&str, Vec<&LotRecord>> = BTreeMap::new();
    for l in &rows.lots {
        by_wc.entry(&l.workcenter_id).or_default().push(l);
    }
    let (wc, lots) = by_wc.iter().max_by_key(|(_, l)| l.len()).unwrap();
    let base = format!("/api/wip/detail/{wc}");

    // Sorted by quantity, most first; ties in lot-id order; read a page of 7 at a time.
    let mut want: Vec<&LotRecord> = lots.clone();
    want.sort_by(|a, b| {
        b.quantity
            .cmp(&a.quantity)
            .then_with(|| a.lot_id.cmp(&b.lot_id))
    });
    let want: Vec<&str> = want.iter().map(|l| l.lot_id.as_str()).collect();
    let pages = want.len().div_ceil(7);
    let mut got: Vec<String> = Vec::new();
    for page in 1..=pages + 1 {
        let d = data(
            &app,
            &format!("{base}?sort=quantity&dir=desc&page_size=7&page={page}"),
        )
        .await;
        assert_eq!(d["total"], want.len(), "page {page}");
        assert_eq!(d["pages"], pages);
        let ids = lot_ids(&d["lots"]);
        assert_eq!(d["count"], ids.len());
        if page > pages {
            assert!(ids.is_empty(), "a page past the end is empty");
        }
        got.extend(ids);
    }
    assert_eq!(got, want);

    // The default: lot-id order, 100 a page.
    let d = data(&app, &base).await;
    let mut by_id: Vec<&str> = lots.iter().map(|l| l.lot_id.as_str()).collect();
    by_id.sort_unstable();
    assert_eq!(lot_ids(&d["lots"]), by_id[..by_id.len().min(100)]);
    assert_eq!(
        (d["page"].as_u64(), d["page_size"].as_u64()),
        (Some(1), Some(100))
    );

    // Cards: RUN, QUEUE, quality and non-quality hold, the same whatever the status filter.
    let count = |keep: &dyn Fn(&LotRecord) -> bool| lots.iter().filter(|l| keep(l)).count();
    let cards = [
        ("run", count(&|l| l.status == "RUN")),
        ("queue", count(&|l| l.status == "QUEUE")),
        (
            "quality_hold",
            count(&|l| rows.hold_type(l) == Some(HoldType::Quality)),
        ),
        (
            "non_quality_hold",
            count(&|l| rows.hold_type(l) == Some(HoldType::NonQuality)),
        ),
    ];
    for d in [
        data(&app, &base).await,
        data(&app, &format!("{base}?status=HOLD&hold_type=non-quality")).await,
    ] {
        for (card, n) in cards {
            assert_eq!(d["cards"][card]["lots"], n, "{card}");
        }
    }
    let d = data(&app, &format!("{base}?status=HOLD&hold_type=non-quality")).await;
    assert_eq!(d["total"], cards[3].1);

    // Steps: the workcenter's, in route order, each with its lots.
    let route: Vec<String> = steps(&app.state().db.request)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.workcenter_id == *wc)
        .map(|s| s.step)
        .collect();
    let d = data(&app, &format!("{base}?page_size=500&sort=step")).await;
    let columns: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns[..route.len()],
        route.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    for s in d["steps"].as_array().unwrap() {
        let step = s["step"].as_str().unwrap();
        assert_eq!(s["lots"], count(&|l| l.step == step), "{step}");
    }
    // Sorted by step: the lots' steps follow the columns' order.
    let rank = |step: &str| columns.iter().position(|c| *c == step).unwrap();
    let ranks: Vec<usize> = d["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| rank(l["step"].as_str().unwrap()))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
}

fn lot_ids(lots: &Value) -> Vec<String> {
    lots.as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].as_str().unwrap().to_string())
        .collect()
}

async fn bad_filters_paging_and_sorting_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let wc = &app.factory.as_ref().unwrap().lots[0].workcenter_id;
    for (path, named) in [
        ("/api/wip/overview/summary?colour=red".to_string(), "colour"),
        ("/api/wip/overview/matrix?status=DONE".into(), "status"),
        (
            "/api/wip/overview/summary?hold_type=maybe".into(),
            "hold_type",
        ),
        (
            "/api/wip/overview/summary?package=A&package=B".into(),
            "package",
        ),
        ("/api/wip/overview/summary?page=1".into(), "page"),
        ("/api/wip/meta/filter-options?sort=quantity".into(), "sort"),
        (format!("/api/wip/detail/{wc}?page_size=0"), "page_size"),
        (format!("/api/wip/detail/{wc}?page_size=501"), "page_size"),
        (format!("/api/wip/detail/{wc}?page=0"), "page"),
        (format!("/api/wip/detail/{wc}?page=two"), "page"),
        (format!("/api/wip/detail/{wc}?sort=colour"), "sort"),
        (format!("/api/wip/detail/{wc}?dir=sideways"), "dir"),
        (format!("/api/wip/detail/{wc}?lotid=a%0Ab"), "lotid"),
    ] {
        let (status, body) = json(app.get(&path).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{path}: {message}");
    }
}

/// The quality / non-quality split follows `NON_QUALITY_HOLD_REASONS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hold_split_follows_the_configured_reasons() {
    // One reason found among the seeded holds, configured as the only non-quality one.
    let probe = TestApp::spawn(Backend::Sqlite).await;
    let rows = Rows::read(&probe).await;
    let reason = rows.narrowing(|l| {
        (l.status == "HOLD")
            .then_some(l.hold_reason.as_deref())
            .flatten()
    });
    drop(probe);

    let app = TestApp::builder(Backend::Sqlite)
        .env("NON_QUALITY_HOLD_REASONS", &reason)
        .start()
        .await;
    app.login_as_user().await;
    let rows = Rows::read(&app).await;
    assert_eq!(rows.reasons.names(), std::slice::from_ref(&reason));
    let held = |non_quality: bool| {
        rows.lots
            .iter()
            .filter(|l| {
                l.status == "HOLD" && (l.hold_reason.as_deref() == Some(&reason)) == non_quality
            })
            .count() as u64
    };
    assert!(held(true) > 0 && held(false) > 0);

    let summary = data(&app, "/api/wip/overview/summary").await;
    assert_eq!(summary["by_hold_type"]["non-quality"]["lots"], held(true));
    assert_eq!(summary["by_hold_type"]["quality"]["lots"], held(false));
    let q = query(&[("hold_type", "non-quality")]);
    let filtered = data(&app, &format!("/api/wip/overview/summary?{q}")).await;
    assert_eq!(filtered["total"]["lots"], held(true));
    let lot = rows
        .lots
        .iter()
        .find(|l| l.status == "HOLD" && l.hold_reason.as_deref() == Some(&reason))
        .unwrap();
    let one = data(&app, &format!("/api/wip/lot/{}", lot.lot_id)).await;
    assert_eq!(one["hold_type"], "non-quality");
    assert_eq!(one["work_order"].as_str(), lot.work_order.as_deref());
    assert_eq!(one["move_in_at"].is_string(), lot.move_in_at.is_some());
}
