//! Reading typed values out of an environment map while collecting every problem.
//!
//! The reader never stops at the first bad value: each getter records a [`Diagnostic`] naming
//! the variable and returns the default, so start-up can report all problems at once.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A snapshot of the variables configuration is read from.
///
/// Production builds it from the process environment (plus `.env` in development); tests build
/// it from pairs in code and never touch the process environment.
#[derive(Debug, Clone, Default)]
pub struct EnvSource {
    vars: HashMap<String, String>,
}

impl EnvSource {
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The process environment; variables whose value is not UTF-8 are skipped here and
    /// reported by the reader as unreadable when asked for.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os().filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            let v = v.into_string().unwrap_or_else(|_| NOT_UTF8.to_string());
            Some((k, v))
        }))
    }

    /// Adds variables that are not already set (a `.env` file never overrides the environment).
    pub fn fill_missing(&mut self, pairs: impl IntoIterator<Item = (String, String)>) {
        for (k, v) in pairs {
            self.vars.entry(k).or_insert(v);
        }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.insert(key.to_string(), value.to_string());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }
}

/// Marker for a variable whose value was not valid UTF-8.
const NOT_UTF8: &str = "\u{0}<not utf-8>";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One configuration finding, always naming the variable it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub variable: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}: {}", self.variable, self.message)
    }
}

/// Every finding of one configuration load.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, variable: &str, message: impl Into<String>) {
        self.push(Severity::Error, variable, message.into());
    }

    pub fn warning(&mut self, variable: &str, message: impl Into<String>) {
        self.push(Severity::Warning, variable, message.into());
    }

    fn push(&mut self, severity: Severity, variable: &str, message: String) {
        self.items.push(Diagnostic {
            severity,
            variable: variable.to_string(),
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Typed getters over an [`EnvSource`] that record problems instead of failing.
pub struct Reader<'a> {
    src: &'a EnvSource,
    pub diag: &'a mut Diagnostics,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a EnvSource, diag: &'a mut Diagnostics) -> Self {
        Self { src, diag }
    }

    /// The raw value; an empty or whitespace-only value counts as unset.
    pub fn raw(&mut self, key: &str) -> Option<&'a str> {
        let value = self.src.get(key)?;
        if value == NOT_UTF8 {
            self.diag.error(key, "the value is not valid UTF-8");
            return None;
        }
        let trimmed = value.trim();
        (!trimmed.is_empty()).then_some(trimmed)
    }

    /// The raw value without trimming (secrets keep their inner whitespace).
    pub fn untrimmed(&self, key: &str) -> Option<&'a str> {
        self.src.get(key).filter(|v| *v != NOT_UTF8)
    }

    pub fn string(&mut self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or(default).to_string()
    }

    pub fn optional(&mut self, key: &str) -> Option<String> {
        self.raw(key).map(str::to_string)
    }

    pub fn parse<T>(&mut self, key: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|e| {
                self.diag
                    .error(key, format!("cannot parse {v:?}: {e}; using the default"));
                default
            }),
        }
    }

    /// An integer within `min..=max`.
    pub fn int(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let value = self.parse::<u64>(key, default);
        if value < min || value > max {
            self.diag.error(
                key,
                format!("{value} is out of range; it must be between {min} and {max}"),
            );
            return default;
        }
        value
    }

    /// A fraction within `min..=max`.
    pub fn float(&mut self, key: &str, default: f64, min: f64, max: f64) -> f64 {
        let value = self.parse::<f64>(key, default);
        if !(min..=max).contains(&value) {
            self.diag.error(
                key,
                format!("{value} is out of range; it must be between {min} and {max}"),
            );
            return default;
        }
        value
    }

    pub fn seconds(&mut self, key: &str, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_secs(self.int(key, default, min, max))
    }

    pub fn millis(&mut self, key: &str, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.int(key, default, min, max))
    }

    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.raw(key).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.diag.error(
                    key,
                    format!("{other:?} is not a boolean; use true or false"),
                );
                default
            }
        }
    }

    /// A comma-separated list; empty items are dropped.
    pub fn list(&mut self, key: &str) -> Vec<String> {
        self.raw(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One of a fixed set of lower-case words.
    pub fn choice<'c>(&mut self, key: &str, default: &'c str, choices: &[&'c str]) -> &'c str {
        let Some(value) = self.raw(key) else {
            return default;
        };
        let lower = value.to_ascii_lowercase();
        match choices.iter().find(|c| **c == lower) {
            Some(c) => c,
            None => {
                self.diag.error(
                    key,
                    format!("{value:?} is not one of: {}", choices.join(", ")),
                );
                default
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_reported_and_defaults_are_kept() {
        let src = EnvSource::from_pairs([("A", "x"), ("B", "99"), ("C", "maybe")]);
        let mut diag = Diagnostics::default();
        let mut r = Reader::new(&src, &mut diag);
        assert_eq!(r.int("A", 5, 1, 10), 5);
        assert_eq!(r.int("B", 5, 1, 10), 5);
        assert!(r.bool("C", true));
        assert_eq!(r.int("MISSING", 7, 1, 10), 7);
        let vars: Vec<_> = diag.errors().map(|d| d.variable.as_str()).collect();
        assert_eq!(vars, ["A", "B", "C"]);
    }

    #[test]
    fn empty_values_count_as_unset_and_lists_drop_blanks() {
        let src = EnvSource::from_pairs([("E", "  "), ("L", "a, ,b,")]);
        let mut diag = Diagnostics::default();
        let mut r = Reader::new(&src, &mut diag);
        assert_eq!(r.optional("E"), None);
        assert_eq!(r.list("L"), ["a", "b"]);
        assert!(!diag.has_errors());
    }
}
