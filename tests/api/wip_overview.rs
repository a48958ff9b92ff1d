//! The home page `/` and `/wip-overview` on the seeded factory, on both backends: their figures
//! against the WIP APIs and the factory, the URL's filters applied on the server, the links
//! that keep them, the content block the page swaps in, and bad parameters refused.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    the_wip_overview_shows_the_api_figures_and_applies_the_url_filters,
    the_wip_overview_refuses_bad_parameters_as_the_apis_do,
    the_home_page_shows_the_wip_hold_and_key_tool_cards,
);

const DEADLINE: Duration = Duration::from_secs(30);

/// The page's HTML with the attribute escapes minijinja writes (`&#x2f;`, `&amp;`) undone.
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    (status, html.replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The number inside `<… marker>N</…>` (grouping separators dropped).
fn number_after(html: &str, marker: &str) -> u64 {
    let rest = html
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("{marker} is on the page"));
    let text = &rest[..rest.find('<').unwrap()];
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{marker}: {text:?}"))
}

async fn api(app: &TestApp, path: &str) -> Value {
    let (status, body) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

async fn the_wip_overview_shows_the_api_figures_and_applies_the_url_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();

    // Unfiltered: the totals, the four cards and the matrix are the API's.
    let (status, html) = page(&app, "/wip-overview").await;
    assert_eq!(status, 200);
    let summary = api(&app, "/api/wip/overview/summary").await;
    assert_eq!(
        number_after(&html, "id=\"wipov-total-lots\">"),
        summary["total"]["lots"].as_u64().unwrap()
    );
    assert_eq!(
        number_after(&html, "id=\"wipov-total-pcs\">"),
        summary["total"]["quantity"].as_u64().unwrap()
    );
    for (card, figure) in [
        ("RUN", &summary["by_status"]["RUN"]),
        ("QUEUE", &summary["by_status"]["QUEUE"]),
        ("quality", &summary["by_hold_type"]["quality"]),
        ("non-quality", &summary["by_hold_type"]["non-quality"]),
    ] {
        assert_eq!(
            number_after(&html, &format!("data-lots=\"{card}\">")),
            figure["lots"].as_u64().unwrap(),
            "{card}"
        );
    }
    assert_eq!(
        html.matches("chart-kind-donut").count(),
        2,
        "the donuts by lots and by pcs"
    );
    assert_eq!(html.matches("chart-kind-bar").count(), 2, "the two bars");
    assert!(html.contains("href=\"/hold-overview?hold_type=quality\""));
    assert!(html.contains("href=\"/hold-overview?hold_type=non-quality\""));
    assert!(html.contains("資料時間 "), "zh-TW by default: {html}");
    let matrix = api(&app, "/api/wip/overview/matrix").await;
    assert_eq!(
        number_after(&html, "id=\"wipov-matrix-total\">"),
        matrix["total"]["quantity"].as_u64().unwrap()
    );
    let lot = &factory.lots[0];
    let (wc, package) = (lot.workcenter_id, lot.package_id);
    assert!(
        html.contains(&format!(
            "href=\"/wip-detail?workcenter={wc}&package={package}\""
        )),
        "a cell opens its workcenter and package"
    );

    // Filtered by a package and RUN: the cards count under the package only, the matrix
    // under both; the links keep the filters.
    let query = format!("package={package}&status=RUN");
    let (status, html) = page(&app, &format!("/wip-overview?{query}")).await;
    assert_eq!(status, 200);
    let by_package = api(
        &app,
        &format!("/api/wip/overview/summary?package={package}"),
    )
    .await;
    assert_eq!(
        number_after(&html, "id=\"wipov-total-lots\">"),
        by_package["total"]["lots"].as_u64().unwrap()
    );
    let matrix = api(&app, &format!("/api/wip/overview/matrix?{query}")).await;
    assert_eq!(
        number_after(&html, "id=\"wipov-matrix-total\">"),
        matrix["total"]["quantity"].as_u64().unwrap()
    );
    let run_wc = factory
        .lots
        .iter()
        .find(|l| l.package_id == package && l.status == "RUN")
        .map(|l| l.workcenter_id)
        .expect("a RUN lot of the package");
    assert!(html.contains(&format!(
        "href=\"/wip-detail?workcenter={run_wc}&package={package}&status=RUN\""
    )));
    assert!(
        html.contains("data-card=\"RUN\" data-in-page aria-current=\"true\""),
        "the RUN card shows it filters"
    );
    assert!(html.contains(&format!("href=\"/wip-overview?package={package}\"")));
    assert!(
        html.contains(&format!("value=\"{package}\"")),
        "the panel shows it"
    );

    // The content block alone, for the script: the same figures, the snapshot's version.
    let content = api(&app, &format!("/api/wip/overview/content?{query}")).await;
    let served = app.state().wip.current().unwrap().version.clone();
    assert_eq!(content["version"], served.as_str());
    let block = content["html"].as_str().unwrap();
    assert!(
        !block.contains("<html") && !block.contains("<script"),
        "{block}"
    );
    assert_eq!(
        number_after(block, "id=\"wipov-total-lots\">"),
        by_package["total"]["lots"].as_u64().unwrap()
    );
}

