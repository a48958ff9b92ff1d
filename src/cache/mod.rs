//! Caches of report data. The WIP dataset lives in process memory (L1) as a compact lot table
//! with its indexes and pre-serialized answers, so serving it costs no database call and no serialization; Redis (L2) shares one
//! load between every worker and instance, and the cache updater keeps both current.
//!
//! A cache says how fresh what it serves is with a [`CacheFreshness`]; the HTTP layer writes
//! it as the envelope's `meta` (the caches know nothing of the envelope).

pub mod aggregate;
pub mod filter;
pub mod hold_query;
pub mod l2;
pub mod lots;
pub mod qc_gate;
pub mod query;
pub mod updater;
pub mod wip;
pub mod wip_index;

use std::time::Duration;

pub use wip::{WipCache, WipSnapshot};

/// Whether cached data is confirmed current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// The latest check (or sync) succeeded.
    Fresh,
    /// The latest check failed: this is the last data known, served until the next success.
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

/// How fresh a cached answer is: its state, when its data was computed (RFC 3339, formatted
/// once per snapshot where it can be), and its age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFreshness {
    pub state: CacheState,
    pub updated_at: String,
    pub age: Duration,
}
