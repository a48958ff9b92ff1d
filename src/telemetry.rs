//! Logging: tracing with an env filter, text in development and JSON elsewhere.
//!
//! Lines are formatted on the request thread and handed to a dedicated writer thread
//! (tracing-appender's non-blocking writer), which masks secrets and writes them to standard
//! output in batches: a request never waits on the terminal or the log collector. Redaction is
//! done on the formatted line, not at each call site, because the text that leaks is usually
//! not ours (a driver's error quoting a connection string): every registered secret is
//! replaced, and so is the password of any `scheme://user:password@host` URL.
//!
//! The access log (one line per request) has a path of its own: a line is appended to a shared
//! batch under a short lock, and a second writer thread writes the batch every
//! [`ACCESS_FLUSH_INTERVAL`] as one write (redacted the same way). Handing each line to the
//! channel above cost a copy, a channel message, often a wake-up of the writer thread and a
//! write system call per request: at tens of thousands of requests a second, more CPU than the
//! rest of the request path. Access lines therefore reach standard output up to that interval
//! after the lines logged around them. Beyond [`ACCESS_BATCH_LIMIT`] bytes waiting (standard
//! output blocked), lines are dropped and counted, never waited for.

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use memchr::memmem::Finder;
use parking_lot::{Condvar, Mutex, RwLock};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

const MASK: &str = "***";

/// Searchers for every value that must never appear in a log line.
static SECRETS: RwLock<Vec<(String, Finder<'static>)>> = RwLock::new(Vec::new());

/// The writer thread's channel, for lines formatted outside tracing (the access log).
static SINK: OnceLock<NonBlocking> = OnceLock::new();
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// How long an access line waits, at most, before its batch is written.
pub const ACCESS_FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// Bytes of access lines that may wait; beyond, lines are dropped (and counted).
pub const ACCESS_BATCH_LIMIT: usize = 4 << 20;

/// The access lines waiting for the access writer thread.
struct AccessBatch {
    lines: Mutex<Vec<u8>>,
    /// Signalled when the batch stops being empty, and at shutdown.
    filled: Condvar,
    dropped: AtomicU64,
}

static ACCESS: AccessBatch = AccessBatch {
    lines: Mutex::new(Vec::new()),
    filled: Condvar::new(),
    dropped: AtomicU64::new(0),
};
/// Set at shutdown: the access writer writes what is left and ends.
static ACCESS_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static ACCESS_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps the writer threads alive; dropping it flushes every pending line. Hold it until the
/// process ends.
pub struct LogGuard {
    access: Option<std::thread::JoinHandle<()>>,
    _worker: WorkerGuard,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        ACCESS_CLOSED.store(true, Ordering::Release);
        {
            let _lines = ACCESS.lines.lock();
            ACCESS.filled.notify_all();
        }
        if let Some(thread) = self.access.take() {
            let _ = thread.join();
        }
    }
}

/// Adds values that must never appear in a log line (shorter than 4 characters are ignored:
/// masking them would garble ordinary words).
pub fn register_secrets(values: impl IntoIterator<Item = String>) {
    let mut secrets = SECRETS.write();
    for v in values {
        if v.len() >= 4 && !secrets.iter().any(|(s, _)| *s == v) {
            let finder = Finder::new(v.as_bytes()).into_owned();
            secrets.push((v, finder));
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
}

/// Installs the global subscriber and the writer thread; `None` when a subscriber already
/// exists (tests).
pub fn init(settings: &Settings) -> Option<LogGuard> {
    register_secrets(settings.secret_values());
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, worker) = NonBlockingBuilder::default()
        .buffered_lines_limit(64 * 1024)
        .thread_name("mes-log-writer")
        .finish(RedactingStdout::new());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer.clone());
    let installed = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
    installed.ok()?;
    let _ = SINK.set(writer);
    let _ = FORMAT.set(settings.log_format);
    let access = std::thread::Builder::new()
        .name("mes-access-log".into())
        .spawn(write_access_batches)
        .ok();
    ACCESS_STARTED.store(access.is_some(), Ordering::Release);
    Some(LogGuard {
        access,
        _worker: worker,
    })
}

