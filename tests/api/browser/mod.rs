//! Browser tests: a real headless Chromium, driven through chromedriver (WebDriver, with
//! fantoccini), against the real app on a real port.
//!
//! They need `chromium` and `chromedriver` (Debian: `chromium`, `chromium-driver`), taken from
//! `MES_TEST_CHROMIUM` / `MES_TEST_CHROMEDRIVER` when set, else the Debian paths, else the
//! `PATH`. Without them the tests skip with a visible message, except under `CI=true`, where
//! that is a failure.
//!
//! Each test has a chromedriver of its own, in a process group killed when the test ends
//! (passing or panicking), and a browser with a fresh profile; at most
//! [`session::MAX_BROWSERS`] browsers run at once. Nothing is timed: every wait polls until its
//! condition holds and fails only after a long bound ([`DEADLINE`]).

mod app;
mod driver;
mod locate;
mod problems;
mod session;

mod equipment_history;
mod harness;
mod hold;
mod hold_history;
mod pages;
mod platform;
mod qc_gate;
mod resource;
mod wip_detail;
mod wip_overview;

use std::time::{Duration, Instant};

pub use app::BrowserApp;
pub use session::{Browser, BrowserOptions};

/// Generous bound on anything a page should do "soon" on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

const POLL: Duration = Duration::from_millis(100);

/// Polls `probe` until it returns `Some`, or returns `None` once `bound` has passed.
pub async fn poll_until<T>(
    bound: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let until = Instant::now() + bound;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `probe` until it returns `Some`; fails after `bound` saying `what` did not happen.
pub async fn wait_for<T>(what: &str, bound: Duration, probe: impl AsyncFnMut() -> Option<T>) -> T {
    match poll_until(bound, probe).await {
        Some(found) => found,
        None => panic!("{what}: not within {bound:?}"),
    }
}
