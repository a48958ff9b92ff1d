//! Ends the event streams of sessions that ended: a logout anywhere (this worker, another
//! worker, another instance) or the session's expiry ends every stream it had open within
//! about [`CHECK_EVERY`] plus one database round trip.
//!
//! Each open stream leases its session id here. A logout on this worker ends the lease at
//! once ([`LiveSessions::end`]); for the others one task per worker asks the database, every
//! [`CHECK_EVERY`] while streams are open, which of the leased ids are still live — one
//! statement whatever the number of streams, instead of one session read per stream (the
//! per-stream re-read it replaces ran at the keep-alive interval and let a logged-out stream
//! receive changes for 13 s). While the database cannot answer, streams go on: a read that
//! fails keeps serving, as every other read of a session does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::db::{Database, sessions as q};

/// How often the leased ids are checked against the database while any stream is open.
pub const CHECK_EVERY: Duration = Duration::from_millis(400);

struct Leased {
    streams: usize,
    ended: CancellationToken,
}

/// The sessions with open streams on this worker.
pub struct LiveSessions {
    db: Arc<Database>,
    leased: Mutex<HashMap<String, Leased>>,
}

/// One stream's hold on its session; `ended` is cancelled when the session ends. Dropping
/// the lease (the stream closed) releases it.
pub struct StreamLease {
    live: Arc<LiveSessions>,
    id: String,
    pub ended: CancellationToken,
}

impl Drop for StreamLease {
    fn drop(&mut self) {
        let mut leased = self.live.leased.lock();
        if let Some(entry) = leased.get_mut(&self.id) {
            entry.streams -= 1;
            if entry.streams == 0 {
                leased.remove(&self.id);
            }
        }
    }
}

impl LiveSessions {
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            leased: Mutex::new(HashMap::new()),
        }
    }

    /// Leases session `id` for one stream.
    pub fn lease(self: &Arc<Self>, id: &str) -> StreamLease {
        let mut leased = self.leased.lock();
        let entry = leased.entry(id.to_owned()).or_insert_with(|| Leased {
            streams: 0,
            ended: CancellationToken::new(),
        });
        entry.streams += 1;
        StreamLease {
            live: self.clone(),
            id: id.to_owned(),
            ended: entry.ended.clone(),
        }
    }

    /// Session `id` ended here (a logout): its streams on this worker end now.
    pub fn end(&self, id: &str) {
        if let Some(entry) = self.leased.lock().remove(id) {
            entry.ended.cancel();
        }
    }

    /// How many sessions have open streams here.
    pub fn leased(&self) -> usize {
        self.leased.lock().len()
    }

    /// One check: ends the leases whose session is no longer live in the database. Returns
    /// how many ended; a database error ends none.
    pub async fn check(&self) -> usize {
        let ids: Vec<String> = self.leased.lock().keys().cloned().collect();
        if ids.is_empty() {
            return 0;
        }
        let live = match q::live_ids(&self.db.request, &ids, Utc::now()).await {
            Ok(live) => live,
            Err(error) => {
                tracing::debug!(%error, "cannot check the sessions of open streams; they go on");
                return 0;
            }
        };
        let mut ended = 0;
        for id in ids.iter().filter(|id| !live.contains(*id)) {
            if let Some(entry) = self.leased.lock().remove(id) {
                entry.ended.cancel();
                ended += 1;
            }
        }
        ended
    }

    /// The check loop of one worker, until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(CHECK_EVERY) => {}
            }
            let ended = self.check().await;
            if ended > 0 {
                tracing::info!(
                    sessions.ended = ended,
                    "event streams of ended sessions closed"
                );
            }
        }
    }
}
