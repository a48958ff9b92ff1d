//! Caches of report data. The WIP dataset lives in process memory (L1) as pre-serialized
//! answers, so serving it costs no database call and no serialization; Redis (L2) shares one
//! load between every worker and instance, and the cache updater keeps both current.

pub mod aggregate;
pub mod l2;
pub mod redis;
pub mod updater;
pub mod wip;
pub mod wip_index;

pub use wip::{CacheState, WipCache, WipSnapshot};
