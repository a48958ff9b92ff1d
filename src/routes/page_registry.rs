//! The page registry as the request path reads it: which report pages are `dev`, held in
//! memory so that deciding whether an API is hidden costs no database call (issue 14, item 6).
//!
//! Each page of the catalog ([`super::catalog::PAGES`]) lists the API paths it uses. An API
//! path is *hidden* from non-administrators when every page that lists it is `dev`; an API
//! no page lists (login, `/api/events`, the admin APIs) is never hidden. The answer for a
//! hidden API is 403 `FORBIDDEN` (`http/middleware/page_access.rs`).
//!
//! Freshness: the set of `dev` pages is a bit mask (one bit per catalog page) read with one
//! atomic load. The worker where an administrator changes a status installs it at once; every
//! worker of every instance re-reads the table every [`REFRESH_EVERY`] (one indexed read of a
//! table of about ten rows). Opening a page (the access check and the navigation) reads this
//! registry too, so a page render costs no database call for it.
//! A poll rather than Redis pub/sub because the same bound must hold without Redis (several
//! workers on the demo's SQLite file, or Redis down), a status change is rare and not urgent
//! to the second, and the read is negligible next to the rest of a worker's background work.
//! While the database cannot be read the last known set stays in force; until the first read
//! succeeds (start-up with the database down) nothing is hidden, as a page missing from the
//! table counts as released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::catalog::PAGES;
use crate::db::{Database, DbError, pages::PageRow};

/// How often each worker re-reads the registry: the longest a status change made on another
/// worker or instance goes unseen here.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The topic paths of the event stream's kinds of events (`/api/events`): pages list them
/// like APIs, and a kind is withheld from a non-administrator's stream while its path is
/// hidden.
pub const WIP_EVENTS: &str = "/api/events/wip";
pub const EQUIPMENT_EVENTS: &str = "/api/events/equipment";

