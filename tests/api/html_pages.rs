//! The report pages the portal links to, rendered on the seeded factory: `/wip-overview` and
//! `/hold-overview` from the WIP snapshot, `/resource-history` (form + script over the history
//! API) and `/admin/performance` (the deep health report, administrators only). Strangers are
//! sent to the login; values from the warehouse are text, never markup.

use std::time::{Duration, Instant};

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::seed::LotRow;
use mes_dashboard::with_conn;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, json as json_of};
use crate::on_both_backends;

/// Generous: the machine is shared and tests run in parallel.
const DEADLINE: Duration = Duration::from_secs(30);

const TRICKY: &str = "<script>alert(1)</script>";

on_both_backends!(
    the_wip_and_hold_pages_render_the_snapshot_for_a_logged_in_user,
    a_held_lot_with_markup_in_its_fields_is_escaped_on_both_overview_pages,
    the_resource_history_page_carries_a_token_the_history_api_accepts,
    the_performance_page_is_for_administrators_only,
);

/// A page for this client: (status, body).
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn strangers_go_to_the_login(app: &TestApp, path: &str) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 303, "{path}: strangers go to the login");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("/admin/login?next="),
        "{path}: {location}"
    );
}

async fn the_wip_and_hold_pages_render_the_snapshot_for_a_logged_in_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    strangers_go_to_the_login(&app, "/wip-overview").await;
    strangers_go_to_the_login(&app, "/hold-overview").await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();

    // The WIP overview: the counts and the matrix's rows (the figures against the APIs are
    // in `wip_overview.rs`).
    let response = app.get("/wip-overview").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let total = factory.lots.len();
    assert!(
        html.contains(&format!("<strong id=\"wipov-total-lots\">{total}</strong>")),
        "the total lot count {total} is shown"
    );
    for status in ["RUN", "QUEUE"] {
        let n = factory.lots.iter().filter(|l| l.status == status).count();
        assert!(
            html.contains(&format!("data-lots=\"{status}\">{n}</strong>")),
            "{status}: {n} lots"
        );
    }
    for wc in &factory.workcenters {
        if factory.lots.iter().any(|l| l.workcenter_id == wc.id) {
            assert!(
                html.contains(&format!("data-workcenter=\"{}\"", wc.id)),
                "the matrix has a row for {}",
                wc.id
            );
        }
    }
    assert!(
        html.contains("資料時間 "),
        "the time of the data, zh-TW by default"
    );

    // The hold overview: its KPIs, matrix cells and Pareto bars from the snapshot; the table
    // is filled by the page script from the lot API.
    let before = chrono::Utc::now().timestamp();
    let (status, html) = page(&app, "/hold-overview").await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(status, 200);
    let held: Vec<_> = factory.lots.iter().filter(|l| l.status == "HOLD").collect();
    assert!(!held.is_empty(), "the small factory has held lots");
    assert!(html.contains(&format!("<strong id=\"kpi-lots\">{}</strong>", held.len())));
    assert_age_cards(&html, &held, before..=after, false);
    let reason = held[0].hold_reason.expect("a held lot has a reason");
    assert!(
        html.contains(&format!("data-filter-reason=\"{reason}\"")),
        "a Pareto bar for {reason}"
    );
    assert!(html.contains(&format!(
        "data-workcenter=\"{}\" data-package=\"{}\"",
        held[0].workcenter_id, held[0].package_id
    )));
    assert!(
        html.contains(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart-kind-pareto\""
        )
    );
    assert!(html.contains("id=\"hold-page\""));

    // A reason's detail: its badge, cards and the charts whose bars filter the table.
    let encoded: String = form_urlencoded::byte_serialize(reason.as_bytes()).collect();
    let before = chrono::Utc::now().timestamp();
    let (status, html) = page(&app, &format!("/hold-detail?reason={encoded}")).await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<strong id=\"reason\">{reason}</strong>")));
    assert!(html.contains("id=\"reason-type\""));
    let of_reason: Vec<&LotRow> = held
        .iter()
        .copied()
        .filter(|l| l.hold_reason == Some(reason))
        .collect();
    assert!(html.contains(&format!(
        "<strong id=\"kpi-lots\">{}</strong>",
        of_reason.len()
    )));
    assert_age_cards(&html, &of_reason, before..=after, false);
    for range in ["0-1", "1-3", "3-7", "7+"] {
        assert!(
            html.contains(&format!("data-filter-age_range=\"{range}\"")),
            "an age bar for {range}"
        );
    }
    assert!(html.contains("chart-kind-bar"));
    let (status, html) = page(&app, "/hold-detail").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"no-reason\""));
    // The same cards in English (the switch is kept by a cookie from here on).
    let before = chrono::Utc::now().timestamp();
    let (status, html) = page(&app, &format!("/hold-detail?reason={encoded}&lang=en")).await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(status, 200);
    assert_age_cards(&html, &of_reason, before..=after, true);
    let before = chrono::Utc::now().timestamp();
    let (status, html) = page(&app, "/hold-overview").await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(status, 200);
    assert_age_cards(&html, &held, before..=after, true);
}

