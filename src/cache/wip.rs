//! The WIP dataset: every lot in process, aggregated once per refresh into the answers the
//! WIP APIs serve.
//!
//! A request that finds the snapshot older than `CACHE_CHECK_INTERVAL` refreshes it (one
//! refresh at a time; the others keep serving the current snapshot meanwhile — or wait for the
//! very first one). When a refresh fails and a previous snapshot exists, that snapshot is
//! served labelled `stale` with its age instead of an error.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::wip::{self as q, WipLot, Workcenter};
use crate::db::{DbError, DbPool};
use crate::http::envelope::{Meta, RawJson, iso8601};

/// The statuses a lot in process can have, in report order.
pub const STATUSES: [&str; 3] = ["RUN", "QUEUE", "HOLD"];

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub lots: u64,
    pub quantity: i64,
}

impl Tally {
    fn add(&mut self, quantity: i64) {
        self.lots += 1;
        self.quantity += quantity;
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub total: Tally,
    pub by_status: BTreeMap<&'static str, Tally>,
    /// Lots with priority 1 (hot lots).
    pub hot_lots: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct MatrixRow {
    pub workcenter: String,
    pub name: String,
    pub cells: BTreeMap<String, Tally>,
    pub total: Tally,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Matrix {
    pub packages: Vec<String>,
    pub rows: Vec<MatrixRow>,
    pub package_totals: BTreeMap<String, Tally>,
    pub total: Tally,
}

/// Aggregates lots into the summary answer.
pub fn summarize(lots: &[WipLot]) -> Summary {
    let mut by_status: BTreeMap<&'static str, Tally> =
        STATUSES.iter().map(|s| (*s, Tally::default())).collect();
    let mut total = Tally::default();
    let mut hot_lots = 0;
    for lot in lots {
        total.add(lot.quantity);
        if let Some(status) = STATUSES.iter().find(|s| **s == lot.status) {
            by_status.entry(status).or_default().add(lot.quantity);
        }
        if lot.priority == 1 {
            hot_lots += 1;
        }
    }
    Summary {
        total,
        by_status,
        hot_lots,
    }
}

/// Aggregates lots into the workcenter × package matrix, rows in route order.
pub fn matrix(lots: &[WipLot], workcenters: &[Workcenter], packages: &[String]) -> Matrix {
    let mut rows: Vec<MatrixRow> = workcenters
        .iter()
        .map(|w| MatrixRow {
            workcenter: w.workcenter_id.clone(),
            name: w.name.clone(),
            cells: BTreeMap::new(),
            total: Tally::default(),
        })
        .collect();
    let mut index: HashMap<&str, usize> = workcenters
        .iter()
        .enumerate()
        .map(|(i, w)| (w.workcenter_id.as_str(), i))
        .collect();
    let mut package_totals: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for lot in lots {
        let row = match index.get(lot.workcenter_id.as_str()) {
            Some(i) => *i,
            None => {
                // A lot at a workcenter missing from the reference table still counts.
                rows.push(MatrixRow {
                    workcenter: lot.workcenter_id.clone(),
                    name: lot.workcenter_id.clone(),
                    cells: BTreeMap::new(),
                    total: Tally::default(),
                });
                index.insert(lot.workcenter_id.as_str(), rows.len() - 1);
                rows.len() - 1
            }
        };
        let row = &mut rows[row];
        row.cells
            .entry(lot.package_id.clone())
            .or_default()
            .add(lot.quantity);
        row.total.add(lot.quantity);
        package_totals
            .entry(lot.package_id.clone())
            .or_default()
            .add(lot.quantity);
        total.add(lot.quantity);
    }
    let mut all_packages: Vec<String> = packages.to_vec();
    for p in package_totals.keys() {
        if !all_packages.contains(p) {
            all_packages.push(p.clone());
        }
    }
    Matrix {
        packages: all_packages,
        rows,
        package_totals,
        total,
    }
}

/// One computed state of the WIP dataset, with its answers serialized once.
#[derive(Debug)]
pub struct WipSnapshot {
    pub summary: RawJson,
    pub matrix: RawJson,
    /// The data's freshness stamp (latest lot change) when it was loaded.
    pub stamp: Option<DateTime<Utc>>,
    /// When the snapshot was computed.
    pub computed_at: DateTime<Utc>,
    /// Monotonic twin of `computed_at`, for ages.
    pub computed_instant: Instant,
    pub lot_count: usize,
}

impl WipSnapshot {
    pub fn build(
        lots: &[WipLot],
        workcenters: &[Workcenter],
        packages: &[String],
        stamp: Option<DateTime<Utc>>,
    ) -> serde_json::Result<Self> {
        Ok(Self {
            summary: RawJson::from_value(&summarize(lots))?,
            matrix: RawJson::from_value(&matrix(lots, workcenters, packages))?,
            stamp,
            computed_at: Utc::now(),
            computed_instant: Instant::now(),
            lot_count: lots.len(),
        })
    }

    /// Loads the whole dataset from the database and computes the answers.
    pub async fn load(pool: &DbPool) -> Result<Self, LoadError> {
        let stamp = q::freshness_stamp(pool).await?;
        let lots = q::load_lots(pool).await?;
        let workcenters = q::workcenters(pool).await?;
        let packages = q::packages(pool).await?;
        Self::build(&lots, &workcenters, &packages, stamp).map_err(LoadError::Serialize)
    }

    pub fn age(&self) -> Duration {
        self.computed_instant.elapsed()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot serialize the WIP answers: {0}")]
    Serialize(serde_json::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    Fresh,
    Stale,
}

impl CacheState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Stale => "stale",
        }
    }
}

/// A snapshot as served, with its label.
#[derive(Debug, Clone)]
pub struct Served {
    pub snapshot: Arc<WipSnapshot>,
    pub state: CacheState,
}

impl Served {
    /// The envelope meta of a cached answer: state, when computed, and age.
    pub fn meta(&self) -> Meta {
        let mut meta = Meta::now();
        meta.cache_state = Some(self.state.as_str());
        meta.updated_at = Some(iso8601(self.snapshot.computed_at));
        meta.age_seconds = Some(self.snapshot.age().as_secs());
        meta
    }
}

/// What `/health` reports about the WIP cache.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    pub state: &'static str,
    pub age_seconds: Option<u64>,
    pub lots: Option<usize>,
}

/// The process-local (L1) holder of the current WIP snapshot.
pub struct WipCache {
    current: RwLock<Option<Arc<WipSnapshot>>>,
    /// One refresh at a time; waiters re-check the snapshot after it is released.
    refresh: tokio::sync::Mutex<()>,
    /// Set when the latest refresh attempt failed: what is served is then `stale`.
    last_refresh_failed: AtomicBool,
    check_interval: Duration,
}

impl WipCache {
    pub fn new(check_interval: Duration) -> Self {
        Self {
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            last_refresh_failed: AtomicBool::new(false),
            check_interval,
        }
    }

