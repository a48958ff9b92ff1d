//! `Browser`: a headless Chromium of the test's own, driven through WebDriver, with the small
//! typed helpers tests read well with.

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::driver::Driver;
use super::{DEADLINE, locate, poll_until, problems, wait_for};

/// Browsers open at once in the test binary: each costs a few hundred MB and a good share of
/// a core while a page loads; tests beyond this wait for a turn.
pub const MAX_BROWSERS: usize = 2;
static BROWSERS: Semaphore = Semaphore::const_new(MAX_BROWSERS);

/// How a test wants its browser.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// The browser's language (`--lang` and the `Accept-Language` preference).
    pub lang: String,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        // The plant's people read Chinese (Taiwan); pages default to it.
        Self {
            lang: "zh-TW".into(),
        }
    }
}

/// The desktop screen the pages are designed for.
pub const WINDOW: (u32, u32) = (1600, 1000);

pub struct Browser {
    pub client: Client,
    /// Field order is drop order: the driver (and with it every browser process) goes before
    /// the profile directory it writes, and the turn is given back last.
    _driver: Driver,
    _profile: tempfile::TempDir,
    _turn: SemaphorePermit<'static>,
}

impl Browser {
    /// A fresh browser (new profile, listeners for page problems installed); `None` when no
    /// browser is installed and CI is not set (the skip is announced once).
    pub async fn start(options: &BrowserOptions) -> Option<Browser> {
        let binaries = locate::binaries()?;
        let turn = BROWSERS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let profile = tempfile::tempdir().expect("a profile directory");
        let driver = Driver::start(&binaries.chromedriver).await;
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--lang={}", options.lang),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binaries.chromium,
                "args": args,
                "prefs": {"intl.accept_languages": options.lang},
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"pageLoad": 60_000, "script": 30_000, "implicit": 0},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        // Generous: Chromium's first start on a busy machine can take several seconds.
        let session = tokio::time::timeout(
            Duration::from_secs(90),
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&driver.url),
        )
        .await;
        let client = match session {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromedriver could not start {}: {e}; its output:\n{}",
                binaries.chromium.display(),
                driver.output()
            ),
            Err(_) => panic!(
                "no browser session within 90 s; chromedriver's output:\n{}",
                driver.output()
            ),
        };
        problems::install(&client).await;
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
            _turn: turn,
        })
    }

    /// Opens `url` and waits for its `load` event.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn current_url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// Waits (bounded) until the current URL's path is `path`, e.g. after a form post and
    /// its redirect.
    pub async fn wait_for_path(&self, path: &str) -> url::Url {
        let mut last = None;
        let found = poll_until(DEADLINE, async || {
            let url = self.client.current_url().await.ok()?;
            last = Some(url.to_string());
            (url.path() == path).then_some(url)
        })
        .await;
        found.unwrap_or_else(|| {
            panic!("the browser did not reach {path} within {DEADLINE:?}; at {last:?}")
        })
    }

    /// The element `css` selects, waiting (bounded) for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let found = poll_until(DEADLINE, async || {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await;
        match found {
            Some(element) => element,
            None => panic!(
                "no element matches {css} within {DEADLINE:?} on {}",
                self.current_url().await
            ),
        }
    }

    /// Whether anything matches `css` right now.
    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
            .is_empty()
    }

    /// The rendered text of the element `css` selects.
    pub async fn text_of(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of {css}: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the field `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear the field");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("run {script}: {e}"))
    }

    /// Polls `script` until it returns something truthy (not `null`, `false`, `0` or `""`)
    /// and returns that; fails after `bound` saying `what` was awaited.
    pub async fn wait_for_js(
        &self,
        what: &str,
        bound: Duration,
        script: &str,
        args: Vec<Value>,
    ) -> Value {
        wait_for(what, bound, async || {
            let value = self.client.execute(script, args.clone()).await.ok()?;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            truthy.then_some(value)
        })
        .await
    }

    /// The browser's cookies for the current page as one `Cookie` header value.
    pub async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .expect("the browser's cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `GET url` outside the browser but with its cookies: the same session, for comparing a
    /// page with its API or for a download.
    pub async fn fetch(&self, url: &str) -> reqwest::Response {
        crate::helpers::bare_client()
            .get(url)
            .header("cookie", self.cookie_header().await)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// Downloads what the link `css` points to, with the browser's session (a browser's own
    /// download lands in a file the test would have to find and wait for).
    pub async fn download(&self, css: &str) -> Download {
        let href = self
            .find(css)
            .await
            .prop("href")
            .await
            .expect("read the link")
            .unwrap_or_else(|| panic!("{css} has no href"));
        let response = self.fetch(&href).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .expect("the download's body")
            .to_vec();
        assert_eq!(
            status,
            200,
            "download {href}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Download { headers, bytes }
    }

    /// See [`problems::page_problems`].
    pub async fn page_problems(&self) -> Vec<String> {
        problems::page_problems(&self.client).await
    }

    /// See [`problems::assert_no_page_problems`].
    pub async fn assert_no_page_problems(&self) {
        problems::assert_no_page_problems(&self.client).await
    }
}

/// A file fetched through a link, with the headers it came with.
pub struct Download {
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}
