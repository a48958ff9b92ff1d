//! Login, sessions and access: the JSON and HTML login, rotation, logout everywhere, sessions
//! shared by instances and surviving Redis, the rate limit, key rotation and the sweep.

use std::time::{Duration, Instant};

use mes_dashboard::routes::inventory;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    ADMIN, Backend, PrivateRedis, TEST_PASSWORD, TestApp, USER, assert_error, bare_client,
    csrf_token_of, json, redis_url, set_session_cookie,
};
use crate::on_both_backends;

on_both_backends!(
    login_rotates_the_session_and_logout_ends_it,
    one_session_works_on_two_instances_and_logout_reaches_the_other_within_a_second,
    the_login_limit_refuses_the_sixth_attempt_from_one_address,
);

async fn login_rotates_the_session_and_logout_ends_it(backend: Backend) {
    let app = TestApp::builder(backend).seed(None).start().await;

    let (status, body) = json(app.get("/api/auth/me").await).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");

    let anonymous = app
        .client
        .get(app.url("/api/auth/csrf"))
        .send()
        .await
        .unwrap();
    let first_cookie = set_session_cookie(&anonymous).expect("an anonymous session");
    let (_, body) = json(anonymous).await;
    let first_token = body["data"]["csrf_token"].as_str().unwrap().to_string();
    assert_ne!(
        csrf_token_of(&app.client, &app.url("/api/auth/csrf")).await,
        first_token,
        "each rendered token is masked afresh"
    );

    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-csrf-token", &first_token)
        .json(&json!({"username": ADMIN, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(cookie.contains("Max-Age=28"), "8 h lifetime: {cookie}");
    assert!(
        !cookie.contains("Secure"),
        "not Secure outside production: {cookie}"
    );
    let second_cookie = set_session_cookie(&response).unwrap();
    assert_ne!(second_cookie, first_cookie, "the session id is rotated");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["username"], ADMIN);
    assert_eq!(body["data"]["user"]["is_admin"], true);

    let (status, me) = json(app.get("/api/auth/me").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["user"]["mail"], "admin@example.com");

    // The anonymous session ended at login: its cookie is worth nothing now.
    let stale = bare_client()
        .get(app.url("/api/auth/me"))
        .header("cookie", &first_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);

    let before = app
        .state()
        .sessions
        .store
        .load(session_id(&second_cookie))
        .await
        .unwrap();
    let token = app.csrf_token().await;
    let (status, beat) = json(
        app.client
            .patch(app.url("/api/auth/heartbeat"))
            .header("x-csrf-token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{beat}");
    let extended: chrono::DateTime<chrono::Utc> = beat["data"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(extended >= before.unwrap().expires_at);

    let (status, _) = json(
        app.post_json_with_csrf("/api/auth/logout", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json(app.get("/api/auth/me").await).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    let row = mes_dashboard::db::sessions::get(
        &app.state().db.request,
        session_id(&second_cookie),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(row.is_none(), "the session row is gone");
}

/// The id part of `mes_session=<id>.<signature>`.
fn session_id(cookie: &str) -> &str {
    cookie
        .trim_start_matches("mes_session=")
        .split('.')
        .next()
        .unwrap()
}

#[tokio::test]
async fn bad_credentials_are_401_and_empty_fields_400() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let app = &app;
    let send = |body: serde_json::Value| async move {
        app.post_json_with_csrf("/api/auth/login", &body).await
    };
    let (status, body) = json(send(json!({"username": USER, "password": "nope"})).await).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    let (status, body) =
        json(send(json!({"username": "ghost", "password": TEST_PASSWORD})).await).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    let (status, body) = json(send(json!({"username": "", "password": "x"})).await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("username")
    );
    let (status, body) = json(send(json!({"username": USER, "password": ""})).await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password")
    );
}

async fn one_session_works_on_two_instances_and_logout_reaches_the_other_within_a_second(
    backend: Backend,
) {
    // Through the database alone, and (where it is configured) with a shared Redis too.
    let mut variants: Vec<Vec<(String, String)>> = vec![vec![]];
    if let Some(url) = redis_url("sessions across instances") {
        variants.push(vec![
            ("REDIS_URL".into(), url),
            (
                "REDIS_KEY_PREFIX".into(),
                format!("t{:x}", crate::helpers::rand_u64()),
            ),
        ]);
    }
    for env in variants {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut builder = TestApp::builder(backend);
        for (k, v) in &env {
            builder = builder.env(k, v);
        }
        let a = builder.start().await;
        let b = a.another_instance(&env).await;
        let cookie = login_with_jar(&a).await;

        let on_b = |path: &'static str| {
            let request = bare_client().get(b.url(path)).header("cookie", &cookie);
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(on_b("/api/wip/overview/summary").await, 200, "{env:?}");

        let token = {
            let (_, body) = json(
                bare_client()
                    .get(a.url("/api/auth/csrf"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            body["data"]["csrf_token"].as_str().unwrap().to_string()
        };
        let logout = bare_client()
            .post(a.url("/api/auth/logout"))
            .header("cookie", &cookie)
            .header("x-csrf-token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 200);
        let logged_out = Instant::now();
        while on_b("/api/wip/overview/summary").await != 401 {
            assert!(
                logged_out.elapsed() < Duration::from_secs(1),
                "the other instance still serves the session a second after logout ({env:?})"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn the_login_limit_refuses_the_sixth_attempt_from_one_address(backend: Backend) {
    let app = TestApp::builder(backend)
        .seed(None)
        .env("LOGIN_RATE_LIMIT", "5")
        .start()
        .await;
    for i in 0..5 {
        let (status, body) = json(
            app.post_json_with_csrf(
                "/api/auth/login",
                &json!({"username": USER, "password": "bad"}),
            )
            .await,
        )
        .await;
        assert_error(status, &body, 401, "UNAUTHORIZED");
        let _ = i;
    }
    let response = app
        .post_json_with_csrf(
            "/api/auth/login",
            &json!({"username": USER, "password": TEST_PASSWORD}),
        )
        .await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let (status, body) = json(response).await;
    assert_error(status, &body, 429, "TOO_MANY_REQUESTS");
    assert_eq!(body["meta"]["retry_after_seconds"], retry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_limit_is_shared_through_redis() {
    let Some(url) = redis_url("login limit through Redis") else {
        return;
    };
    let prefix = format!("t{:x}", crate::helpers::rand_u64());
    let env = [
        ("REDIS_URL", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let a = TestApp::builder(Backend::Sqlite)
        .seed(None)
        .env("LOGIN_RATE_LIMIT", "5")
        .env("REDIS_URL", &url)
        .env("REDIS_KEY_PREFIX", &prefix)
        .start()
        .await;
    let b = a.another_instance(&env).await;
    let bad = json!({"username": USER, "password": "bad"});
    for app in [&a, &a, &a, &b, &b] {
        let (status, _) = json(app.post_json_with_csrf("/api/auth/login", &bad).await).await;
        assert_eq!(status, 401);
    }
    let (status, body) = json(b.post_json_with_csrf("/api/auth/login", &bad).await).await;
    assert_error(status, &body, 429, "TOO_MANY_REQUESTS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_user_is_still_served_while_redis_is_stopped() {
    let mut redis = PrivateRedis::start().await;
    let app = TestApp::builder(Backend::Sqlite)
        .env("REDIS_URL", &redis.url())
        .env("SESSION_CACHE_MS", "100")
        .start()
        .await;
    app.login_as_user().await;
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 200);
    assert!(app.state().redis.available());

    redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;

    for _ in 0..3 {
        let (status, body) = json(app.get("/api/wip/overview/summary").await).await;
        assert_eq!(status, 200, "served without Redis: {body}");
    }
    let (status, _) = json(
        app.post_json_with_csrf("/api/auth/logout", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "logout works without Redis");
    assert_eq!(app.get("/api/wip/overview/summary").await.status(), 401);
    assert!(!app.state().redis.available());
}

#[tokio::test]
async fn the_api_needs_a_session_and_pages_redirect_to_the_login() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let router = mes_dashboard::routes::router().with_state(app.state().clone());
    let routes = inventory::routes(router).await;
    // The static files are public: the login page needs its style sheet and scripts.
    let public = [
        "/api/auth/csrf",
        "/admin/login",
        "/admin/logout",
        "/static/{*path}",
        "/favicon.ico",
    ];
    let mut checked = 0;
    for route in routes.iter().filter(|r| r.method == Method::GET) {
        if public.contains(&route.pattern.as_str())
            || ["/health", "/health/live"].contains(&route.pattern.as_str())
            // "Admin or loopback" (DESIGN §3.0): this test's client is a loopback peer, so
            // /metrics answers it; tests/api/metrics.rs covers who is refused.
            || route.pattern == "/metrics"
        {
            continue;
        }
        let response = app.get(&route.path).await;
        if mes_dashboard::http::is_json_path(&route.path) {
            let (status, body) = json(response).await;
            assert_error(status, &body, 401, "UNAUTHORIZED");
        } else {
            assert_eq!(response.status(), 303, "GET {}", route.pattern);
            let location = response.headers()["location"].to_str().unwrap();
            assert!(location.starts_with("/admin/login?next=%2F"), "{location}");
        }
        checked += 1;
    }
    assert!(
        checked >= 7,
        "the walk found the protected routes ({checked})"
    );

    // Administrators only: a regular user gets 403 (JSON) or the 403 page.
    app.login_as_user().await;
    let admin_json: Vec<_> = routes
        .iter()
        .filter(|r| r.method == Method::GET)
        .filter(|r| r.pattern.starts_with("/admin/api/") || r.pattern == "/health/deep")
        .collect();
    assert!(admin_json.len() >= 5, "admin routes found: {admin_json:?}");
    for route in admin_json {
        let (status, body) = json(app.get(&route.path).await).await;
        assert_error(status, &body, 403, "FORBIDDEN");
    }
    let page = app.get("/admin/pages").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("沒有權限"));
}

#[tokio::test]
async fn the_login_form_logs_in_and_goes_to_a_local_next_only() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let page = app.get("/admin/login?next=/wip-overview").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let token = hidden_field(&html, "csrf_token");
    assert!(html.contains(r#"<meta name="csrf-token""#));
    assert_eq!(hidden_field(&html, "next"), "/wip-overview");

    let post = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/admin/login"))
            .form(&fields)
            .send()
    };
    let wrong = post(vec![
        ("csrf_token", token.clone()),
        ("username", USER.into()),
        ("password", "bad".into()),
        ("next", "/wip-overview".into()),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("wrong username or password"), "{html}");

    let missing = post(vec![
        ("username", USER.into()),
        ("password", TEST_PASSWORD.into()),
    ])
    .await
    .unwrap();
    assert_eq!(missing.status(), 403);
    assert!(missing.headers().get("set-cookie").is_none());
    assert!(missing.text().await.unwrap().contains("重新載入表單"));

    let ok = post(vec![
        ("csrf_token", hidden_field(&html, "csrf_token")),
        ("username", USER.into()),
        ("password", TEST_PASSWORD.into()),
        ("next", "//evil.example/x".into()),
    ])
    .await
    .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(
        ok.headers()["location"],
        "/",
        "a foreign next goes to the portal"
    );
    let portal = app.get("/").await;
    assert_eq!(portal.status(), 200);
    let html = portal.text().await.unwrap();
    assert!(
        html.contains("在製品總覽") && html.contains("設備歷史"),
        "{html}"
    );
    assert!(
        !html.contains("/admin/pages"),
        "no admin link for a regular user"
    );

    // Logging out through the page ends the session.
    let logout_page = app.get("/admin/logout").await.text().await.unwrap();
    let out = app
        .client
        .post(app.url("/admin/logout"))
        .form(&[("csrf_token", hidden_field(&logout_page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(app.get("/").await.status(), 303);
}

/// The value of the hidden input `name` in `html`.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()]
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn sessions_survive_a_secret_key_rotation_through_the_fallbacks() {
    let old = mes_dashboard::config::secret::generate();
    let new = mes_dashboard::config::secret::generate();
    let a = TestApp::builder(Backend::Sqlite)
        .seed(None)
        .env("SECRET_KEY", &old)
        .start()
        .await;
    let cookie = login_with_jar(&a).await;

    let rotated = a
        .another_instance(&[("SECRET_KEY", &new), ("SECRET_KEY_FALLBACKS", &old)])
        .await;
    let response = bare_client()
        .get(rotated.url("/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reissued = set_session_cookie(&response).expect("re-issued under the new key");
    assert_eq!(session_id(&reissued), session_id(&cookie), "same session");
    assert_ne!(reissued, cookie, "new signature");

    let without = a.another_instance(&[("SECRET_KEY", &new)]).await;
    let response = bare_client()
        .get(without.url("/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "a key that is gone signs nothing");
}

/// Logs the test user in with a cookie-less client; the `mes_session=…` pair.
pub async fn login_with_jar(app: &TestApp) -> String {
    let http = bare_client();
    let anonymous = http.get(app.url("/api/auth/csrf")).send().await.unwrap();
    let cookie = set_session_cookie(&anonymous).unwrap();
    let (_, body) = json(anonymous).await;
    let response = http
        .post(app.url("/api/auth/login"))
        .header("cookie", &cookie)
        .header("x-csrf-token", body["data"]["csrf_token"].as_str().unwrap())
        .json(&json!({"username": USER, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    set_session_cookie(&response).unwrap()
}

#[tokio::test]
async fn expired_sessions_are_swept_in_the_background() {
    let app = TestApp::builder(Backend::Sqlite)
        .seed(None)
        .env("SESSION_CLEANUP_INTERVAL", "1")
        .start()
        .await;
    let pool = &app.state().db.request;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    mes_dashboard::db::sessions::insert(pool, "expired-one", "{}", past)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let left: i64 = mes_dashboard::with_conn!(pool, |c| sqlx::query_scalar(
            "SELECT count(*) FROM sessions WHERE id = 'expired-one'"
        )
        .fetch_one(&mut *c))
        .unwrap();
        if left == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not swept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, hooks) = app.shutdown().await;
    assert!(hooks.hooks.iter().any(|h| h.name == "session_sweeper"));
    assert!(hooks.clean(), "{hooks:?}");
}

/// Failed logins are limited per user name as well as per address: after
/// `LOGIN_FAILURE_LIMIT_PER_USER` failures that name is refused (even with the right
/// password) until the window ends; successes do not count, and other names are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_user_name() {
    let app = TestApp::builder(Backend::Sqlite)
        .seed(None)
        .env("LOGIN_FAILURE_LIMIT_PER_USER", "3")
        .start()
        .await;
    let login = |user: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.post_json_with_csrf(
                "/api/auth/login",
                &json!({"username": user, "password": password}),
            )
            .await
        }
    };
    // Successes do not count.
    for _ in 0..5 {
        assert_eq!(login(USER, TEST_PASSWORD).await.status(), 200);
    }
    for _ in 0..3 {
        assert_eq!(login(USER, "bad").await.status(), 401);
    }
    let response = login(USER, TEST_PASSWORD).await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let (status, body) = json(response).await;
    assert_error(status, &body, 429, "TOO_MANY_REQUESTS");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user name")
    );

    assert_eq!(
        login(crate::helpers::ADMIN, TEST_PASSWORD).await.status(),
        200
    );
}

on_both_backends!(without_redis_the_login_limits_are_shared_through_the_database);

/// Two instances (or two workers) without Redis share one count through the database: before,
/// each process counted on its own and 9–10 attempts passed instead of 5.
async fn without_redis_the_login_limits_are_shared_through_the_database(backend: Backend) {
    let a = TestApp::builder(backend)
        .seed(None)
        .env("LOGIN_RATE_LIMIT", "5")
        .env("LOGIN_FAILURE_LIMIT_PER_USER", "10000")
        .start()
        .await;
    let b = a.another_instance(&[]).await;
    let bad = json!({"username": USER, "password": "bad"});
    for app in [&a, &a, &a, &b, &b] {
        let (status, _) = json(app.post_json_with_csrf("/api/auth/login", &bad).await).await;
        assert_eq!(status, 401);
    }
    for app in [&a, &b] {
        let (status, body) = json(app.post_json_with_csrf("/api/auth/login", &bad).await).await;
        assert_error(status, &body, 429, "TOO_MANY_REQUESTS");
    }

    // The per-user failure count too, from both instances.
    let c = TestApp::builder(backend)
        .seed(None)
        .env("LOGIN_FAILURE_LIMIT_PER_USER", "3")
        .start()
        .await;
    let d = c.another_instance(&[]).await;
    for app in [&c, &d, &c] {
        let (status, _) = json(app.post_json_with_csrf("/api/auth/login", &bad).await).await;
        assert_eq!(status, 401);
    }
    let good = json!({"username": USER, "password": TEST_PASSWORD});
    let (status, body) = json(d.post_json_with_csrf("/api/auth/login", &good).await).await;
    assert_error(status, &body, 429, "TOO_MANY_REQUESTS");
}
