//! Templates are HTML-safe and CSP-clean: every value in a `<script>` goes through the
//! HTML-safe `tojson`, checked on the template sources and, with an HTML5 tokenizer, on
//! rendered pages; no template holds an inline script, style or event handler; and every
//! word a person reads comes from the catalogue (`t(…)`), in both languages.

use html5gum::{DefaultEmitter, Token, Tokenizer};
use mes_dashboard::i18n::{self, Lang};
use mes_dashboard::templates::{self, Layout, LayoutUser, NavGroup, NavItem};
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
            // The element's content: its attributes (`src="{{ asset(…) }}"`) are HTML.
            let body = &source[start + lower[start..].find('>').unwrap()..end];
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

#[test]
fn values_rendered_into_script_elements_stay_data() {
    for value in TRICKY {
        let mut layout = Layout::bare(value.to_string(), Lang::En, "Asia/Taipei");
        layout.user = Some(LayoutUser {
            username: value.to_string(),
            display_name: value.to_string(),
            is_admin: true,
        });
        layout.csrf_token = Some(value.to_string());
        layout.nav = vec![NavGroup {
            title: value.to_string(),
            current: false,
            items: vec![NavItem {
                route: "/".into(),
                title: value.to_string(),
                description: value.to_string(),
                status: "dev".into(),
            }],
        }];
        layout.path = value.to_string();
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
            4,
            "{value:?}: the layout's configuration, the client and live scripts, the page's data"
        );
        let config: Value = serde_json::from_str(&scripts[0]).unwrap();
        assert_eq!(config["lang"], "en");
        assert_eq!(config["time_zone"], "Asia/Taipei");
        assert!(scripts[1].is_empty(), "the client script is a file");
        assert!(scripts[2].is_empty(), "the live script is a file");
        let data: Value = serde_json::from_str(&scripts[3]).unwrap();
        assert_eq!(data, pages, "{value:?}");
        for script in &scripts {
            assert!(!script.contains('\u{2028}') && !script.contains('\u{2029}'));
        }
        // Outside scripts, the value is text: never markup.
        assert!(!html.contains("<script>alert(1)"), "{html}");
    }
}

#[tokio::test]
async fn the_error_page_countdown_reads_a_number_from_an_attribute() {
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
        Lang::ZhTw,
        "Asia/Taipei",
    );
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8(bytes.to_vec()).unwrap();
    let scripts = script_texts(&html);
    assert_eq!(scripts.len(), 3, "configuration, client, countdown");
    assert!(html.contains("data-retry-after=\"9\""), "{html}");
    let countdown = mes_dashboard::assets::url("js/pages/error.js").unwrap();
    assert!(
        html.contains(&format!("<script src=\"{countdown}\">")),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
}

/// The template sources without their `{{ … }}`, `{% … %}` and `{# … #}` parts.
fn without_expressions(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    loop {
        let next = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| rest.find(open).map(|at| (at, *open)))
            .min();
        let Some((at, open)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let after = &rest[at + 2..];
        let end = after.find(close).expect("an expression is closed");
        // A placeholder that keeps attribute values and text apart from their neighbours.
        out.push(' ');
        rest = &after[end + 2..];
    }
}

/// Words that may stand in a template as they are: the brand, units and technical names
/// that read the same in every language.
const LITERAL_OK: &[&str] = &[
    "MES Dashboard",
    "HTTP",
    "PID",
    "Redis",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "ms",
];

fn shows_words(text: &str) -> Option<String> {
    let mut rest = text.to_string();
    for ok in LITERAL_OK {
        rest = rest.replace(ok, " ");
    }
    rest.chars()
        .any(char::is_alphabetic)
        .then(|| text.trim().to_string())
}

