//! The `/wip-detail?workcenter=…` page rendered on the server, on both backends: its first
//! page is the API's (same lots, order, total, cards and steps), its links carry the filters,
//! its CSV link exports the API's total, and bad parameters are the error pages.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::{Backend, TestApp, json};
use crate::on_both_backends;

on_both_backends!(
    the_detail_page_shows_the_apis_lots_cards_and_steps,
    the_detail_page_refuses_what_the_api_refuses_with_error_pages,
);

/// A page for this client: (status, body).
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn data(app: &TestApp, path: &str) -> Value {
    let (status, body) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["data"].clone()
}

/// An attribute value as the browser reads it (minijinja escapes `/`, `&`, quotes).
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The values of `attribute="…"` in page order.
fn attributes(html: &str, attribute: &str) -> Vec<String> {
    let open = format!(" {attribute}=\"");
    html.split(open.as_str())
        .skip(1)
        .map(|rest| unescape(rest.split('"').next().unwrap()))
        .collect()
}

/// The `href` of the element with `id`.
fn href_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..at + html[at..].find('>').unwrap()];
    attributes(tag, "href")
        .pop()
        .unwrap_or_else(|| panic!("#{id} has no href: {tag}"))
}

/// The lot ids of the table's rows.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr data-lot=\"")
        .skip(1)
        .map(|rest| unescape(rest.split('"').next().unwrap()))
        .collect()
}

fn lot_ids(lots: &Value) -> Vec<String> {
    lots.as_array()
        .unwrap()
        .iter()
        .map(|l| l["lot_id"].as_str().unwrap().to_string())
        .collect()
}

/// The busiest workcenter and its commonest package among the seeded lots.
fn busiest(app: &TestApp) -> (String, String) {
    let mut by_wc: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for l in &app.factory.as_ref().unwrap().lots {
        *by_wc
            .entry(l.workcenter_id)
            .or_default()
            .entry(l.package_id)
            .or_default() += 1;
    }
    let (wc, packages) = by_wc
        .iter()
        .max_by_key(|(_, p)| p.values().sum::<usize>())
        .unwrap();
    let package = packages.iter().max_by_key(|(_, n)| **n).unwrap().0;
    (wc.to_string(), package.to_string())
}