/// Appends one complete access line (ending in `\n`) to the batch the access writer thread
/// writes; dropped when logging is not initialized, counted when the batch is full.
pub fn write_access_line(line: &[u8]) {
    if !ACCESS_STARTED.load(Ordering::Relaxed) {
        return;
    }
    let mut lines = ACCESS.lines.lock();
    if lines.len() + line.len() > ACCESS_BATCH_LIMIT {
        drop(lines);
        ACCESS.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let was_empty = lines.is_empty();
    lines.extend_from_slice(line);
    drop(lines);
    if was_empty {
        ACCESS.filled.notify_one();
    }
}

/// The access writer thread: waits for a line, lets the batch gather for
/// [`ACCESS_FLUSH_INTERVAL`], then writes it whole.
fn write_access_batches() {
    let mut out = io::stdout();
    let mut batch = Vec::with_capacity(64 * 1024);
    loop {
        let closed = {
            let mut lines = ACCESS.lines.lock();
            while lines.is_empty() && !ACCESS_CLOSED.load(Ordering::Acquire) {
                ACCESS.filled.wait(&mut lines);
            }
            ACCESS_CLOSED.load(Ordering::Acquire)
        };
        if !closed {
            std::thread::sleep(ACCESS_FLUSH_INTERVAL);
        }
        std::mem::swap(&mut *ACCESS.lines.lock(), &mut batch);
        if !batch.is_empty() {
            let _ = write_redacted(&mut out, &batch).and_then(|()| out.flush());
            batch.clear();
            // A batch that grew large once keeps no more than 1 MiB between bursts.
            batch.shrink_to(1 << 20);
        }
        if closed && ACCESS.lines.lock().is_empty() {
            return;
        }
    }
}

/// Writes `buf` (whole lines) to `out` with every secret masked.
fn write_redacted(out: &mut impl Write, buf: &[u8]) -> io::Result<()> {
    if needs_redaction(buf) {
        let text = String::from_utf8_lossy(buf);
        out.write_all(redact(&text).as_bytes())
    } else {
        // The common case: nothing to mask, no copy, no UTF-8 pass.
        out.write_all(buf)
    }
}

/// The format lines formatted outside tracing must follow.
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or(LogFormat::Json)
}

/// Lines the writer threads dropped because their buffers were full (the writers never make a
/// request wait: under extreme load they drop instead, and this counts it).
pub fn dropped_log_lines() -> u64 {
    let access = ACCESS.dropped.load(Ordering::Relaxed);
    SINK.get().map_or(access, |sink| {
        access + sink.error_counter().dropped_lines() as u64
    })
}

/// Whether `line` contains a registered secret or a URL (which may carry a password).
fn needs_redaction(line: &[u8]) -> bool {
    if memchr::memmem::find(line, b"://").is_some() {
        return true;
    }
    let secrets = SECRETS.read();
    secrets
        .iter()
        .any(|(_, finder)| finder.find(line).is_some())
}

/// Masks every registered secret and every URL password in `line`.
pub fn redact(line: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read();
    redact_with(line, &secrets)
}

fn redact_with<'a>(line: &'a str, secrets: &[(String, Finder<'static>)]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(line);
    for (secret, finder) in secrets {
        if finder.find(out.as_bytes()).is_some() {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    if memchr::memmem::find(out.as_bytes(), b"://").is_some()
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

/// Standard output behind [`redact`], buffered: the writer thread flushes whenever it has
/// nothing more to write.
pub struct RedactingStdout {
    out: BufWriter<WholeWrites>,
}

/// Standard output written a whole buffer at a time under its lock, so the two writer threads'
/// lines never interleave within a line.
struct WholeWrites;

impl Write for WholeWrites {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

impl RedactingStdout {
    fn new() -> Self {
        Self {
            out: BufWriter::with_capacity(64 * 1024, WholeWrites),
        }
    }
}

impl Write for RedactingStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_redacted(&mut self.out, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finders(values: &[&str]) -> Vec<(String, Finder<'static>)> {
        values
            .iter()
            .map(|v| (v.to_string(), Finder::new(v.as_bytes()).into_owned()))
            .collect()
    }

    #[test]
    fn known_secrets_and_url_passwords_are_masked() {
        let secrets = finders(&["hunter2-long"]);
        let line = r#"connect to postgres://mes:p4ss@db:5432/mes failed; key hunter2-long"#;
        let clean = redact_with(line, &secrets);
        assert!(!clean.contains("p4ss"));
        assert!(!clean.contains("hunter2-long"));
        assert!(clean.contains("postgres://mes:***@db:5432/mes"));
    }

    #[test]
    fn lines_without_secrets_are_not_copied() {
        let clean = redact_with("GET /api/wip 200", &finders(&["secret-value"]));
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
