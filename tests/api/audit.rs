//! The audit log store on both backends.

use mes_dashboard::db::audit::{self, NewEntry};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(audit_entries_are_recorded_and_listed_newest_first);

async fn audit_entries_are_recorded_and_listed_newest_first(backend: Backend) {
    let app = TestApp::builder(backend).seed(None).start().await;
    let pool = &app.state().db.request;
    for (i, action) in ["page.status", "worker.restart", "page.status"]
        .iter()
        .enumerate()
    {
        audit::record(
            pool,
            &NewEntry {
                actor: "admin.lee",
                ip: Some("10.0.0.5"),
                action,
                target: Some("/wip-overview"),
                detail: json!({"n": i, "reason": "quote ' and \" and </script>"}),
            },
        )
        .await
        .unwrap();
    }

    let all = audit::recent(pool, None, 10).await.unwrap();
    let pages = audit::recent(pool, Some("page.status"), 10).await.unwrap();

    assert_eq!(all.len(), 3);
    assert_eq!(all[0].detail_json()["n"], 2, "newest first");
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|e| e.action == "page.status"));
    assert_eq!(
        all[2].detail_json()["reason"],
        "quote ' and \" and </script>"
    );
}