#[test]
fn every_word_a_template_shows_comes_from_the_catalogue() {
    let mut found = Vec::new();
    for (name, source) in templates::SOURCES {
        let bare = without_expressions(source);
        let mut emitter = DefaultEmitter::default();
        emitter.naively_switch_states(true);
        let mut in_script = false;
        for token in Tokenizer::new_with_emitter(bare.as_str(), emitter) {
            match token.unwrap() {
                Token::StartTag(tag) => {
                    in_script = tag.name.as_slice() == b"script" || tag.name.as_slice() == b"style";
                    for attribute in ["title", "alt", "placeholder", "aria-label"] {
                        if let Some(value) = tag.attributes.get(attribute.as_bytes()) {
                            let value = String::from_utf8_lossy(value);
                            if let Some(words) = shows_words(&value) {
                                found.push(format!("{name}: {attribute}=\"{words}\""));
                            }
                        }
                    }
                }
                Token::EndTag(_) => in_script = false,
                Token::String(text) if !in_script => {
                    let text = String::from_utf8_lossy(&text.value);
                    if let Some(words) = shows_words(&text) {
                        found.push(format!("{name}: \"{words}\""));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(
        found.is_empty(),
        "text not from t(…):\n{}",
        found.join("\n")
    );
    // The check sees what it claims to see.
    assert!(shows_words(" Log in ").is_some());
    assert!(shows_words(" 登入 ").is_some());
    assert!(shows_words(" — 12 % · MES Dashboard ").is_none());
}

#[test]
fn no_template_holds_an_inline_script_style_or_handler() {
    for (name, source) in templates::SOURCES {
        let lower = source.to_ascii_lowercase();
        for (at, _) in lower.match_indices("<script") {
            let tag = &lower[at..at + lower[at..].find('>').unwrap()];
            assert!(
                tag.contains(" src=") || tag.contains("type=\"application/json\""),
                "{name}: an inline script ({tag}>) breaks script-src 'self'"
            );
        }
        assert!(!lower.contains("<style"), "{name}: a <style> element");
        assert!(!lower.contains(" style="), "{name}: a style attribute");
        assert!(
            !lower.contains(" onclick=") && !lower.contains(" onload="),
            "{name}: a handler"
        );
    }
}

/// The keys a template names: `t('key'…)`, and for `t('prefix-' ~ value)` every value the
/// pages pass.
fn template_keys() -> Vec<String> {
    let expansions: &[(&str, &[&str])] = &[
        ("wip-status-", &["RUN", "QUEUE", "HOLD"]),
        ("e10-", &["PRD", "SBY", "UDT", "SDT", "EGT", "NST"]),
        ("health-", &["healthy", "degraded", "unhealthy", "unknown"]),
        ("admin-pages-status-", &["released", "dev"]),
        (
            "res-filter-",
            &[
                "workcenter_group",
                "location",
                "family",
                "package_group",
                "production",
                "key",
                "monitored",
            ],
        ),
        ("hold-type-", &["all", "quality", "non-quality"]),
    ];
    let mut keys = Vec::new();
    for (_, source) in templates::SOURCES {
        for (at, _) in source.match_indices("t('") {
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // asset('…') and the like
            }
            let rest = &source[at + 3..];
            let key = &rest[..rest.find('\'').unwrap()];
            if rest[key.len() + 1..].trim_start().starts_with('~') {
                let (_, values) = expansions
                    .iter()
                    .find(|(prefix, _)| *prefix == key)
                    .unwrap_or_else(|| panic!("no expansion listed for t('{key}' ~ …)"));
                keys.extend(values.iter().map(|v| format!("{key}{v}")));
            } else {
                keys.push(key.to_string());
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn every_key_exists_in_both_languages() {
    let keys = template_keys();
    assert!(keys.len() > 100, "the walk found the keys ({})", keys.len());
    for lang in Lang::ALL {
        let missing: Vec<_> = keys.iter().filter(|k| !i18n::has(lang, k)).collect();
        assert!(missing.is_empty(), "{lang}: {missing:?}");
    }
}
