//! The production secret-key guard (DESIGN §4.1).
//!
//! In staging and production the process refuses to start when `SECRET_KEY` (or any entry of
//! `SECRET_KEY_FALLBACKS`) breaks one of the [`SecretRule`]s. Messages name the variable and the
//! broken rules and never contain any part of the key.

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::fmt;

use super::env::{Diagnostics, Reader};

pub const MIN_SECRET_CHARS: usize = 50;
pub const MIN_DISTINCT_CHARS: usize = 5;
pub const GENERATED_SECRET_CHARS: usize = 64;

/// The exact value `.env.example` ships for `SECRET_KEY`; it must never run in production.
pub const ENV_EXAMPLE_PLACEHOLDER: &str =
    "replace-me-with-the-output-of-mes-dashboard-gen-secret-0123456789";

const INSECURE_PREFIXES: &[&str] = &["insecure-", "django-insecure-", "dev-", "changeme"];

/// Values that are documentation, not secrets (compared case-insensitively).
const PLACEHOLDERS: &[&str] = &[
    ENV_EXAMPLE_PLACEHOLDER,
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "secret-key",
    "secret_key",
    "your-secret-key",
    "your_secret_key",
    "your-secret-key-here",
    "replace-me",
    "replaceme",
    "please-change-me",
    "default",
    "password",
    "xxx",
    "todo",
];

/// A rule a secret key can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRule {
    Missing,
    TooShort { chars: usize },
    TooFewDistinct,
    InsecurePrefix(&'static str),
    Placeholder,
}

impl fmt::Display for SecretRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "it is missing or empty"),
            Self::TooShort { chars } => write!(
                f,
                "it is shorter than {MIN_SECRET_CHARS} characters (it has {chars})"
            ),
            Self::TooFewDistinct => write!(
                f,
                "it has fewer than {MIN_DISTINCT_CHARS} distinct characters"
            ),
            Self::InsecurePrefix(p) => {
                write!(f, "it starts with the insecure prefix {p:?}")
            }
            Self::Placeholder => write!(
                f,
                "it is a documented placeholder (for example the value in .env.example), not a secret"
            ),
        }
    }
}

/// Trims the trailing newline a secret file or `echo` leaves behind; nothing else.
pub fn normalize(raw: &str) -> &str {
    raw.trim_end_matches(['\n', '\r'])
}

/// Every rule `value` breaks; empty means the key is acceptable.
pub fn check(value: Option<&str>) -> Vec<SecretRule> {
    let value = value.map(normalize).unwrap_or("");
    if value.trim().is_empty() {
        return vec![SecretRule::Missing];
    }
    let mut broken = Vec::new();
    let chars = value.chars().count();
    if chars < MIN_SECRET_CHARS {
        broken.push(SecretRule::TooShort { chars });
    }
    if value.chars().collect::<HashSet<_>>().len() < MIN_DISTINCT_CHARS {
        broken.push(SecretRule::TooFewDistinct);
    }
    let lower = value.to_ascii_lowercase();
    if let Some(prefix) = INSECURE_PREFIXES.iter().find(|p| lower.starts_with(*p)) {
        broken.push(SecretRule::InsecurePrefix(prefix));
    }
    let trimmed = lower.trim();
    if PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(trimmed)) {
        broken.push(SecretRule::Placeholder);
    }
    broken
}

/// A fresh random key that passes every rule (64 characters of `[A-Za-z0-9_-]`).
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    loop {
        let key: String = (0..GENERATED_SECRET_CHARS)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        if check(Some(&key)).is_empty() {
            return key;
        }
    }
}

/// A fresh random password of 16 letters and digits, for the development demo login.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

const HOW_TO_FIX: &str = "generate one with `mes-dashboard gen-secret` and set it in the \
environment of the service (never in a file that is committed)";

