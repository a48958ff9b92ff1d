//! Script errors and Content-Security-Policy violations, seen from inside the page and from
//! the browser's console.
//!
//! Two sources, because each misses something the other sees:
//! - listeners installed through the DevTools protocol (`Page.addScriptToEvaluateOnNewDocument`,
//!   sent through chromedriver's CDP bridge) run in every document before any of its own
//!   scripts, so they catch a violation or an error of the very first inline script. They keep
//!   what they see in `window.__mesProblems` and, so that a navigation (a form post, a redirect)
//!   loses nothing, in the tab's `sessionStorage`.
//! - chromedriver's browser log (`goog:loggingPrefs`): every console error, including the ones
//!   of a page that was left before anyone looked.

use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

/// The listeners, run in every new document before its own scripts.
pub const LISTENERS: &str = r#"(function () {
  if (window.__mesProblems) { return; }
  var problems = window.__mesProblems = [];
  function note(text) {
    problems.push(text);
    try {
      var kept = JSON.parse(window.sessionStorage.getItem('__mesProblems') || '[]');
      kept.push(text + ' (on ' + location.href + ')');
      window.sessionStorage.setItem('__mesProblems', JSON.stringify(kept));
    } catch (e) { /* no storage on this origin (about:blank, data:): the array keeps it */ }
  }
  // Capture phase: script errors reach the window, and so do failed loads of a <script>,
  // <link> or <img>, which do not bubble.
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      note('failed to load <' + t.tagName.toLowerCase() + '> ' + (t.src || t.href || ''));
    } else {
      note('script error: ' + e.message + ' at ' + e.filename + ':' + e.lineno + ':' + e.colno);
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    var r = e.reason;
    note('unhandled rejection: ' + (r && (r.stack || r.message) || String(r)));
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    note('CSP violation (' + e.disposition + '): ' + e.effectiveDirective + ' blocked ' +
      (e.blockedURI || '?') + ' at ' + (e.sourceFile || '?') + ':' + e.lineNumber +
      (e.sample ? ' sample: ' + e.sample : ''));
  });
})();"#;

/// Takes (and clears) what the listeners saw on this origin since the last look. Also lets
/// the page finish a task first, so an unhandled rejection of the last task is reported.
const TAKE: &str = r#"var done = arguments[arguments.length - 1];
setTimeout(function () { setTimeout(function () {
  var seen = (window.__mesProblems || []).slice();
  if (window.__mesProblems) { window.__mesProblems.length = 0; }
  try {
    var kept = window.sessionStorage.getItem('__mesProblems');
    window.sessionStorage.removeItem('__mesProblems');
    if (kept !== null) { seen = JSON.parse(kept); }
  } catch (e) { /* no storage: the page's own list is all there is */ }
  done(seen);
}, 0); }, 0);"#;

/// A chromedriver command outside the WebDriver standard, sent through fantoccini's
/// extension point for commands it does not know.
#[derive(Debug)]
pub struct VendorCommand {
    /// The path after `session/{id}/`.
    pub path: &'static str,
    pub body: Value,
}

impl WebDriverCompatibleCommand for VendorCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.expect("vendor commands are sent within a session");
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.body.to_string()))
    }
}

/// Installs [`LISTENERS`] in every document this tab opens from now on.
pub async fn install(client: &Client) {
    client
        .issue_cmd(VendorCommand {
            path: "goog/cdp/execute",
            body: json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": {"source": LISTENERS},
            }),
        })
        .await
        .expect("install the problem listeners through the CDP bridge");
}

/// Every problem since the last call: the page listeners' finds and the console's errors.
pub async fn page_problems(client: &Client) -> Vec<String> {
    let mut problems: Vec<String> = match client.execute_async(TAKE, vec![]).await {
        Ok(Value::Array(seen)) => seen
            .iter()
            .map(|p| format!("page: {}", p.as_str().unwrap_or_default()))
            .collect(),
        Ok(other) => vec![format!("harness: the page listeners answered {other}")],
        Err(e) => vec![format!(
            "harness: the page listeners could not be read: {e}"
        )],
    };
    // The browser log is read and emptied in one call; a driver without it has nothing to add.
    let log = client
        .issue_cmd(VendorCommand {
            path: "se/log",
            body: json!({"type": "browser"}),
        })
        .await;
    if let Ok(Value::Array(entries)) = log {
        problems.extend(
            entries
                .iter()
                .filter(|e| e["level"] == "SEVERE")
                .map(|e| format!("console: {}", e["message"].as_str().unwrap_or_default())),
        );
    }
    problems
}

/// Problems today's app is known to have, each with the work that removes it: matched by
/// text, announced once on stderr so they stay visible, and not failed on. Everything else
/// fails.
const KNOWN: &[(&str, &str)] = &[];

fn known(problem: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(text, _)| problem.contains(text))
        .map(|(_, why)| *why)
}

/// Fails with their text when the pages shown since the last look logged a script error, a
/// failed script or style load, an unhandled rejection, a CSP violation or a console error
/// (other than a [`KNOWN`] one).
pub async fn assert_no_page_problems(client: &Client) {
    let mut problems = page_problems(client).await;
    problems.retain(|p| match known(p) {
        Some(why) => {
            static ANNOUNCED: std::sync::Once = std::sync::Once::new();
            ANNOUNCED.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\nKNOWN PAGE PROBLEM, not failed on until fixed: {why}: {p}"
                );
            });
            false
        }
        None => true,
    });
    let url = client
        .current_url()
        .await
        .map_or_else(|e| format!("? ({e})"), |u| u.to_string());
    assert!(
        problems.is_empty(),
        "the browser saw {} problem(s), now on {url}:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