/// A duration as the tables and cards write it ("3 d 4 h", "3 天 4 小時"; whole units rounded
/// down), spelled out here rather than taken from the code under test.
fn duration_text(seconds: i64, english: bool) -> String {
    let minutes = seconds.max(0) / 60;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (d > 0, h > 0, english) {
        (true, _, true) => format!("{d} d {h} h"),
        (true, _, false) => format!("{d} 天 {h} 小時"),
        (false, true, true) => format!("{h} h {m} m"),
        (false, true, false) => format!("{h} 小時 {m} 分"),
        (false, false, true) => format!("{m} m"),
        (false, false, false) => format!("{m} 分"),
    }
}

/// The average and longest days-at-station cards show the durations of `held`'s ages (now −
/// move-in), measured at one of the whole seconds `at` (the request's instant lies within).
fn assert_age_cards(
    html: &str,
    held: &[&LotRow],
    at: std::ops::RangeInclusive<i64>,
    english: bool,
) {
    assert!(!held.is_empty());
    let round = |micros: i128| ((micros + 500_000).div_euclid(1_000_000)) as i64;
    let cards = |now: i64| {
        let ages: Vec<i128> = held
            .iter()
            .map(|l| i128::from((now * 1_000_000 - l.move_in_at.timestamp_micros()).max(0)))
            .collect();
        let average = round(ages.iter().sum::<i128>() / ages.len() as i128);
        let longest = round(*ages.iter().max().unwrap());
        (
            format!(
                "<strong id=\"kpi-avg-age\">{}</strong>",
                duration_text(average, english)
            ),
            format!(
                "<strong id=\"kpi-max-age\">{}</strong>",
                duration_text(longest, english)
            ),
        )
    };
    let candidates: Vec<(String, String)> = at.map(cards).collect();
    assert!(
        candidates
            .iter()
            .any(|(average, longest)| html.contains(average) && html.contains(longest)),
        "the cards are one of {candidates:?}"
    );
}

async fn a_held_lot_with_markup_in_its_fields_is_escaped_on_both_overview_pages(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("CACHE_CHECK_INTERVAL", "1")
        .start()
        .await;
    app.login_as_user().await;
    let victim = app.factory.as_ref().unwrap().lots[0].lot_id.clone();
    // A warehouse view may hold anything in a lot's text columns.
    let db = Database::connect_lazy(&Settings::for_tests(&app.database_url(), &[]))
        .expect("database settings");
    let pool = &db.request;
    let now = chrono::Utc::now();
    with_conn!(pool, |c| async {
        sqlx::query(
            "UPDATE lots SET lot_id = $1, product = $1, workcenter_id = $1, hold_reason = $1, \
             hold_by = $1, status = 'HOLD', hold_at = $2, updated_at = $3 WHERE lot_id = $4",
        )
        .bind(TRICKY)
        .bind(now - chrono::Duration::days(400))
        .bind(now)
        .bind(&victim)
        .execute(&mut *c)
        .await
        .map(|done| done.rows_affected())
    })
    .expect("update the lot");
    db.close().await;
    let until = Instant::now() + DEADLINE;
    while app
        .state()
        .wip
        .current()
        .is_none_or(|s| s.lot(TRICKY).is_none())
    {
        assert!(
            Instant::now() < until,
            "the cache picked up the changed lot"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let escaped = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";
    let (status, html) = page(&app, "/hold-overview").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(TRICKY),
        "the lot's fields are text, never markup"
    );
    assert!(html.contains(escaped), "escaped as text: {html}");
    let (status, html) = page(&app, "/wip-overview").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(TRICKY),
        "the workcenter is text, never markup"
    );
    assert!(html.contains(&format!("data-workcenter=\"{escaped}\"")));
}

