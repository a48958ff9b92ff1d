//! Logging: tracing with an env filter, text in development and JSON elsewhere, written through
//! a redacting writer so no log line carries a database password or a secret key.
//!
//! Redaction is done on the formatted line, not at each call site, because the text that leaks
//! is usually not ours (a driver's error message quoting a connection string). Every known
//! secret value is replaced, and so is the password of any `scheme://user:password@host` URL.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::RwLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, Settings};

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

const MASK: &str = "***";

/// Adds values that must never appear in a log line (shorter than 4 characters are ignored:
/// masking them would garble ordinary words).
pub fn register_secrets(values: impl IntoIterator<Item = String>) {
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for v in values {
        if v.len() >= 4 && !secrets.contains(&v) {
            secrets.push(v);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(settings: &Settings) {
    register_secrets(settings.secret_values());
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStdout);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

/// Masks every registered secret and every URL password in `line`.
pub fn redact(line: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    redact_with(line, &secrets)
}

pub fn redact_with<'a>(line: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(line);
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    if out.contains("://")
        && let Some(masked) = mask_url_passwords(&out)
    {
        out = Cow::Owned(masked);
    }
    out
}

/// Replaces `password` in every `scheme://user:password@` of `text`; `None` when nothing changed.
fn mask_url_passwords(text: &str) -> Option<String> {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        result.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at && &authority[colon + 1..at] != MASK => {
                result.push_str(&authority[..=colon]);
                result.push_str(MASK);
                result.push_str(&authority[at..]);
                changed = true;
            }
            _ => result.push_str(authority),
        }
        rest = &tail[end..];
    }
    result.push_str(rest);
    changed.then_some(result)
}

/// Standard output behind [`redact`].
#[derive(Clone, Copy)]
pub struct RedactingStdout;

impl<'a> MakeWriter<'a> for RedactingStdout {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

pub struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = redact(&text);
        io::stdout().lock().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_url_passwords_are_masked() {
        let secrets = vec!["hunter2-long".to_string()];
        let line = r#"connect to postgres://mes:p4ss@db:5432/mes failed; key hunter2-long"#;
        let clean = redact_with(line, &secrets);
        assert!(!clean.contains("p4ss"));
        assert!(!clean.contains("hunter2-long"));
        assert!(clean.contains("postgres://mes:***@db:5432/mes"));
    }

    #[test]
    fn lines_without_secrets_are_not_copied() {
        let clean = redact_with("GET /api/wip 200", &["secret-value".to_string()]);
        assert!(matches!(clean, Cow::Borrowed(_)));
        let url = redact_with("see https://example.com/x", &[]);
        assert!(matches!(url, Cow::Borrowed(_)));
    }

    #[test]
    fn a_password_with_at_signs_is_masked_whole() {
        let clean = redact_with("redis://:a@b@cache:6379/0 down", &[]);
        assert_eq!(clean, "redis://:***@cache:6379/0 down");
    }
}
