//! The filtered resource status APIs against the seeded factory: every answer (status,
//! summary, matrix, options, open jobs) compared with figures computed here from the seed,
//! independently of the server's indexes; bad parameters; a tool going down unscheduled
//! opens a job that the open-jobs list shows within a sync or two.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::seed::ToolRow;
use mes_dashboard::simulate;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(
    filters_and_their_combinations_answer_what_the_seed_says,
    a_tool_going_down_opens_a_job_that_the_open_jobs_list_shows,
);

const DEADLINE: Duration = Duration::from_secs(30);

/// A tool as the test sees it: the seeded row and its workcenter's group.
struct Seeded<'a> {
    row: &'a ToolRow,
    group: &'a str,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// AVAIL % and OU % of `tools`, by PRODUCT §2.
fn ratios(tools: &[&Seeded<'_>]) -> (Option<f64>, Option<f64>) {
    let n = |s: &str| tools.iter().filter(|t| t.row.e10_state == s).count() as f64;
    let all = tools.len() as f64;
    let scheduled = n("PRD") + n("SBY") + n("UDT") + n("SDT") + n("EGT");
    (
        (all > 0.0).then(|| round2((n("PRD") + n("SBY") + n("EGT")) / all * 100.0)),
        (scheduled > 0.0).then(|| round2(n("PRD") / scheduled * 100.0)),
    )
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["equipment_id"].as_str().unwrap().to_string())
        .collect()
}