async fn the_detail_page_shows_the_apis_lots_cards_and_steps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (wc, package) = busiest(&app);
    let path = format!("/wip-detail?workcenter={wc}&package={package}");
    let response = app.get(&path).await;
    assert_eq!(response.status(), 303, "strangers go to the login");
    app.login_as_user().await;

    let (status, html) = page(&app, &path).await;
    assert_eq!(status, 200, "{html}");
    let api = data(&app, &format!("/api/wip/detail/{wc}?package={package}")).await;
    let total = api["total"].as_u64().unwrap();
    assert!(total > 0, "{api}");
    assert_eq!(rows(&html), lot_ids(&api["lots"]), "the API's first page");
    assert!(
        html.contains(&format!("data-total=\"{total}\"")),
        "the total {total}"
    );
    assert!(html.contains(&format!("data-workcenter=\"{wc}\"")));
    // One column per step of the workcenter, in the API's (route) order.
    let steps: Vec<String> = api["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    assert!(!steps.is_empty());
    assert_eq!(attributes(&html, "data-step"), steps);
    // A lot's quantity stands in its step's column.
    let first = &api["lots"][0];
    let row = html
        .split(&format!(
            "<tr data-lot=\"{}\"",
            first["lot_id"].as_str().unwrap()
        ))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    let cells: Vec<&str> = row.split("<td class=\"num\">").skip(1).collect();
    assert_eq!(cells.len(), steps.len(), "{row}");
    let column = steps
        .iter()
        .position(|s| s == first["step"].as_str().unwrap())
        .unwrap();
    for (i, c) in cells.iter().enumerate() {
        let shown: String = c
            .split("</td>")
            .next()
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let want = if i == column {
            first["quantity"].to_string()
        } else {
            String::new()
        };
        assert_eq!(shown, want, "step column {i} of {row}");
    }

    // The cards: the API's counts; each links to the page with its status filter and the
    // other filters kept.
    let cards = attributes(&html, "data-card");
    assert_eq!(cards, ["run", "queue", "quality_hold", "non_quality_hold"]);
    let run_lots = api["cards"]["run"]["lots"].as_u64().unwrap();
    let run_card = html.split("data-card=\"run\"").nth(1).unwrap();
    let shown: String = run_card
        .split("data-card-lots>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(shown, run_lots.to_string());
    let hrefs = attributes(&html, "href");
    let quality = hrefs
        .iter()
        .find(|h| h.contains("hold_type=quality"))
        .expect("the quality hold card's link");
    assert!(
        quality.starts_with("/wip-detail?workcenter=")
            && quality.contains(&format!("package={package}"))
            && quality.contains("status=HOLD"),
        "{quality}"
    );

    // Sorted and paged through the URL: the API's page for the same parameters.
    let query = "sort=status&dir=desc&page=2&page_size=3";
    let (status, html) = page(&app, &format!("{path}&{query}")).await;
    assert_eq!(status, 200);
    let api_page = data(
        &app,
        &format!("/api/wip/detail/{wc}?package={package}&{query}"),
    )
    .await;
    assert_eq!(rows(&html), lot_ids(&api_page["lots"]));
    assert!(html.contains("aria-sort=\"descending\" data-column=\"status\""));
    let prev = href_of(&html, "page-prev");
    assert!(
        prev.contains("page_size=3") && !prev.contains("&page="),
        "page 1 is not written: {prev}"
    );
    if api_page["pages"].as_u64().unwrap() > 2 {
        assert!(href_of(&html, "page-next").contains("page=3"));
    }

    // The CSV link: the same filters and order, every page.
    let csv = href_of(&html, "export-csv");
    assert!(
        csv.starts_with(&format!("/api/wip/detail/{wc}?"))
            && csv.contains("format=csv")
            && !csv.contains("page"),
        "{csv}"
    );
    let response = app.get(&csv).await;
    assert_eq!(response.status(), 200, "{csv}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.bytes().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(&body[3..]);
    let exported: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(exported.len() as u64, total, "every matching lot");
    let mut all = lot_ids(&api_page["lots"]);
    all.retain(|id| !exported.contains(id));
    assert!(all.is_empty(), "the page's lots are exported: {all:?}");

    // The script's configuration: the API, the snapshot's version to compare live events with.
    let config = html
        .split("<script type=\"application/json\" id=\"mes-wip-detail\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page's configuration");
    let config: Value = serde_json::from_str(config).expect("tojson wrote JSON");
    assert_eq!(config["api"], format!("/api/wip/detail/{wc}"));
    let version = app.state().wip.current().unwrap().version.clone();
    assert_eq!(config["version"], version);
    let script = mes_dashboard::assets::url("js/pages/wip_detail.js").unwrap();
    assert!(html.contains(script), "the page's script");
    let source = mes_dashboard::assets::by_path("js/pages/wip_detail.js")
        .unwrap()
        .bytes;
    assert!(!String::from_utf8_lossy(source).contains(".innerHTML"));

    // English on request, the same figures.
    let (status, html) = page(&app, &format!("{path}&lang=en")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"en\">") && html.contains("Quality hold"));
    assert_eq!(rows(&html), lot_ids(&api["lots"]));
}

async fn the_detail_page_refuses_what_the_api_refuses_with_error_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let (wc, _) = busiest(&app);
    for (path, status, named) in [
        ("/wip-detail".to_string(), 400, "workcenter"),
        ("/wip-detail?workcenter=NOPE-9".into(), 404, "NOPE-9"),
        ("/wip-detail?workcenter=a%2Fb".into(), 400, "workcenter"),
        (
            format!("/wip-detail?workcenter={wc}&page_size=501"),
            400,
            "page_size",
        ),
        (format!("/wip-detail?workcenter={wc}&page=0"), 400, "page"),
        (
            format!("/wip-detail?workcenter={wc}&sort=colour"),
            400,
            "sort",
        ),
        (
            format!("/wip-detail?workcenter={wc}&status=DONE"),
            400,
            "status",
        ),
        (
            format!("/wip-detail?workcenter={wc}&colour=red"),
            400,
            "colour",
        ),
    ] {
        let (got, html) = page(&app, &path).await;
        assert_eq!(got, status, "{path}: {html}");
        assert!(html.starts_with("<!doctype html>"), "{path}: an error page");
        assert!(html.contains(named), "{path} names {named}: {html}");
    }
    // A page past the end is an empty table, not an error.
    let (status, html) = page(&app, &format!("/wip-detail?workcenter={wc}&page=999")).await;
    assert_eq!(status, 200);
    assert!(rows(&html).is_empty() && html.contains("wipdt-empty"));
}
