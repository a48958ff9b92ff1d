use std::collections::BTreeSet;

use super::*;

fn keys(lang: Lang) -> BTreeSet<String> {
    CATALOGUES
        .iter()
        .filter(|(of, _, _)| *of == lang)
        .flat_map(|(_, _, source)| keys_of(source))
        .collect()
}

#[test]
fn both_languages_have_the_same_keys_and_every_file_is_listed() {
    let zh = keys(Lang::ZhTw);
    let en = keys(Lang::En);
    assert!(zh.len() > 150, "the catalogues were read ({})", zh.len());
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
    assert!(only_en.is_empty(), "missing in zh-TW: {only_en:?}");
    for lang in Lang::ALL {
        for key in keys(lang) {
            assert!(has(lang, &key), "{lang}: {key} is listed but not loaded");
        }
    }

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    for lang in Lang::ALL {
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join(lang.as_str()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = CATALOGUES
            .iter()
            .filter(|(of, _, _)| *of == lang)
            .map(|(_, name, _)| name.to_string())
            .collect();
        listed.sort();
        assert_eq!(on_disk, listed, "locales/{lang}: every file is embedded");
    }
}

#[test]
fn the_chinese_catalogue_is_chinese_and_the_english_one_english() {
    let han = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    // Messages that are a code, a unit or a placeholder read the same in both languages.
    let same = ["shell-dev-badge", "wip-status-RUN"];
    for (lang, _, source) in CATALOGUES {
        for key in keys_of(source) {
            let text = t(*lang, &key);
            let bare = text.contains("{ $") || text.trim_start().starts_with('{');
            match lang {
                Lang::En => assert!(!han(&text), "en {key}: {text}"),
                Lang::ZhTw if !bare && !same.contains(&key.as_str()) && key != "unit-seconds" => {
                    assert!(
                        han(&text) || text.chars().all(|c| !c.is_alphabetic()),
                        "zh-TW {key} is not Chinese: {text}"
                    );
                }
                Lang::ZhTw => {}
            }
        }
    }
}

#[test]
fn placeholders_are_filled_without_isolation_marks() {
    let text = t_args(Lang::ZhTw, "portal-welcome", &args([("name", "王小明")]));
    assert_eq!(text, "歡迎，王小明");
    let text = t_args(
        Lang::En,
        "hold-truncated",
        &args([("shown", 5), ("total", 9), ("max", 5)]),
    );
    assert_eq!(text, "Showing the 5 oldest of 9 held lots (at most 5).");
    assert!(!text.contains('\u{2068}') && !text.contains('\u{2069}'));
    assert_eq!(t(Lang::En, "no-such-key"), "no-such-key");
}

#[test]
fn language_tags_and_accept_language_are_read_as_browsers_send_them() {
    for (tag, want) in [
        ("zh-TW", Some(Lang::ZhTw)),
        ("zh-tw", Some(Lang::ZhTw)),
        ("zh-Hant-TW", Some(Lang::ZhTw)),
        ("zh", Some(Lang::ZhTw)),
        ("zh-CN", None),
        ("zh-Hans", None),
        ("en", Some(Lang::En)),
        ("en-GB", Some(Lang::En)),
        ("fr", None),
        ("", None),
    ] {
        assert_eq!(Lang::parse(tag), want, "{tag:?}");
    }
    assert_eq!(
        Lang::from_accept_language("fr-FR,fr;q=0.9,en-US;q=0.8,zh-TW;q=0.7"),
        Some(Lang::En)
    );
    assert_eq!(
        Lang::from_accept_language("zh-TW,zh;q=0.9,en;q=0.8"),
        Some(Lang::ZhTw)
    );
    assert_eq!(Lang::from_accept_language("en;q=0, de"), None);
    assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
    assert!("fr".parse::<Lang>().is_err());
}

#[test]
fn durations_read_as_days_and_hours_in_both_languages() {
    let minutes = |m: i64| m * 60;
    assert_eq!(
        duration(Lang::En, minutes(3 * 1440 + 4 * 60 + 59)),
        "3 d 4 h"
    );
    assert_eq!(
        duration(Lang::ZhTw, minutes(3 * 1440 + 4 * 60)),
        "3 天 4 小時"
    );
    assert_eq!(duration(Lang::En, minutes(5 * 60 + 12)), "5 h 12 m");
    assert_eq!(duration(Lang::ZhTw, minutes(5 * 60 + 12)), "5 小時 12 分");
    assert_eq!(duration(Lang::En, 7 * 60 + 59), "7 m");
    assert_eq!(duration(Lang::ZhTw, -30), "0 分", "never negative");
    // Exactly a day reads as days.
    assert_eq!(duration(Lang::En, 86_400), "1 d 0 h");
}
