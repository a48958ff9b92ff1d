//! Languages: zh-TW (the plant's, the default) and English (PRODUCT §1), with Fluent.
//!
//! The catalogues are `locales/<lang>/*.ftl`, embedded at compile time and parsed once. Every
//! text a person reads comes from them: page labels (the templates' `t("key", name=value)`),
//! the client script's strings, CSV headers and the envelope's `error.message`. Codes, field
//! names and data (reason names, workcenter names) are never translated.
//!
//! `fluent-bundle` alone (not `fluent-templates`): two languages, compiled in, need no loader,
//! file watcher or fallback chain. Bidi isolation marks are off: both languages are
//! left-to-right, and the marks would end up inside CSV cells and JSON messages.
//!
//! Which language a request gets is decided in the HTTP layer
//! (`http/middleware/language.rs`): `?lang=`, then the `lang` cookie, then `Accept-Language`,
//! then `DEFAULT_LANGUAGE`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use serde::{Serialize, Serializer};

pub use fluent_bundle::FluentValue;

/// A language the dashboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Traditional Chinese as written in Taiwan.
    #[default]
    ZhTw,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhTw, Lang::En];

    /// The BCP 47 tag, as in `<html lang>`, `?lang=` and the cookie.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZhTw => "zh-TW",
            Self::En => "en",
        }
    }

    /// A language tag as people and browsers write it: `zh-TW`, `zh-tw`, `zh-Hant`,
    /// `zh-Hant-TW`, `zh` → zh-TW; `en`, `en-US`, `en-GB` → English. Anything else is none.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("zh") {
            // Simplified Chinese is not ours to offer as Traditional.
            let simplified = tag.split(['-', '_']).skip(1).any(|s| {
                s.eq_ignore_ascii_case("hans")
                    || s.eq_ignore_ascii_case("cn")
                    || s.eq_ignore_ascii_case("sg")
            });
            (!simplified).then_some(Lang::ZhTw)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first language of an `Accept-Language` header we speak, by its `q` weights (a
    /// `q=0` entry is refused, not chosen).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(lang, _)| lang)
    }

    fn index(self) -> usize {
        match self {
            Self::ZhTw => 0,
            Self::En => 1,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::parse(s).ok_or_else(|| format!("{s:?} is not a supported language (zh-TW, en)"))
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Every catalogue file (language, file name, source), embedded. A test checks the list
/// against the `locales/` folder and that both languages have the same keys.
pub const CATALOGUES: &[(Lang, &str, &str)] = &[
    (
        Lang::ZhTw,
        "shell.ftl",
        include_str!("../../locales/zh-TW/shell.ftl"),
    ),
    (
        Lang::ZhTw,
        "pages.ftl",
        include_str!("../../locales/zh-TW/pages.ftl"),
    ),
    (
        Lang::ZhTw,
        "errors.ftl",
        include_str!("../../locales/zh-TW/errors.ftl"),
    ),
    (
        Lang::ZhTw,
        "wip.ftl",
        include_str!("../../locales/zh-TW/wip.ftl"),
    ),
    (
        Lang::ZhTw,
        "hold.ftl",
        include_str!("../../locales/zh-TW/hold.ftl"),
    ),
    (
        Lang::ZhTw,
        "equipment.ftl",
        include_str!("../../locales/zh-TW/equipment.ftl"),
    ),
    (
        Lang::ZhTw,
        "qc.ftl",
        include_str!("../../locales/zh-TW/qc.ftl"),
    ),
    (
        Lang::En,
        "shell.ftl",
        include_str!("../../locales/en/shell.ftl"),
    ),
    (
        Lang::En,
        "pages.ftl",
        include_str!("../../locales/en/pages.ftl"),
    ),
    (
        Lang::En,
        "errors.ftl",
        include_str!("../../locales/en/errors.ftl"),
    ),
    (
        Lang::En,
        "wip.ftl",
        include_str!("../../locales/en/wip.ftl"),
    ),
    (
        Lang::En,
        "hold.ftl",
        include_str!("../../locales/en/hold.ftl"),
    ),
    (
        Lang::En,
        "equipment.ftl",
        include_str!("../../locales/en/equipment.ftl"),
    ),
    (Lang::En, "qc.ftl", include_str!("../../locales/en/qc.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<[Bundle; 2]> = LazyLock::new(|| Lang::ALL.map(bundle));

fn bundle(lang: Lang) -> Bundle {
    let id = lang
        .as_str()
        .parse()
        .expect("the language tags are valid identifiers");
    let mut bundle = Bundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    for (of, name, source) in CATALOGUES {
        if *of != lang {
            continue;
        }
        let resource = FluentResource::try_new((*source).to_string()).unwrap_or_else(|(_, e)| {
            panic!("locales/{lang}/{name} does not parse: {e:?}");
        });
        bundle
            .add_resource(resource)
            .unwrap_or_else(|e| panic!("locales/{lang}/{name}: {e:?}"));
    }
    bundle
}

/// The message `key` in `lang`. A missing key shows as the key itself (a test keeps every
/// key used by the templates and the code in both catalogues).
pub fn t(lang: Lang, key: &str) -> Cow<'static, str> {
    format(lang, key, None)
}

/// The message `key` in `lang` with its `{ $name }` placeholders filled.
pub fn t_args(lang: Lang, key: &str, args: &FluentArgs<'_>) -> String {
    format(lang, key, Some(args)).into_owned()
}

/// Arguments for [`t_args`] from `(name, value)` pairs.
pub fn args<'a, I, V>(pairs: I) -> FluentArgs<'a>
where
    I: IntoIterator<Item = (&'a str, V)>,
    V: Into<FluentValue<'a>>,
{
    let mut out = FluentArgs::new();
    for (name, value) in pairs {
        out.set(name, value);
    }
    out
}

fn format(lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> Cow<'static, str> {
    let bundle: &'static Bundle = &BUNDLES[lang.index()];
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return Cow::Owned(key.to_string());
    };
    let mut errors = Vec::new();
    bundle.format_pattern(pattern, args, &mut errors)
}

/// A duration as people read it (PRODUCT §1, "3 d 4 h"; zh-TW "3 天 4 小時"): days and hours
/// from a day on, hours and minutes from an hour on, else minutes, whole units rounded down;
/// the words are the catalogue's `duration-*` (the page script's `MES.fmt.duration` uses the
/// same words and rule).
pub fn duration(lang: Lang, seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if d > 0 {
        t_args(
            lang,
            "duration-days-hours",
            &args([("days", d), ("hours", h)]),
        )
    } else if h > 0 {
        t_args(
            lang,
            "duration-hours-minutes",
            &args([("hours", h), ("minutes", m)]),
        )
    } else {
        t_args(lang, "duration-minutes", &args([("minutes", m)]))
    }
}

/// Whether `key` exists in `lang`.
pub fn has(lang: Lang, key: &str) -> bool {
    BUNDLES[lang.index()].has_message(key)
}

/// The message keys of one catalogue source, in order (for the tests that compare the two
/// languages): a message starts at the beginning of a line with `identifier =`; comments,
/// terms (`-name`) and continuation lines (indented) are not messages.
pub fn keys_of(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split_once('=').map(|(key, _)| key.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests;
