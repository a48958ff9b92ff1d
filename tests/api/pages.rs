//! The page registry from both sides: the JSON API with `X-CSRF-Token` and the admin page's
//! form with `csrf_token`; `dev` pages are for administrators only.

use serde_json::json;

use crate::auth::hidden_field;
use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::on_both_backends;

on_both_backends!(an_admin_changes_a_page_status_through_the_api_and_the_form);

async fn an_admin_changes_a_page_status_through_the_api_and_the_form(backend: Backend) {
    let admin = TestApp::builder(backend).seed(None).start().await;
    admin.login_as_admin().await;
    // A user of the same instance: the change applies there at once (another instance sees it
    // within its registry's refresh, `dev_pages.rs`).
    let user = admin.another_session();
    user.login_as_user().await;

    let (status, body) = json(admin.get("/admin/api/pages").await).await;
    assert_eq!(status, 200, "{body}");
    let pages = body["data"].as_array().unwrap();
    let routes: Vec<_> = pages.iter().map(|p| p["route"].as_str().unwrap()).collect();
    assert_eq!(
        routes,
        [
            "/",
            "/wip-overview",
            "/wip-detail",
            "/hold-overview",
            "/hold-detail",
            "/resource",
            "/qc-gate",
            "/resource-history",
            "/hold-history",
            "/job-query"
        ]
    );
    assert!(pages.iter().all(|p| p["status"] == "released"));
    // The migration registered exactly the catalog's report pages.
    let stored = mes_dashboard::db::pages::list(&admin.state().db.request)
        .await
        .unwrap();
    let mut stored: Vec<_> = stored.iter().map(|p| p.route.clone()).collect();
    let mut catalog: Vec<_> = mes_dashboard::routes::catalog::PAGES
        .iter()
        .filter(|p| p.registered)
        .map(|p| p.route.to_string())
        .collect();
    stored.sort();
    catalog.sort();
    assert_eq!(stored, catalog);

    // The API: validated, stored, audited.
    let (status, body) = json(
        admin
            .put_json_with_csrf("/admin/api/pages/hold-overview", &json!({"status": "dev"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "dev");
    assert_eq!(body["data"]["updated_by"], "admin");
    let (status, body) = json(
        admin
            .put_json_with_csrf(
                "/admin/api/pages/hold-overview",
                &json!({"status": "hidden"}),
            )
            .await,
    )
    .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    let (status, body) = json(
        admin
            .put_json_with_csrf("/admin/api/pages/nowhere", &json!({"status": "dev"}))
            .await,
    )
    .await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, body) = json(
        user.put_json_with_csrf(
            "/admin/api/pages/hold-overview",
            &json!({"status": "released"}),
        )
        .await,
    )
    .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let audit =
        mes_dashboard::db::audit::recent(&admin.state().db.request, Some("page.status"), 10)
            .await
            .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target.as_deref(), Some("/hold-overview"));

    // A dev page leaves the users' navigation; the portal itself in dev is a 403 page for them.
    let portal = user.get("/").await.text().await.unwrap();
    assert!(!portal.contains("暫停（Hold）總覽"), "{portal}");
    let portal = admin.get("/").await.text().await.unwrap();
    assert!(
        portal.contains("暫停（Hold）總覽") && portal.contains("開發中"),
        "{portal}"
    );
    let (status, _) = json(
        admin
            .put_json_with_csrf("/admin/api/pages/%2F", &json!({"status": "dev"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let page = user.get("/").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("in development"));
    assert_eq!(admin.get("/").await.status(), 200);

    // The form: the page's hidden token, a redirect back, the change stored.
    let html = admin.get("/admin/pages").await.text().await.unwrap();
    let token = hidden_field(&html, "csrf_token");
    let response = admin
        .client
        .post(admin.url("/admin/pages"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("route", "/hold-overview"),
            ("status", "released"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin/pages");
    let (_, body) = json(admin.get("/admin/api/pages").await).await;
    let hold = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["route"] == "/hold-overview")
        .unwrap()
        .clone();
    assert_eq!(hold["status"], "released");

    let forged = admin
        .client
        .post(admin.url("/admin/pages"))
        .form(&[("route", "/resource"), ("status", "dev")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("重新載入表單"));
}
