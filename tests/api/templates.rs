//! Templates are HTML-safe: every value in a `<script>` goes through the HTML-safe `tojson`,
//! checked on the template sources and, with an HTML5 tokenizer, on rendered pages.

use html5gum::{DefaultEmitter, Token, Tokenizer};
use mes_dashboard::templates::{self, Layout, LayoutUser, NavItem};
use serde_json::{Value, json};

/// The values an attacker would try.
const TRICKY: &[&str] = &[
    "</script><script>alert(1)</script>",
    "<!--<script>",
    "</SCRIPT >",
    "\"double\" and 'single' quotes",
    "back\\slash\\",
    "line\u{2028}separator\u{2029}paragraph",
    "&amp; <b>",
    "${`template`}",
];

#[test]
fn no_template_interpolates_a_value_in_a_script_without_tojson() {
    let mut scripts = 0;
    for (name, source) in templates::SOURCES {
        let lower = source.to_ascii_lowercase();
        let mut at = 0;
        while let Some(open) = lower[at..].find("<script") {
            let start = at + open;
            let end = start
                + lower[start..]
                    .find("</script")
                    .unwrap_or_else(|| panic!("{name}: a <script> is never closed"));
            let body = &source[start..end];
            let mut rest = body;
            while let Some(i) = rest.find("{{") {
                let after = &rest[i + 2..];
                let close = after.find("}}").expect("an expression is closed");
                let expression = after[..close].trim();
                let last_filter = expression.rsplit('|').next().unwrap_or("").trim();
                assert!(
                    expression.contains('|') && last_filter.starts_with("tojson"),
                    "{name}: `{{{{ {expression} }}}}` is inside <script> without |tojson"
                );
                rest = &after[close + 2..];
            }
            scripts += 1;
            at = end + 1;
        }
        assert!(
            !source.contains("|safe"),
            "{name}: |safe bypasses escaping; use |tojson in scripts"
        );
    }
    assert!(scripts >= 3, "the walk found the scripts ({scripts})");
}

/// Every `<script>` element of `html`: (the raw text inside, whether it was closed properly).
fn script_texts(html: &str) -> Vec<String> {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for token in Tokenizer::new_with_emitter(html, emitter) {
        match token.unwrap() {
            Token::StartTag(tag) if tag.name.as_slice() == b"script" => {
                assert!(
                    current.is_none(),
                    "a <script> opened inside a script: {html}"
                );
                current = Some(String::new());
            }
            Token::EndTag(tag) if tag.name.as_slice() == b"script" => {
                out.push(current.take().expect("a </script> closes an open script"));
            }
            Token::String(text) => {
                if let Some(current) = current.as_mut() {
                    current.push_str(std::str::from_utf8(&text.value).unwrap());
                }
            }
            Token::StartTag(tag) => {
                assert!(
                    current.is_none(),
                    "a <{}> tag inside a script: the element broke",
                    String::from_utf8_lossy(&tag.name)
                );
            }
            _ => {}
        }
    }
    assert!(current.is_none(), "a script never ended: {html}");
    out
}

/// The JSON assigned in `window.<name> = …;` inside `script`.
fn assigned(script: &str, name: &str) -> Value {
    let marker = format!("window.{name} = ");
    let start = script
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {script}"))
        + marker.len();
    let end = start + script[start..].find(";\n").unwrap();
    serde_json::from_str(&script[start..end])
        .unwrap_or_else(|e| panic!("{e}: {}", &script[start..end]))
}

#[test]
fn values_rendered_into_script_elements_stay_data() {
    for value in TRICKY {
        let layout = Layout {
            title: value.to_string(),
            user: Some(LayoutUser {
                username: value.to_string(),
                display_name: value.to_string(),
                is_admin: true,
            }),
            csrf_token: Some(value.to_string()),
            nav: vec![NavItem {
                route: "/".into(),
                title: value.to_string(),
                status: "dev".into(),
            }],
            path: value.to_string(),
        };
        let pages = json!([{"route": value, "title": value, "status": "dev", "updated_by": value}]);
        let html = templates::render_string(
            "admin_pages.html",
            &layout,
            &json!({"pages": pages, "message": value}),
        )
        .unwrap();

        let scripts = script_texts(&html);
        assert_eq!(
            scripts.len(),
            2,
            "{value:?}: exactly the layout's and the page's scripts"
        );
        let mes = assigned(&scripts[0], "MES");
        assert_eq!(mes["path"], *value);
        assert_eq!(mes["user"], *value);
        assert_eq!(assigned(&scripts[1], "MES_PAGES"), pages, "{value:?}");
        for script in &scripts {
            assert!(!script.contains('\u{2028}') && !script.contains('\u{2029}'));
        }
        // Outside scripts, the value is text: never markup.
        assert!(!html.contains("<script>alert(1)"), "{html}");
    }
}

#[tokio::test]
async fn the_error_page_degraded_countdown_is_a_number_in_its_script() {
    let ctx = mes_dashboard::http::ErrorContext {
        code: mes_dashboard::http::ErrorCode::DbPoolExhausted,
        code_str: "DB_POOL_EXHAUSTED",
        message: "</script><script>alert(1)</script>".into(),
        detail: None,
        retry_after: Some(9),
    };
    let response = mes_dashboard::http::pages::error_page(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        &ctx,
        None,
    );
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8(bytes.to_vec()).unwrap();
    let scripts = script_texts(&html);
    assert_eq!(scripts.len(), 2);
    assert!(scripts[1].contains("var left = 9;"), "{}", scripts[1]);
}