/// The signing keys of this process: the current one and previous ones still accepted.
#[derive(Clone)]
pub struct SecretKeys {
    pub current: SecretString,
    pub fallbacks: Vec<SecretString>,
    /// True when no key was configured and a random per-process key was made (development).
    pub generated: bool,
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &"[redacted]")
            .field("fallbacks", &self.fallbacks.len())
            .field("generated", &self.generated)
            .finish()
    }
}

impl SecretKeys {
    /// Every key in the order they are tried: current first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.current.expose_secret())
            .chain(self.fallbacks.iter().map(|k| k.expose_secret()))
    }
}

/// Reads `SECRET_KEY` and `SECRET_KEY_FALLBACKS`, enforcing the rules when `enforce` is set.
pub fn read(r: &mut Reader<'_>, enforce: bool, mode_name: &str) -> SecretKeys {
    let raw = r.untrimmed("SECRET_KEY").map(normalize);
    let fallbacks: Vec<String> = r
        .untrimmed("SECRET_KEY_FALLBACKS")
        .map(|v| {
            normalize(v)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();

    if enforce {
        report("SECRET_KEY", &check(raw), mode_name, r.diag);
        for (i, key) in fallbacks.iter().enumerate() {
            let var = format!("SECRET_KEY_FALLBACKS (entry {})", i + 1);
            report(&var, &check(Some(key)), mode_name, r.diag);
        }
    }

    let present = raw.filter(|v| !v.trim().is_empty());
    let generated = present.is_none();
    let current = match present {
        Some(v) => v.to_string(),
        None => {
            if !enforce {
                r.diag.warning(
                    "SECRET_KEY",
                    "not set; using a random key for this process only (sessions end when it \
                     restarts). Set one with `mes-dashboard gen-secret` to keep them.",
                );
            }
            generate()
        }
    };
    SecretKeys {
        current: SecretString::from(current),
        fallbacks: fallbacks.into_iter().map(SecretString::from).collect(),
        generated,
    }
}

fn report(variable: &str, broken: &[SecretRule], mode_name: &str, diag: &mut Diagnostics) {
    if broken.is_empty() {
        return;
    }
    let mut message = format!("refusing to start in {mode_name} mode because the key is weak:");
    for rule in broken {
        message.push_str("\n    - ");
        message.push_str(&rule.to_string());
    }
    message.push_str("\n    To fix it, ");
    message.push_str(HOW_TO_FIX);
    message.push_str(". The value is never printed.");
    diag.error(variable, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::EnvSource;

    fn random_chars(n: usize) -> String {
        generate().chars().cycle().take(n).collect()
    }

    #[test]
    fn a_generated_key_passes_every_rule() {
        let key = generate();
        assert_eq!(key.chars().count(), GENERATED_SECRET_CHARS);
        assert!(check(Some(&key)).is_empty());
        assert_ne!(key, generate(), "two generated keys must differ");
    }

    #[test]
    fn missing_empty_and_whitespace_keys_are_missing() {
        for value in [None, Some(""), Some("   "), Some("\n"), Some(" \t \r\n")] {
            assert_eq!(check(value), vec![SecretRule::Missing], "{value:?}");
        }
    }

    #[test]
    fn forty_nine_characters_are_too_short_and_fifty_are_enough() {
        let key = generate();
        let k49: String = key.chars().take(49).collect();
        let k50: String = key.chars().take(50).collect();
        assert_eq!(check(Some(&k49)), vec![SecretRule::TooShort { chars: 49 }]);
        assert!(check(Some(&k50)).is_empty());
    }

    #[test]
    fn a_long_key_with_four_distinct_characters_is_refused() {
        let key = "abcd".repeat(20);
        assert_eq!(check(Some(&key)), vec![SecretRule::TooFewDistinct]);
    }

    #[test]
    fn an_insecure_prefix_is_refused_even_before_strong_randomness() {
        for prefix in INSECURE_PREFIXES {
            let key = format!("{prefix}{}", random_chars(60));
            assert!(
                check(Some(&key)).contains(&SecretRule::InsecurePrefix(prefix)),
                "{prefix}"
            );
            let upper = key.to_ascii_uppercase();
            assert!(!check(Some(&upper)).is_empty(), "prefix check ignores case");
        }
    }

    #[test]
    fn placeholders_are_refused_including_the_env_example_value() {
        assert_eq!(
            check(Some(ENV_EXAMPLE_PLACEHOLDER)),
            vec![SecretRule::Placeholder]
        );
        assert!(check(Some("changeme")).contains(&SecretRule::Placeholder));
        let env_example = include_str!("../../.env.example");
        assert!(
            env_example.contains(&format!("SECRET_KEY={ENV_EXAMPLE_PLACEHOLDER}")),
            ".env.example must ship the placeholder the guard refuses"
        );
    }

    #[test]
    fn a_trailing_newline_is_trimmed() {
        let key = generate();
        assert!(check(Some(&format!("{key}\n"))).is_empty());
        assert!(check(Some(&format!("{key}\r\n"))).is_empty());
        let short = format!("{}\n", &key[..49]);
        assert_eq!(
            check(Some(&short)),
            vec![SecretRule::TooShort { chars: 49 }]
        );
    }

    #[test]
    fn every_broken_rule_is_listed_in_one_diagnostic_without_the_key() {
        let key = "dev-vvvvvvvv";
        let src = EnvSource::from_pairs([("SECRET_KEY", key)]);
        let mut diag = Diagnostics::default();
        read(&mut Reader::new(&src, &mut diag), true, "production");
        let errors: Vec<_> = diag.errors().collect();
        assert_eq!(errors.len(), 1);
        let text = errors[0].to_string();
        assert!(text.contains("SECRET_KEY"));
        assert!(text.contains("shorter than 50"));
        assert!(text.contains("distinct"));
        assert!(text.contains("insecure prefix"));
        assert!(text.contains("gen-secret"));
        assert!(!text.contains("vvvv"), "no fragment of the key is printed");
    }

    #[test]
    fn no_fragment_of_a_long_weak_key_appears_in_the_output() {
        let key = format!("django-insecure-{}", random_chars(60));
        let src = EnvSource::from_pairs([("SECRET_KEY", key.as_str())]);
        let mut diag = Diagnostics::default();
        read(&mut Reader::new(&src, &mut diag), true, "staging");
        let text = diag.to_string();
        assert!(text.contains("insecure prefix"));
        let body = &key["django-insecure-".len()..];
        for window in body.as_bytes().windows(8) {
            let fragment = std::str::from_utf8(window).unwrap();
            assert!(!text.contains(fragment), "fragment {fragment:?} leaked");
        }
    }

    #[test]
    fn weak_fallbacks_are_refused_by_position() {
        let good = generate();
        let fallbacks = format!("{},short", generate());
        let src = EnvSource::from_pairs([
            ("SECRET_KEY", good.as_str()),
            ("SECRET_KEY_FALLBACKS", fallbacks.as_str()),
        ]);
        let mut diag = Diagnostics::default();
        let keys = read(&mut Reader::new(&src, &mut diag), true, "production");
        let errors: Vec<_> = diag.errors().map(|d| d.variable.clone()).collect();
        assert_eq!(errors, ["SECRET_KEY_FALLBACKS (entry 2)"]);
        assert_eq!(keys.all().count(), 3);
    }

    #[test]
    fn development_without_a_key_gets_a_random_one_and_one_warning() {
        let src = EnvSource::default();
        let mut diag = Diagnostics::default();
        let a = read(&mut Reader::new(&src, &mut diag), false, "development");
        let b = read(
            &mut Reader::new(&src, &mut Diagnostics::default()),
            false,
            "development",
        );
        assert!(a.generated);
        assert_ne!(a.current.expose_secret(), b.current.expose_secret());
        assert_eq!(diag.warnings().count(), 1);
        assert!(!diag.has_errors());
    }
}