async fn filters_and_their_combinations_answer_what_the_seed_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();
    let group_of = |wc: &str| {
        factory
            .workcenters
            .iter()
            .find(|w| w.id == wc)
            .map(|w| w.group)
            .unwrap()
    };
    let fleet: Vec<Seeded<'_>> = factory
        .tools
        .iter()
        .map(|row| Seeded {
            row,
            group: group_of(row.workcenter_id),
        })
        .collect();

    // Values to filter by, taken from the seed.
    let first = &fleet[0];
    let other_group = fleet
        .iter()
        .map(|t| t.group)
        .find(|g| *g != first.group)
        .expect("two groups");
    let location = first.row.location;
    let family = first.row.family;
    let package_group = fleet.last().unwrap().row.package_group;
    let some_tools = format!(
        "{},{},NO-SUCH-TOOL",
        fleet[1].row.equipment_id, fleet[2].row.equipment_id
    );

    type Admit<'a> = Box<dyn Fn(&Seeded<'_>) -> bool + 'a>;
    let cases: Vec<(String, Admit<'_>)> = vec![
        (String::new(), Box::new(|_| true)),
        (
            format!("workcenter_group={}", first.group),
            Box::new(|t| t.group == first.group),
        ),
        (
            format!("workcenter_group={},{other_group}", first.group),
            Box::new(|t| t.group == first.group || t.group == other_group),
        ),
        (
            format!("location={location}"),
            Box::new(|t| t.row.location == location),
        ),
        (
            format!("family={family}&location={location}"),
            Box::new(|t| t.row.family == family && t.row.location == location),
        ),
        (format!("tool={some_tools}"), {
            let some_tools = some_tools.clone();
            Box::new(move |t| some_tools.split(',').any(|id| id == t.row.equipment_id))
        }),
        (
            format!("package_group={package_group}&production=true"),
            Box::new(|t| t.row.package_group == package_group && t.row.is_production),
        ),
        ("key=true".into(), Box::new(|t| t.row.is_key)),
        (
            "monitored=false&key=true,false".into(),
            Box::new(|t| !t.row.is_monitored),
        ),
        (
            format!("workcenter_group={}&state=PRD,UDT", first.group),
            Box::new(|t| t.group == first.group && matches!(t.row.e10_state, "PRD" | "UDT")),
        ),
        ("family=NO-SUCH-FAMILY".into(), Box::new(|_| false)),
    ];
    let open_jobs: Vec<_> = factory
        .jobs
        .iter()
        .filter(|j| j.completed_at.is_none())
        .collect();
    assert!(!open_jobs.is_empty(), "the seed leaves some jobs open");

    for (query, admit) in &cases {
        let want: Vec<&Seeded<'_>> = fleet.iter().filter(|t| admit(t)).collect();
        let want_ids: BTreeSet<String> = want.iter().map(|t| t.row.equipment_id.clone()).collect();
        let encoded = url_encode_values(query);

        let (status, body) = json(app.get(&format!("/api/resource/status?{encoded}")).await).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["data"]["count"], want.len(), "{query}");
        let got: BTreeSet<String> = ids(&body).into_iter().collect();
        assert_eq!(got, want_ids, "{query}");
        if let Some(tool) = body["data"]["tools"].as_array().unwrap().first() {
            let seeded = want
                .iter()
                .find(|t| t.row.equipment_id == tool["equipment_id"].as_str().unwrap())
                .unwrap();
            assert_eq!(tool["workcenter_group"], seeded.group, "{tool}");
            assert_eq!(tool["family"], seeded.row.family, "{tool}");
            assert_eq!(tool["location"], seeded.row.location, "{tool}");
            assert_eq!(tool["package_group"], seeded.row.package_group, "{tool}");
            assert_eq!(tool["vendor"], seeded.row.vendor, "{tool}");
            assert_eq!(tool["production"], seeded.row.is_production, "{tool}");
            assert_eq!(tool["key"], seeded.row.is_key, "{tool}");
            assert_eq!(tool["monitored"], seeded.row.is_monitored, "{tool}");
        }

        let (status, body) = json(
            app.get(&format!("/api/resource/status/summary?{encoded}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        let data = &body["data"];
        assert_eq!(data["total"], want.len(), "{query}");
        for state in ["PRD", "SBY", "UDT", "SDT", "EGT", "NST"] {
            let n = want.iter().filter(|t| t.row.e10_state == state).count();
            assert_eq!(data["by_state"][state], n, "{query} {state}");
        }
        let (availability, ou) = ratios(&want);
        assert_eq!(data["availability_pct"].as_f64(), availability, "{query}");
        assert_eq!(data["ou_pct"].as_f64(), ou, "{query}");

        let (status, body) = json(
            app.get(&format!("/api/resource/status/matrix?{encoded}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        let data = &body["data"];
        assert_eq!(data["total"], want.len(), "{query}");
        assert_eq!(data["availability_pct"].as_f64(), availability, "{query}");
        assert_eq!(data["ou_pct"].as_f64(), ou, "{query}");
        for group in data["groups"].as_array().unwrap() {
            let name = group["group"].as_str().unwrap();
            let in_group: Vec<&Seeded<'_>> =
                want.iter().copied().filter(|t| t.group == name).collect();
            assert_eq!(group["total"], in_group.len(), "{query} {name}");
            assert_eq!(
                group["ou_pct"].as_f64(),
                ratios(&in_group).1,
                "{query} {name}"
            );
            let families: u64 = group["families"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["total"].as_u64().unwrap())
                .sum();
            assert_eq!(families, in_group.len() as u64, "{query} {name}");
        }

        let (status, body) = json(
            app.get(&format!("/api/resource/jobs/open?{encoded}&limit=100"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        let want_jobs = open_jobs
            .iter()
            .filter(|j| want_ids.contains(&j.equipment_id))
            .count();
        assert_eq!(body["data"]["count"], want_jobs, "{query}");
        let created: Vec<&str> = body["data"]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["created_at"].as_str().unwrap())
            .collect();
        let times: Vec<chrono::DateTime<chrono::Utc>> =
            created.iter().map(|c| c.parse().unwrap()).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "longest open first: {created:?}"
        );
    }

    // The open-jobs list: ten by default.
    let (_, body) = json(app.get("/api/resource/jobs/open").await).await;
    assert_eq!(body["data"]["count"], open_jobs.len());
    assert_eq!(
        body["data"]["jobs"].as_array().unwrap().len(),
        open_jobs.len().min(10)
    );

    // Options: each field's values among the tools the other filters admit.
    let (status, body) = json(
        app.get(&format!(
            "/api/resource/status/options?{}",
            url_encode_values(&format!("workcenter_group={}", first.group))
        ))
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let options = &body["data"];
    let values = |field: &str| -> BTreeSet<String> {
        options[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value"].as_str().unwrap().to_string())
            .collect()
    };
    let in_group: Vec<&Seeded<'_>> = fleet.iter().filter(|t| t.group == first.group).collect();
    let locations: BTreeSet<String> = in_group
        .iter()
        .map(|t| t.row.location.to_string())
        .collect();
    assert_eq!(values("location"), locations);
    let all_groups: BTreeSet<String> = fleet.iter().map(|t| t.group.to_string()).collect();
    assert_eq!(
        values("workcenter_group"),
        all_groups,
        "a field's own filter does not narrow its options"
    );
    let tools: BTreeSet<String> = options["tool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = in_group
        .iter()
        .map(|t| t.row.equipment_id.clone())
        .collect();
    assert_eq!(tools, want);

    // Bad parameters: 400 naming them, on every route.
    for route in [
        "/api/resource/status",
        "/api/resource/status/summary",
        "/api/resource/status/matrix",
        "/api/resource/status/options",
        "/api/resource/jobs/open",
    ] {
        for (query, parameter) in [
            ("production=maybe", "production"),
            ("key=", "key"),
            ("family=A,,B", "family"),
            ("location=", "location"),
            ("state=RUN", "state"),
            ("colour=red", "colour"),
        ] {
            let (status, body) = json(app.get(&format!("{route}?{query}")).await).await;
            assert_error(status, &body, 400, "VALIDATION_ERROR");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(parameter), "{route}?{query}: {message}");
        }
    }
    let (status, body) = json(app.get("/api/resource/jobs/open?limit=0").await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    let (status, body) = json(app.get("/api/resource/status?limit=5").await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // The CSV export of a filtered status has as many rows as the API's count.
    let query = url_encode_values(&format!("location={location}"));
    let (_, body) = json(app.get(&format!("/api/resource/status?{query}")).await).await;
    let csv = app
        .get(&format!("/api/resource/status?{query}&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    let rows = csv.lines().filter(|l| !l.trim().is_empty()).count() - 1;
    assert_eq!(
        rows as u64,
        body["data"]["count"].as_u64().unwrap(),
        "{csv}"
    );
}

/// `name=value&…` with each value percent-encoded (the seed's values are Chinese).
fn url_encode_values(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{name}={}", value.replace("%2C", ","))
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn a_tool_going_down_opens_a_job_that_the_open_jobs_list_shows(backend: Backend) {
    let app = TestApp::builder(backend)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .start()
        .await;
    app.login_as_user().await;
    let factory = app.factory.as_ref().unwrap();
    let open: BTreeSet<&str> = factory
        .jobs
        .iter()
        .filter(|j| j.completed_at.is_none())
        .map(|j| j.equipment_id.as_str())
        .collect();
    let open_count = factory
        .jobs
        .iter()
        .filter(|j| j.completed_at.is_none())
        .count();
    let tool = factory
        .tools
        .iter()
        .find(|t| t.e10_state != "UDT" && !open.contains(t.equipment_id.as_str()))
        .map(|t| t.equipment_id.clone())
        .expect("an up tool without an open job");
    let url = format!("/api/resource/jobs/open?tool={tool}");
    let (_, body) = json(app.get(&url).await).await;
    assert_eq!(body["data"]["count"], 0, "{body}");

    let db = Database::connect_lazy(&Settings::for_tests(&app.database_url(), &[]))
        .expect("database settings");
    assert!(
        simulate::set_tool_state(
            &db.request,
            &tool,
            "UDT",
            Some("Vacuum fault"),
            chrono::Utc::now()
        )
        .await
        .expect("flip the tool")
    );
    db.close().await;

    let until = Instant::now() + DEADLINE;
    let job = loop {
        let (status, body) = json(app.get(&url).await).await;
        assert_eq!(status, 200, "{body}");
        if body["data"]["count"] == 1 {
            break body["data"]["jobs"][0].clone();
        }
        assert!(
            Instant::now() < until,
            "the job shows within {DEADLINE:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["equipment_id"], tool.as_str());
    assert_eq!(job["status"], "OPEN");
    // Among every open job, sorted longest first, it is the newest.
    let (_, body) = json(app.get("/api/resource/jobs/open?limit=100").await).await;
    let jobs = body["data"]["jobs"].as_array().unwrap();
    assert_eq!(body["data"]["count"], open_count + 1, "{body}");
    if jobs.len() == open_count + 1 {
        assert_eq!(jobs.last().unwrap()["job_id"], job["job_id"]);
    }
    // The tool's status says UDT in the same snapshot.
    let (_, body) = json(app.get(&format!("/api/resource/status?tool={tool}")).await).await;
    assert_eq!(body["data"]["tools"][0]["e10_state"], "UDT");
}