async fn the_resource_history_page_carries_a_token_the_history_api_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    strangers_go_to_the_login(&app, "/resource-history").await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();
    // The tools offered come from the equipment snapshot once it is loaded.
    let until = Instant::now() + DEADLINE;
    while app.state().equipment.current().is_none() {
        assert!(Instant::now() < until, "the equipment sync loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, html) = page(&app, "/resource-history").await;
    assert_eq!(status, 200);
    assert!(html.contains("<form class=\"query card rh-form\" id=\"query\">"));
    let tool = &factory.tools[0].equipment_id;
    assert!(
        html.contains(&format!("<option value=\"{tool}\">")),
        "the tool {tool} is offered"
    );
    let config = html
        .split("<script type=\"application/json\" id=\"mes-history\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the page's configuration");
    let config: Value = serde_json::from_str(config).expect("tojson wrote JSON");
    assert_eq!(config["query_url"], "/api/resource/history/query");
    assert_eq!(config["states"][0], "PRD");
    assert_eq!(
        config["text"]["total"], "合計",
        "its words in the page's language"
    );
    for file in ["js/pages/resource_history.js", "js/jobs.js"] {
        let script = mes_dashboard::assets::url(file).unwrap();
        assert!(html.contains(script), "the page's script {file}");
    }
    for file in ["js/pages/resource_history.js", "js/jobs.js", "js/api.js"] {
        let source = mes_dashboard::assets::by_path(file).unwrap().bytes;
        assert!(
            !String::from_utf8_lossy(source).contains(".innerHTML"),
            "{file} writes text only"
        );
    }

    // What the script does: the page's meta token in X-CSRF-Token.
    let token = html
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's csrf-token meta")
        .to_string();
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(2);
    let group = factory.tools[0].workcenter_id;
    let query = json!({
        "from": from.to_string(),
        "to": today.to_string(),
        "granularity": "day",
        "tool": tool,
    });
    let send = |token: Option<String>, body: Value| {
        let mut request = app
            .client
            .post(app.url("/api/resource/history/query"))
            .json(&body);
        if let Some(token) = token {
            request = request.header("X-CSRF-Token", token);
        }
        request.send()
    };
    let (status, body) = json_of(send(Some(token.clone()), query.clone()).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["data"]["detail"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["equipment_id"], *tool);
    assert_eq!(rows[0]["workcenter_id"], group);
    assert_eq!(body["data"]["series"].as_array().unwrap().len(), 3);
    // The errors the page shows: a 400 envelope naming the field, a 403 without the token.
    let backwards = json!({"from": today.to_string(), "to": from.to_string()});
    let (status, body) = json_of(send(Some(token), backwards).await.unwrap()).await;
    crate::helpers::assert_error(status, &body, 400, "VALIDATION_ERROR");
    // In the page's language (zh-TW here), still naming the field literally.
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("請求的參數") && message.contains("：to:"),
        "{message}"
    );
    let (status, body) = json_of(send(None, query).await.unwrap()).await;
    crate::helpers::assert_error(status, &body, 403, "CSRF_TOKEN_MISSING");
}

async fn the_performance_page_is_for_administrators_only(backend: Backend) {
    let admin = TestApp::spawn(backend).await;
    strangers_go_to_the_login(&admin, "/admin/performance").await;
    let user = admin.another_instance(&[]).await;
    user.login_as_user().await;
    let (status, html) = page(&user, "/admin/performance").await;
    assert_eq!(status, 403, "{html}");
    assert!(!html.contains("id=\"recommendation\""));

    admin.login_as_admin().await;
    let (status, html) = page(&admin, "/admin/performance").await;
    assert_eq!(status, 200, "{html}");
    for pool in ["request", "slow", "health"] {
        assert!(html.contains(&format!("data-pool=\"{pool}\"")), "{pool}");
    }
    for section in [
        "id=\"breaker\"",
        "id=\"cache\"",
        "id=\"redis\"",
        "id=\"policy\"",
        "id=\"workers\"",
        "id=\"alerts\"",
        "id=\"recommendation\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
    let (_, deep) = json_of(admin.get("/health/deep").await).await;
    let action = deep["resilience"]["recovery_recommendation"]["action"]
        .as_str()
        .unwrap();
    assert!(html.contains(&format!("data-action=\"{action}\">{action}</span>")));
    assert!(html.contains("class=\"status-"));
    // The administrator's navigation leads there (minijinja writes `/` as `&#x2f;`).
    let (_, portal) = page(&admin, "/").await;
    assert!(
        portal.contains("href=\"&#x2f;admin&#x2f;performance\""),
        "{portal}"
    );
}
