//! The page platform (PRODUCT §1): static files from the binary under hashed names with
//! immutable caching, the strict Content-Security-Policy on every page, zh-TW by default and
//! English by choice (`?lang=`, the `lang` cookie, `Accept-Language`, `DEFAULT_LANGUAGE`), and
//! `error.message` in the request's language with the codes unchanged.

use reqwest::header;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_error, bare_client, json};

/// The `href`/`src` of the first tag in `html` that contains `marker`.
fn url_in(html: &str, marker: &str, attribute: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"));
    let tag = &html[html[..at].rfind('<').unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    let start = tag
        .find(&format!("{attribute}=\""))
        .unwrap_or_else(|| panic!("no {attribute} in {tag}"))
        + attribute.len()
        + 2;
    tag[start..start + tag[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn static_files_are_hashed_cached_for_a_year_and_unknown_names_are_not_found() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let login = app.get("/admin/login").await.text().await.unwrap();
    let css = url_in(&login, "rel=\"stylesheet\"", "href");
    assert!(
        css.starts_with("/static/css/app.") && css.ends_with(".css") && css.len() == 28,
        "a hashed name: {css}"
    );

    let response = app.get(&css).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    assert!(response.text().await.unwrap().contains(".api-banner"));

    let again = bare_client()
        .get(app.url(&css))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "revalidation by ETag");

    let script = url_in(&login, "/static/js/api.", "src");
    let js = app.get(&script).await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );

    for unknown in [
        "/static/css/app.css",
        "/static/css/app.00000000.css",
        "/static/nothing.js",
    ] {
        assert_eq!(app.get(unknown).await.status(), 404, "{unknown}");
    }

    let icon = app.get("/favicon.ico").await;
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
    assert!(login.contains("rel=\"icon\" type=\"image/svg+xml\""));
}

#[tokio::test]
async fn every_page_has_the_strict_policy_and_no_inline_script_or_style() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut pages = vec![("/admin/login".to_string(), app.get("/admin/login").await)];
    app.login_as_admin().await;
    for path in [
        "/",
        "/wip-overview",
        "/hold-overview",
        "/resource",
        "/resource-history",
        "/admin/pages",
        "/admin/performance",
        "/admin/logout",
        "/no-such-page",
    ] {
        pages.push((path.to_string(), app.get(path).await));
    }
    for (path, response) in pages {
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        for rule in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{path}: {rule} in {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<header class=\"shell\">"),
            "{path}: the shell"
        );
        for (at, _) in html.match_indices("<script") {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            assert!(
                tag.contains(" src=\"/static/") || tag.contains("type=\"application/json\""),
                "{path}: inline script {tag}"
            );
        }
        assert!(
            !html.contains("<style") && !html.contains(" style=\""),
            "{path}"
        );
    }
}

#[tokio::test]
async fn pages_speak_chinese_by_default_and_english_when_asked_and_remember_it() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let html = app.get("/admin/login").await.text().await.unwrap();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"zh-TW\">"),
        "{html}"
    );
    assert!(
        html.contains("<h1>登入</h1>") && html.contains("帳號"),
        "{html}"
    );

    // ?lang=en switches and sets the cookie; the cookie keeps it.
    let switched = app.get("/admin/login?lang=en").await;
    let cookie = switched.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("lang=en;") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let html = switched.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("<h1>Log in</h1>"));
    let html = app.get("/admin/login").await.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">"),
        "the cookie remembers English"
    );
    let html = app
        .get("/admin/login?lang=zh-TW")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"zh-TW\">"));

    // Accept-Language, for a client without the cookie.
    let english = bare_client()
        .get(app.url("/admin/login"))
        .header(header::ACCEPT_LANGUAGE, "fr-FR, en-US;q=0.8, zh-TW;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(
        english
            .headers()
            .get(header::SET_COOKIE)
            .is_none_or(|c| { !c.to_str().unwrap().starts_with("lang=") })
    );
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));

    // DEFAULT_LANGUAGE decides when the request says nothing.
    let other = app.another_instance(&[("DEFAULT_LANGUAGE", "en")]).await;
    let html = bare_client()
        .get(other.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn error_messages_follow_the_language_and_keep_codes_and_names() {
    let app = TestApp::builder(Backend::Sqlite).seed(None).start().await;
    let ask = |lang: &'static str, path: &'static str| {
        bare_client()
            .get(app.url(path))
            .header(header::ACCEPT_LANGUAGE, lang)
            .send()
    };
    let (status, body) = json(ask("zh-TW", "/api/wip/overview/summary").await.unwrap()).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("尚未登入"), "{message}");
    let (status, body) = json(ask("en", "/api/wip/overview/summary").await.unwrap()).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("log in first")
    );

    // ?lang= works on an API too: the routes' strict query parsers never see it.
    let (status, body) = json(
        ask("zh-TW", "/api/hold-overview/lots?lang=en")
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("log in first")
    );

    // A refused state change names the header to send, in both languages.
    for (lang, words) in [("zh-TW", "權杖"), ("en", "CSRF token")] {
        let response = bare_client()
            .post(app.url("/api/auth/logout"))
            .header(header::ACCEPT_LANGUAGE, lang)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_error(status, &body, 403, "CSRF_TOKEN_MISSING");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("X-CSRF-Token") && message.contains(words),
            "{lang}: {message}"
        );
    }

    // The page of an error speaks the language too.
    let html = ask("zh-TW", "/no-such-page")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("找不到頁面"), "{html}");
}
