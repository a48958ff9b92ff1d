//! Dev pages hide their APIs (issue 14, item 6): while every page listing an API is `dev`, a
//! regular user gets 403 `FORBIDDEN` there and an administrator 200; the navigation hides the
//! page; releasing it restores access — on another instance of the same database too, within
//! the registry's refresh. The page event stream withholds the kinds of a hidden page.

use std::time::{Duration, Instant};

use mes_dashboard::config::Settings;
use mes_dashboard::db::Database;
use mes_dashboard::simulate;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;
use crate::sse::Events;

on_both_backends!(a_dev_pages_apis_are_refused_to_users_on_every_instance_until_it_is_released);

/// Generous bound on a refresh or two on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// A request as one of the tests sends it.
#[derive(Clone, Copy)]
enum Call {
    Get(&'static str),
    Post(&'static str),
}

impl Call {
    fn path(self) -> &'static str {
        match self {
            Call::Get(p) | Call::Post(p) => p,
        }
    }
}

fn body_for(path: &str) -> Value {
    if path.starts_with("/api/hold-history") {
        json!({"mode": "today"})
    } else {
        // Shift days: yesterday to today (answered at once).
        let today = chrono::Utc::now().date_naive();
        let yesterday = today - chrono::Duration::days(1);
        json!({"from": yesterday.to_string(), "to": today.to_string()})
    }
}

async fn send(app: &TestApp, call: Call) -> (u16, Value) {
    match call {
        // The event stream answers its head and goes on: read the status only.
        Call::Get(path) if path.ends_with("/stream") => {
            let response = app.get(path).await;
            let status = response.status().as_u16();
            if status == 200 {
                return (200, Value::Null);
            }
            json(response).await
        }
        Call::Get(path) => json(app.get(path).await).await,
        Call::Post(path) => json(app.post_json_with_csrf(path, &body_for(path)).await).await,
    }
}

/// Waits until `call` answers `want` on `app` (another instance sees a change within its
/// registry's refresh).
async fn until_status(app: &TestApp, call: Call, want: u16) -> Value {
    let until = Instant::now() + DEADLINE;
    loop {
        let (status, body) = send(app, call).await;
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < until,
            "{} still answers {status}, not {want}: {body}",
            call.path()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_status(admin: &TestApp, route: &str, status: &str) {
    let encoded: String = form_urlencoded::byte_serialize(route.as_bytes()).collect();
    let (code, body) = json(
        admin
            .put_json_with_csrf(
                &format!("/admin/api/pages/{encoded}"),
                &json!({ "status": status }),
            )
            .await,
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

/// Whether the user's navigation (the portal's drawers) links `route`.
async fn nav_links(app: &TestApp, route: &str) -> bool {
    let portal = app.get("/").await;
    assert_eq!(portal.status(), 200);
    // The templates escape '/' in attribute values.
    portal
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/")
        .contains(&format!("href=\"{route}\""))
}

async fn a_dev_pages_apis_are_refused_to_users_on_every_instance_until_it_is_released(
    backend: Backend,
) {
    let admin = TestApp::builder(backend).start().await;
    admin.login_as_admin().await;
    // The user works on another instance of the same database: it learns of the changes by
    // its own refresh of the registry.
    let user = admin.another_instance(&[]).await;
    user.login_as_user().await;
    let resource = [
        Call::Get("/api/resource/status"),
        Call::Get("/api/resource/status/matrix"),
        Call::Get("/api/resource/status/stream"),
    ];
    for call in resource {
        until_status(&user, call, 200).await;
    }
    assert!(nav_links(&user, "/resource").await);

    set_status(&admin, "/resource", "dev").await;
    for call in resource {
        let body = until_status(&user, call, 403).await;
        assert_error(403, &body, 403, "FORBIDDEN");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(call.path()),
            "{body}"
        );
        // The administrator who set it still uses it.
        let (status, body) = send(&admin, call).await;
        assert_eq!(status, 200, "{}: {body}", call.path());
    }
    // The summary is the portal's too, and the portal is released: still open.
    let (status, body) = send(&user, Call::Get("/api/resource/status/summary")).await;
    assert_eq!(status, 200, "{body}");
    // The navigation hides the page from the user, not from the administrator.
    assert!(!nav_links(&user, "/resource").await);
    assert!(nav_links(&admin, "/resource").await);
    // An API no page lists is not affected; an anonymous client still gets 401.
    let (status, _) = send(&user, Call::Get("/api/auth/me")).await;
    assert_eq!(status, 200);
    let (status, body) = json(
        crate::helpers::client()
            .get(user.url("/api/resource/status"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");

    // Both pages using the summary in dev: hidden too.
    set_status(&admin, "/", "dev").await;
    until_status(&user, Call::Get("/api/resource/status/summary"), 403).await;
    set_status(&admin, "/", "released").await;
    until_status(&user, Call::Get("/api/resource/status/summary"), 200).await;

    // The history queries (POST, through the CSRF check) and their background jobs, shared
    // by both history pages: a job URL is hidden only once both are dev.
    set_status(&admin, "/resource-history", "dev").await;
    until_status(&user, Call::Post("/api/resource/history/query"), 403).await;
    let (status, body) = send(&admin, Call::Post("/api/resource/history/query")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&user, Call::Get("/api/jobs/no-such-job")).await;
    assert_ne!(status, 403, "{body}");
    set_status(&admin, "/hold-history", "dev").await;
    until_status(&user, Call::Post("/api/hold-history/query"), 403).await;
    until_status(&user, Call::Get("/api/jobs/no-such-job"), 403).await;
    let (status, body) = send(&admin, Call::Post("/api/hold-history/query")).await;
    assert_eq!(status, 200, "{body}");

    // Released again: the user's access comes back on the other instance.
    for route in ["/resource", "/resource-history", "/hold-history"] {
        set_status(&admin, route, "released").await;
    }
    for call in resource {
        until_status(&user, call, 200).await;
    }
    until_status(&user, Call::Post("/api/resource/history/query"), 200).await;
    until_status(&user, Call::Post("/api/hold-history/query"), 200).await;
    assert!(nav_links(&user, "/resource").await);
}

async fn flip(app: &TestApp, tool: &str, state: &str) {
    let db = Database::connect_lazy(&Settings::for_tests(&app.database_url(), &[])).unwrap();
    simulate::set_tool_state(&db.request, tool, state, None, chrono::Utc::now())
        .await
        .expect("flip the tool");
    db.close().await;
}

/// Reads `events` until an equipment change naming `tool`.
async fn until_tool_changes(events: &mut Events, tool: &str, until: Instant) {
    loop {
        let change = events
            .next_named("equipment", until)
            .await
            .unwrap_or_else(|| panic!("no equipment event for {tool}"));
        let changed = change["changed"].as_array().unwrap();
        if changed.iter().any(|t| t["equipment_id"] == tool) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_event_stream_withholds_equipment_changes_while_the_pages_showing_them_are_dev() {
    let admin = TestApp::builder(Backend::Sqlite)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .start()
        .await;
    admin.login_as_admin().await;
    let user = admin.another_instance(&[]).await;
    user.login_as_user().await;
    let tools: Vec<String> = admin
        .factory
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .filter(|t| t.e10_state != "UDT")
        .map(|t| t.equipment_id.clone())
        .take(2)
        .collect();
    set_status(&admin, "/resource", "dev").await;
    set_status(&admin, "/", "dev").await;
    // The user's instance has seen it once its dedicated stream is refused.
    until_status(&user, Call::Get("/api/resource/status/stream"), 403).await;
    until_status(&user, Call::Get("/api/resource/status/summary"), 403).await;

    let response = user.get("/api/events").await;
    assert_eq!(response.status(), 200);
    let mut users = Events::new(response);
    let response = admin.get("/api/events").await;
    assert_eq!(response.status(), 200);
    let mut admins = Events::new(response);
    let until = Instant::now() + DEADLINE;

    // A change while hidden: the administrator's stream carries it, the user's does not.
    flip(&admin, &tools[0], "UDT").await;
    until_tool_changes(&mut admins, &tools[0], until).await;
    // Once the user's instance applied it too (its streams were offered it), released again.
    wait_until_user_instance_has(&user, &tools[0]).await;
    set_status(&admin, "/resource", "released").await;
    until_status(&user, Call::Get("/api/resource/status/stream"), 200).await;

    // The next change reaches the user as a `resync` (changes were withheld: reload the
    // whole status; judged when the stream handles the change, so it comes for the withheld
    // change or for this one), never as the withheld change itself.
    flip(&admin, &tools[1], "UDT").await;
    users.next_named("resync", until).await.expect("a resync");
    assert!(
        !users.seen.iter().any(|(name, _)| name == "equipment"),
        "{:?}",
        users.seen
    );
    // From then on changes flow as before.
    flip(&admin, &tools[0], "SBY").await;
    until_tool_changes(&mut users, &tools[0], until).await;
}

/// Waits until the user's instance serves `tool` in UDT (its own sync read the change, so its
/// streams were offered it).
async fn wait_until_user_instance_has(user: &TestApp, tool: &str) {
    let until = Instant::now() + DEADLINE;
    loop {
        let seen = user.state().equipment.current().is_some_and(|s| {
            s.tools
                .iter()
                .any(|t| t.equipment_id == tool && t.e10_state == "UDT")
        });
        if seen {
            return;
        }
        assert!(
            Instant::now() < until,
            "the user's instance never saw {tool} change"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads `events` until the server ends the stream; fails if it is still open at `until`.
async fn until_ended(events: &mut Events, until: Instant) {
    while events.next_block(until).await.is_some() {}
    assert!(
        events.ended,
        "the stream was still open at the deadline: {:?}",
        events.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_status_stream_of_a_user_ends_when_its_page_is_set_to_dev() {
    let admin = TestApp::builder(Backend::Sqlite)
        .env("EQUIPMENT_STATUS_SYNC_INTERVAL", "1")
        .start()
        .await;
    admin.login_as_admin().await;
    // A user on the same instance (the change is installed there at once) and one on another
    // instance (it learns of it by its registry's refresh).
    let here = admin.another_session();
    here.login_as_user().await;
    let there = admin.another_instance(&[]).await;
    there.login_as_user().await;
    let tool = admin
        .factory
        .as_ref()
        .unwrap()
        .tools
        .iter()
        .find(|t| t.e10_state != "UDT")
        .map(|t| t.equipment_id.clone())
        .unwrap();

    let mut streams = Vec::new();
    for app in [&admin, &here, &there] {
        let response = app.get("/api/resource/status/stream").await;
        assert_eq!(response.status(), 200);
        let mut events = Events::new(response);
        // The hello: the stream is open and its end condition armed.
        let first = events.next_block(Instant::now() + DEADLINE).await;
        assert!(first.is_some(), "no first event");
        streams.push(events);
    }
    set_status(&admin, "/resource", "dev").await;
    let until = Instant::now() + DEADLINE;
    until_ended(&mut streams[1], until).await;
    until_ended(&mut streams[2], until).await;
    // Reconnecting is refused; the administrator's stream goes on carrying changes.
    until_status(&there, Call::Get("/api/resource/status/stream"), 403).await;
    flip(&admin, &tool, "UDT").await;
    loop {
        let change = streams[0]
            .next_named("change", until)
            .await
            .expect("the administrator's stream carries the change");
        let changed = change["changed"].as_array().unwrap();
        if changed.iter().any(|t| t["equipment_id"] == tool.as_str()) {
            break;
        }
    }
    assert!(!streams[0].ended);
}