    /// Cheap state for health reports: `empty` before the first load, `stale` after a failed
    /// refresh, else `fresh`; and the age of what is served.
    pub fn status(&self) -> CacheStatus {
        let current = self.current();
        CacheStatus {
            state: match &current {
                None => "empty",
                Some(_) if self.last_refresh_failed.load(Ordering::Relaxed) => "stale",
                Some(_) => "fresh",
            },
            age_seconds: current.as_ref().map(|s| s.age().as_secs()),
            lots: current.as_ref().map(|s| s.lot_count),
        }
    }

    pub fn current(&self) -> Option<Arc<WipSnapshot>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn publish(&self, snapshot: Arc<WipSnapshot>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    fn is_fresh(&self, snapshot: &WipSnapshot) -> bool {
        snapshot.age() < self.check_interval
    }

    fn label(&self, snapshot: Arc<WipSnapshot>) -> Served {
        let state = if self.last_refresh_failed.load(Ordering::Relaxed) {
            CacheState::Stale
        } else {
            CacheState::Fresh
        };
        Served { snapshot, state }
    }

    /// The snapshot to serve: fresh when it could be, stale when the database failed but an
    /// older answer exists, an error only when there is nothing to serve.
    pub async fn get(&self, pool: &DbPool) -> Result<Served, LoadError> {
        if let Some(snapshot) = self.current().filter(|s| self.is_fresh(s)) {
            return Ok(Served {
                snapshot,
                state: CacheState::Fresh,
            });
        }
        // Someone else refreshing: serve what we have rather than queue behind them.
        let guard = match (self.refresh.try_lock(), self.current()) {
            (Ok(guard), _) => guard,
            (Err(_), Some(snapshot)) => return Ok(self.label(snapshot)),
            (Err(_), None) => self.refresh.lock().await,
        };
        if let Some(snapshot) = self.current().filter(|s| self.is_fresh(s)) {
            return Ok(Served {
                snapshot,
                state: CacheState::Fresh,
            });
        }
        // Boxed: the load future is large (every query of the refresh, both backends) and
        // would otherwise be part of every request's future, copied on each fresh hit.
        let result = Box::pin(WipSnapshot::load(pool)).await;
        drop(guard);
        match result {
            Ok(snapshot) => {
                let snapshot = Arc::new(snapshot);
                self.publish(snapshot.clone());
                self.last_refresh_failed.store(false, Ordering::Relaxed);
                Ok(Served {
                    snapshot,
                    state: CacheState::Fresh,
                })
            }
            Err(error) => match self.current() {
                Some(snapshot) => {
                    self.last_refresh_failed.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        error = %error,
                        age_s = snapshot.age().as_secs(),
                        "WIP refresh failed; serving the previous snapshot as stale"
                    );
                    Ok(Served {
                        snapshot,
                        state: CacheState::Stale,
                    })
                }
                None => Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(wc: &str, pkg: &str, status: &str, qty: i64) -> WipLot {
        WipLot {
            lot_id: format!("L{wc}{pkg}{status}{qty}"),
            workcenter_id: wc.into(),
            package_id: pkg.into(),
            status: status.into(),
            quantity: qty,
            priority: 3,
            hold_reason: None,
        }
    }

    fn wc(id: &str, seq: i64) -> Workcenter {
        Workcenter {
            workcenter_id: id.into(),
            name: format!("{id} name"),
            sequence: seq,
        }
    }

    #[test]
    fn summary_counts_lots_and_quantity_by_status() {
        let lots = [
            lot("DB", "QFN", "RUN", 100),
            lot("DB", "QFN", "HOLD", 50),
            lot("WB", "SOP", "QUEUE", 25),
            lot("WB", "SOP", "QUEUE", 5),
        ];
        let s = summarize(&lots);
        assert_eq!(
            s.total,
            Tally {
                lots: 4,
                quantity: 180
            }
        );
        assert_eq!(
            s.by_status["RUN"],
            Tally {
                lots: 1,
                quantity: 100
            }
        );
        assert_eq!(
            s.by_status["QUEUE"],
            Tally {
                lots: 2,
                quantity: 30
            }
        );
        assert_eq!(
            s.by_status["HOLD"],
            Tally {
                lots: 1,
                quantity: 50
            }
        );
    }

    #[test]
    fn matrix_keeps_route_order_and_counts_unknown_workcenters() {
        let lots = [
            lot("WB", "SOP", "RUN", 10),
            lot("DB", "QFN", "RUN", 7),
            lot("XX", "QFN", "QUEUE", 1),
        ];
        let m = matrix(
            &lots,
            &[wc("DB", 1), wc("WB", 2)],
            &["QFN".into(), "SOP".into()],
        );
        let order: Vec<_> = m.rows.iter().map(|r| r.workcenter.as_str()).collect();
        assert_eq!(order, ["DB", "WB", "XX"]);
        assert_eq!(
            m.rows[1].cells["SOP"],
            Tally {
                lots: 1,
                quantity: 10
            }
        );
        assert_eq!(
            m.package_totals["QFN"],
            Tally {
                lots: 2,
                quantity: 8
            }
        );
        assert_eq!(
            m.total,
            Tally {
                lots: 3,
                quantity: 18
            }
        );
    }
}
