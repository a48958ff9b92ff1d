//! The live status of every tool (DESIGN §2: the realtime equipment-status sync).
//!
//! Every `EQUIPMENT_STATUS_SYNC_INTERVAL` the sync task ([`sync`]) reads each tool's state from
//! the database and hands the new [`EquipmentSnapshot`] to [`EquipmentStatus::apply`], which
//! keeps it in process memory (L1), compares it with the previous one and, when tools changed,
//! pushes the change to the open event streams of this process (their HTTP form is
//! `routes/resource_stream.rs`). The sync then
//! writes the snapshot to Redis (L2: the status JSON and a hash by tool id) and publishes the
//! change on a pub/sub channel; the other workers and instances apply it to their L1 and push
//! it to their browsers. Redis down: the local part goes on unchanged.

pub mod aggregate;
pub mod filter;
pub mod jobs;
pub mod query;
pub mod snapshot;
pub mod sync;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

use crate::cache::{CacheFreshness, CacheState};
use crate::timefmt::iso8601;
pub use filter::{Field, StatusFilter, ToolSet};
pub use snapshot::{Change, E10_STATES, EquipmentSnapshot, ToolStatus};

/// Events an open stream may fall behind by before it is told to reload (`resync`).
const STREAM_BUFFER: usize = 64;

/// One change as pushed to the browsers, serialized once for every stream.
#[derive(Debug)]
pub struct ChangeEvent {
    /// Increasing per process: the event id.
    pub seq: u64,
    /// `{"changed":[…],"removed":[…],"summary":{…}}`.
    pub data: String,
}

/// What applying a new snapshot did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// There was none before: nothing to compare, nothing pushed.
    First,
    Unchanged,
    /// Pushed to this process's streams.
    Changed(Change),
}

/// The process-local (L1) holder of the fleet's status and the fan-out to event streams.
pub struct EquipmentStatus {
    current: RwLock<Option<Arc<EquipmentSnapshot>>>,
    /// One diff-and-swap at a time (the sync and changes from other processes).
    update: Mutex<()>,
    /// One first load at a time when a request finds no snapshot yet.
    pub(crate) first_load: tokio::sync::Mutex<()>,
    events: broadcast::Sender<Arc<ChangeEvent>>,
    seq: AtomicU64,
    /// Set when the latest sync failed: what is served is then `stale`.
    last_sync_failed: AtomicBool,
    /// Random id of this process; its own pub/sub messages are ignored.
    pub origin: String,
    /// Reads of the fleet from the database by this process (the sync leader's reads).
    db_reads: AtomicU64,
    /// Full statuses taken from Redis while another process led the sync.
    followed: AtomicU64,
}

impl Default for EquipmentStatus {
    fn default() -> Self {
        Self::new()
    }
}

impl EquipmentStatus {
    pub fn new() -> Self {
        Self {
            current: RwLock::new(None),
            update: Mutex::new(()),
            first_load: tokio::sync::Mutex::new(()),
            events: broadcast::channel(STREAM_BUFFER).0,
            seq: AtomicU64::new(0),
            last_sync_failed: AtomicBool::new(false),
            origin: format!("{:016x}", rand::random::<u64>()),
            db_reads: AtomicU64::new(0),
            followed: AtomicU64::new(0),
        }
    }

    pub fn current(&self) -> Option<Arc<EquipmentSnapshot>> {
        self.current.read().clone()
    }

    /// A receiver of every change applied from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.events.subscribe()
    }

    /// Open event streams of this process.
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    /// How many times this process read the fleet from the database.
    pub fn db_reads(&self) -> u64 {
        self.db_reads.load(Ordering::Relaxed)
    }

    /// How many times this process took the full status from Redis, another one leading.
    pub fn followed(&self) -> u64 {
        self.followed.load(Ordering::Relaxed)
    }

    pub(crate) fn sync_failed(&self, failed: bool) {
        self.last_sync_failed.store(failed, Ordering::Relaxed);
    }

    /// Replaces the snapshot with `next` and pushes what changed.
    pub fn apply(&self, next: EquipmentSnapshot) -> Applied {
        let _one = self.update.lock();
        let next = Arc::new(next);
        let previous = self.swap(next.clone());
        match previous {
            None => Applied::First,
            Some(previous) => {
                let change = previous.diff(&next);
                if change.is_empty() {
                    Applied::Unchanged
                } else {
                    self.push(&change, &next);
                    Applied::Changed(change)
                }
            }
        }
    }

    /// Applies a change published by another process; pushes the part that is news here.
    /// Without a snapshot yet, it is ignored (the first sync reads everything).
    pub fn apply_remote(&self, change: &Change) -> serde_json::Result<Option<Change>> {
        let _one = self.update.lock();
        let Some(current) = self.current() else {
            return Ok(None);
        };
        let news = Change {
            changed: change
                .changed
                .iter()
                .filter(|t| current.tool(&t.equipment_id) != Some(*t))
                .cloned()
                .collect(),
            removed: change
                .removed
                .iter()
                .filter(|id| current.tool(id).is_some())
                .cloned()
                .collect(),
        };
        if news.is_empty() {
            return Ok(None);
        }
        let next = Arc::new(current.patched(&news)?);
        self.swap(next.clone());
        self.push(&news, &next);
        Ok(Some(news))
    }

    fn swap(&self, next: Arc<EquipmentSnapshot>) -> Option<Arc<EquipmentSnapshot>> {
        self.current.write().replace(next)
    }

    fn push(&self, change: &Change, snapshot: &EquipmentSnapshot) {
        let data = match event_data(change, snapshot) {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(%error, "cannot serialize an equipment change");
                return;
            }
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        // No receiver (no open stream) is not an error.
        let _ = self.events.send(Arc::new(ChangeEvent { seq, data }));
    }

    /// How fresh an answer from `snapshot` is: stale while the latest sync failed.
    pub fn freshness(&self, snapshot: &EquipmentSnapshot) -> CacheFreshness {
        CacheFreshness {
            state: if self.last_sync_failed.load(Ordering::Relaxed) {
                CacheState::Stale
            } else {
                CacheState::Fresh
            },
            updated_at: iso8601(snapshot.computed_at),
            age: snapshot.computed_instant.elapsed(),
        }
    }
}

/// `{"changed":[…],"removed":[…],"summary":{…}}`: the change and the new summary, so a page
/// updates its table and its counters from the event alone.
fn event_data(change: &Change, snapshot: &EquipmentSnapshot) -> anyhow::Result<String> {
    let mut data = serde_json::to_string(change)?;
    let summary = std::str::from_utf8(&snapshot.summary.0)?;
    data.pop(); // the closing brace
    data.push_str(",\"summary\":");
    data.push_str(summary);
    data.push('}');
    Ok(data)
}
