//! Caches of report data. The WIP dataset lives in process memory (L1) as pre-serialized
//! answers, so serving it costs no database call and no serialization.

pub mod redis;
pub mod wip;

pub use wip::{CacheState, WipCache, WipSnapshot};