async fn the_wip_overview_refuses_bad_parameters_as_the_apis_do(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    for (query, named) in [
        ("colour=red", "colour"),
        ("status=DONE", "status"),
        ("package=a%2Fb", "package"),
        ("lotid=a&lotid=b", "lotid"),
    ] {
        let response = app.get(&format!("/wip-overview?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<!doctype html>"), "the error page: {html}");
        assert!(html.contains(named), "{query}: {html}");
        let (status, body) =
            json(app.get(&format!("/api/wip/overview/content?{query}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        assert!(body["error"]["message"].as_str().unwrap().contains(named));
    }
    // The page's own parameters are not filters, and are not refused.
    let (status, _) = page(&app, "/wip-overview?kiosk=1&lang=en").await;
    assert_eq!(status, 200);
}

async fn the_home_page_shows_the_wip_hold_and_key_tool_cards(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();
    let until = Instant::now() + DEADLINE;
    while app.state().equipment.current().is_none() || app.state().wip.current().is_none() {
        assert!(Instant::now() < until, "the snapshots loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    // WIP card.
    assert_eq!(
        number_after(&html, "id=\"home-wip-lots\">") as usize,
        factory.lots.len()
    );
    let run = factory.lots.iter().filter(|l| l.status == "RUN").count();
    assert_eq!(number_after(&html, "data-lots=\"RUN\">") as usize, run);
    assert_eq!(html.matches("chart-kind-donut").count(), 2);
    // Hold card: each reason under its type's Pareto.
    let reasons = &app.state().config.holds.non_quality_reasons;
    let held: Vec<_> = factory.lots.iter().filter(|l| l.status == "HOLD").collect();
    assert_eq!(
        number_after(&html, "id=\"home-held-lots\">") as usize,
        held.len()
    );
    let quality = html
        .split("id=\"home-pareto-quality-title\"")
        .nth(1)
        .expect("the quality Pareto");
    let (quality, non_quality) = quality
        .split_once("id=\"home-pareto-non-quality-title\"")
        .expect("the non-quality Pareto after it");
    for lot in &held {
        let reason = lot.hold_reason.unwrap();
        let attribute = format!("data-filter-reason=\"{reason}\"");
        if reasons.contains(reason) {
            assert!(non_quality.contains(&attribute), "{reason} is non-quality");
            assert!(!quality.contains(&attribute), "{reason}");
        } else {
            assert!(quality.contains(&attribute), "{reason} is quality");
        }
    }
    // Key-tools card: OU % and AVAIL % by the plant's formulas, a count per state, a ring
    // per workcenter with tools.
    let count = |state: &str| {
        factory
            .tools
            .iter()
            .filter(|t| t.e10_state == state)
            .count() as f64
    };
    let (prd, sby, udt, sdt, egt) = (
        count("PRD"),
        count("SBY"),
        count("UDT"),
        count("SDT"),
        count("EGT"),
    );
    let all = factory.tools.len() as f64;
    let ou = format!("{:.1}%", prd / (prd + sby + udt + sdt + egt) * 100.0);
    let avail = format!("{:.1}%", (prd + sby + egt) / all * 100.0);
    assert!(html.contains(&format!("id=\"home-ou\">{ou}<")), "OU {ou}");
    assert!(
        html.contains(&format!("id=\"home-avail\">{avail}<")),
        "AVAIL {avail}"
    );
    for state in ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"] {
        assert_eq!(
            number_after(&html, &format!("data-state-count=\"{state}\">")),
            count(state) as u64,
            "{state}"
        );
    }
    let mut workcenters: Vec<_> = factory.tools.iter().map(|t| t.workcenter_id).collect();
    workcenters.sort_unstable();
    workcenters.dedup();
    assert_eq!(html.matches("chart-kind-ring").count(), workcenters.len());
    // Each card links to its report; the report list follows.
    for report in ["/wip-overview", "/hold-overview", "/resource"] {
        assert!(
            html.contains(&format!("<h2><a href=\"{report}\">")),
            "{report}"
        );
    }
    assert!(html.contains("class=\"grid\""), "the list of reports");
}