/// Whether `path` is `prefix` or lies under it (segment by segment: `/api/jobs` covers
/// `/api/jobs/7`, not `/api/jobs-maintenance`).
pub fn covers(prefix: &str, path: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The catalog pages that list `path`, as a mask of [`PAGES`] indices.
pub fn owners(path: &str) -> u64 {
    PAGES
        .iter()
        .enumerate()
        .filter(|(_, page)| page.apis.iter().any(|prefix| covers(prefix, path)))
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

/// The mask of the `dev` pages among `routes`.
fn mask_of<'a>(routes: impl IntoIterator<Item = &'a str>) -> u64 {
    routes
        .into_iter()
        .filter_map(|route| PAGES.iter().position(|p| p.registered && p.route == route))
        .fold(0, |mask, i| mask | (1 << i))
}

/// The `dev` pages as this worker last saw them.
#[derive(Debug)]
pub struct PageRegistry {
    /// Read on every request (one atomic load).
    dev: AtomicU64,
    /// The same mask for whoever must act when it changes (an open stream of an API that
    /// becomes hidden ends): sent only when the mask differs.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Default for PageRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl PageRegistry {
    pub fn new() -> Self {
        const { assert!(PAGES.len() <= 64, "one bit per page") };
        Self {
            dev: AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Resolves once `path` is hidden from non-administrators (at once when it is already):
    /// what an open stream of a hidden API waits on to end.
    pub async fn hidden(&self, path: &str) {
        let mut changes = self.changes.subscribe();
        while !self.hides(path) {
            if changes.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    fn store(&self, dev: u64) {
        self.dev.store(dev, Ordering::Relaxed);
        self.changes.send_if_modified(|last| {
            let changed = *last != dev;
            *last = dev;
            changed
        });
    }

    /// Whether the page `route` is `dev`.
    pub fn is_dev(&self, route: &str) -> bool {
        let mask = mask_of([route]);
        mask != 0 && self.dev.load(Ordering::Relaxed) & mask == mask
    }

    /// Whether `path` (an API path or an event topic) is hidden from non-administrators: some
    /// page lists it and every page that lists it is `dev`.
    pub fn hides(&self, path: &str) -> bool {
        let dev = self.dev.load(Ordering::Relaxed);
        if dev == 0 {
            return false;
        }
        let owners = owners(path);
        owners != 0 && owners & !dev == 0
    }

    /// Installs the statuses of `rows` (the whole table).
    pub fn install(&self, rows: &[PageRow]) {
        let dev = mask_of(
            rows.iter()
                .filter(|r| r.status == "dev")
                .map(|r| r.route.as_str()),
        );
        self.store(dev);
    }

    /// Installs one status change made on this worker.
    pub fn set(&self, route: &str, dev: bool) {
        let bit = mask_of([route]);
        let last = self.dev.load(Ordering::Relaxed);
        self.store(if dev { last | bit } else { last & !bit });
    }

    /// Reads the table once and installs it.
    pub async fn load(&self, db: &Database) -> Result<(), DbError> {
        let rows = crate::db::pages::list(&db.request).await?;
        self.install(&rows);
        Ok(())
    }

    /// Re-reads the table every [`REFRESH_EVERY`] until `stop`; a failed read keeps the last
    /// set (logged once per outage).
    pub async fn run(
        self: std::sync::Arc<Self>,
        db: std::sync::Arc<Database>,
        stop: CancellationToken,
    ) {
        let mut failing = false;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(REFRESH_EVERY) => {}
            }
            // While the breaker is not closed the last set stands: this background read must
            // not be the half-open probe (a user's request is, and says how it went) nor add
            // load to a database known to be failing.
            if db.breaker.state() != crate::db::breaker::BreakerState::Closed {
                continue;
            }
            match self.load(&db).await {
                Ok(()) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "cannot re-read the page registry; keeping the last one");
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn row(route: &str, status: &str) -> PageRow {
        PageRow {
            route: route.into(),
            title: route.into(),
            status: status.into(),
            updated_at: Utc::now(),
            updated_by: None,
        }
    }

    #[test]
    fn prefixes_cover_whole_segments_only() {
        assert!(covers("/api/jobs", "/api/jobs"));
        assert!(covers("/api/jobs", "/api/jobs/7/result"));
        assert!(!covers("/api/jobs", "/api/jobs-maintenance/query"));
        assert!(!covers(
            "/api/resource/status",
            "/api/resource/history/query"
        ));
    }

    #[test]
    fn a_shared_api_is_hidden_only_when_every_page_using_it_is_dev() {
        let registry = PageRegistry::new();
        assert!(!registry.hides("/api/resource/status"));
        registry.install(&[row("/resource", "dev"), row("/", "released")]);
        assert!(registry.is_dev("/resource"));
        assert!(registry.hides("/api/resource/status"));
        assert!(registry.hides("/api/resource/status/matrix"));
        assert!(registry.hides("/api/resource/status/stream"));
        // The portal lists the summary too.
        assert!(!registry.hides("/api/resource/status/summary"));
        assert!(!registry.hides("/api/resource/history/query"));
        // No page lists these.
        assert!(!registry.hides("/api/events"));
        assert!(!registry.hides("/api/auth/me"));
        registry.set("/", true);
        assert!(registry.hides("/api/resource/status/summary"));
        assert!(registry.hides(EQUIPMENT_EVENTS));
        registry.set("/resource", false);
        assert!(!registry.hides("/api/resource/status/summary"));
        assert!(!registry.hides("/api/resource/status"));
    }

    #[test]
    fn background_jobs_stay_open_while_one_history_page_is_released() {
        let registry = PageRegistry::new();
        registry.install(&[row("/resource-history", "dev")]);
        assert!(registry.hides("/api/resource/history/query"));
        assert!(!registry.hides("/api/jobs/abc"));
        registry.set("/hold-history", true);
        assert!(registry.hides("/api/jobs/abc"));
        assert!(!registry.hides("/api/jobs-maintenance/query"));
    }

    #[test]
    fn every_report_page_lists_its_apis_and_unknown_routes_are_ignored() {
        for page in PAGES.iter().filter(|p| p.registered) {
            assert!(!page.apis.is_empty(), "{} lists no API", page.route);
            assert!(
                page.apis.iter().all(|a| a.starts_with("/api/")),
                "{}",
                page.route
            );
        }
        let registry = PageRegistry::new();
        registry.install(&[row("/nowhere", "dev")]);
        assert!(!registry.is_dev("/nowhere"));
        assert!(!registry.hides("/api/wip/overview/summary"));
    }
}
