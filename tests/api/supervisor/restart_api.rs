//! The admin restart API against a real supervisor: 200 / 429 / 400 / 409 by the policy (409
//! for any request while blocked that is not an acknowledged override, 400 only for an
//! acknowledged override without a valid reason), the history and audit it leaves, its
//! survival across a supervisor restart, and SIGTERM.

use std::time::Duration;

use serde_json::{Value, json};

use super::{BIN, Site, Supervisor, fresh_client};
use crate::helpers::{assert_error, json as body};

async fn restart(sup: &Supervisor, request: Value) -> (u16, Value, Option<String>) {
    let response = fresh_client()
        .post(sup.url("/admin/api/worker/restart"))
        .header("cookie", &sup.cookie)
        .header("x-csrf-token", &sup.csrf)
        .json(&request)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, value) = body(response).await;
    (status, value, retry_after)
}

fn override_with(reason: &str) -> Value {
    json!({"manual_override": true, "override_acknowledged": true, "override_reason": reason})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restart_api_follows_the_policy_and_the_record_survives_a_supervisor_restart() {
    let site = Site::new().await;
    let env = [
        ("WORKER_RESTART_RETRY_BUDGET", "2"),
        ("SHUTDOWN_HOOK_TIMEOUT", "2"),
    ];
    let mut sup = site.start(BIN.as_ref(), 1, &env).await;

    // Allowed: 200, and generation 2 replaces generation 1.
    let (status, answer, _) = restart(&sup, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["decision"], "allowed");
    assert_eq!(
        answer["data"]["entry"]["requested_by"],
        crate::helpers::ADMIN
    );
    assert_eq!(answer["data"]["entry"]["ip"], "127.0.0.1");
    sup.wait_for("generation 2", Duration::from_secs(60), |s| {
        s["generation"] == 2 && s["reload_in_progress"] == false
    })
    .await;

    // Cooldown: 429 with Retry-After.
    let (status, answer, retry_after) = restart(&sup, json!({})).await;
    assert_error(status, &answer, 429, "TOO_MANY_REQUESTS");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");

    // An override that is not acknowledged is refused by the cooldown; an acknowledged one
    // with a blank reason is malformed: 400.
    let (status, answer, _) = restart(&sup, json!({"manual_override": true})).await;
    assert_error(status, &answer, 429, "TOO_MANY_REQUESTS");
    let (status, answer, _) = restart(&sup, override_with("  ")).await;
    assert_error(status, &answer, 400, "RESTART_OVERRIDE_REASON_REQUIRED");
    // Malformed input gets the envelope too.
    let (status, answer, _) = restart(&sup, json!({"manual_override": "yes"})).await;
    assert_error(status, &answer, 400, "VALIDATION_ERROR");

    // A complete override passes the cooldown: 200; two restarts reach the budget of 2.
    let (status, answer, _) = restart(&sup, override_with("pool leak after the failover")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["decision"], "allowed_override");
    assert_eq!(answer["data"]["policy"]["state"], "blocked", "{answer}");
    sup.wait_for("generation 3", Duration::from_secs(60), |s| {
        s["generation"] == 3 && s["reload_in_progress"] == false
    })
    .await;

    // Blocked (guarded mode): 409, even though the cooldown would also apply — for every
    // request that is not an acknowledged override; 400 only for an acknowledged override
    // whose reason is missing or too long.
    for request in [
        json!({}),
        json!({"manual_override": true}),
        json!({"manual_override": true, "override_reason": "pool leak"}),
    ] {
        let (status, answer, _) = restart(&sup, request.clone()).await;
        assert_eq!(status, 409, "{request}: {answer}");
        assert_error(status, &answer, 409, "RESTART_POLICY_BLOCKED");
    }
    for request in [
        json!({"manual_override": true, "override_acknowledged": true}),
        override_with(&"x".repeat(501)),
    ] {
        let (status, answer, _) = restart(&sup, request.clone()).await;
        assert_eq!(status, 400, "{answer}");
        assert_error(status, &answer, 400, "RESTART_OVERRIDE_REASON_REQUIRED");
    }

    // Workers see the supervisor's history with its next snapshot: wait for the tenth entry.
    let status = sup
        .wait_for("ten history entries", Duration::from_secs(30), |s| {
            s["history"].as_array().is_some_and(|h| h.len() == 10)
        })
        .await;
    assert_eq!(status["policy"]["state"], "blocked");
    assert_eq!(status["policy"]["churn_exceeded"], true);
    assert_eq!(status["policy"]["attempts_in_window"], 2);
    assert_eq!(
        status["recovery_recommendation"]["action"],
        "throttle_and_investigate_queries"
    );
    // The health probe reports the same policy state and churn.
    let health: Value = fresh_client()
        .get(sup.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["resilience"]["policy_state"], "blocked", "{health}");
    assert_eq!(
        health["resilience"]["restart_policy"]["churn_exceeded"],
        true
    );
    assert_eq!(
        health["resilience"]["recovery_recommendation"]["action"],
        "throttle_and_investigate_queries"
    );
    let decisions: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "rejected_reason_required",
            "rejected_reason_required",
            "rejected_blocked",
            "rejected_blocked",
            "rejected_blocked",
            "allowed_override",
            "rejected_reason_required",
            "rejected_cooldown",
            "rejected_cooldown",
            "allowed"
        ]
    );
    let overridden = &status["history"][5];
    assert_eq!(overridden["reason"], "pool leak after the failover");
    assert_eq!(overridden["manual_override"], true);

    // Every decision is in the audit log (the database took them all).
    let audit = fresh_client()
        .get(sup.url("/admin/api/audit?action=worker.restart&limit=50"))
        .header("cookie", &sup.cookie)
        .send()
        .await
        .unwrap();
    let (code, audit) = body(audit).await;
    assert_eq!(code, 200, "{audit}");
    let entries = audit["data"]["entries"].as_array().unwrap();
    let rejected = entries
        .iter()
        .filter(|e| e["detail"]["phase"] == "rejected")
        .count();
    let completed = entries
        .iter()
        .filter(|e| e["detail"]["phase"] == "completed")
        .count();
    assert_eq!((rejected, completed), (8, 2), "{audit}");
    assert!(entries.iter().all(|e| e["store"] == "database"));

    // SIGTERM: every worker drains, exit 0 within GRACEFUL_TIMEOUT plus the hooks' bound.
    sup.signal("TERM");
    let (exit, took) = sup.wait_exit(Duration::from_secs(40));
    assert!(exit.success(), "{exit}; logs:\n{}", sup.logs());
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(!site.runtime().join("mes-dashboard.pid").exists());

    // A new supervisor on the same runtime directory remembers the history and the policy.
    let sup = site.start(BIN.as_ref(), 1, &env).await;
    let status = sup.try_status().await.unwrap();
    assert_eq!(status["policy"]["state"], "blocked", "{status}");
    assert_eq!(status["history"].as_array().unwrap().len(), 10);
    let (status, answer, _) = restart(&sup, json!({})).await;
    assert_error(status, &answer, 409, "RESTART_POLICY_BLOCKED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_the_status_shows_one_process_and_a_restart_is_refused() {
    let app = crate::helpers::TestApp::builder(crate::helpers::Backend::Sqlite)
        .seed(None)
        .start()
        .await;
    app.login_as_admin().await;
    let (code, status) = body(app.get("/admin/api/worker/status").await).await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["data"]["mode"], "in_process");
    assert_eq!(status["data"]["workers"][0]["pid"], std::process::id());
    assert_eq!(status["data"]["policy"]["state"], "allowed");

    let (code, answer) = body(
        app.post_json_with_csrf("/admin/api/worker/restart", &json!({}))
            .await,
    )
    .await;
    assert_error(code, &answer, 409, "RESTART_NOT_SUPERVISED");

    let (code, system) = body(app.get("/admin/api/system-status").await).await;
    assert_eq!(code, 200, "{system}");
    let data = &system["data"];
    assert_eq!(data["checks"]["database"]["status"], "ok", "{system}");
    assert_eq!(data["circuit_breaker"]["state"], "closed");
    assert_eq!(data["pools"].as_array().unwrap().len(), 3);
    assert_eq!(data["workers"]["mode"], "in_process");
    assert_eq!(data["resilience"]["policy_state"], "allowed");
    assert_eq!(
        data["resilience"]["restart_policy"]["workers"]["mode"],
        "in_process"
    );
    assert_eq!(data["resilience"]["restart_churn"]["exceeded"], false);
}
