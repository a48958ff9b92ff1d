//! Where sessions live: the database is the store of record; Redis (when configured) and a
//! short-lived in-process cache only speed reads up.
//!
//! Reads go in-process cache → Redis → database. The in-process copy is trusted for
//! `SESSION_CACHE_MS` (≤ 1 s), which bounds how long a logout elsewhere goes unseen. A read
//! that falls through to the database repopulates Redis with `SET … NX`, and a logout writes a
//! tombstone with a plain `SET`, so a read racing a logout cannot resurrect the session in
//! Redis. Redis copies live at most [`REDIS_TTL`]: if Redis was unreachable at the moment of a
//! logout, a copy it held before is gone within that bound. Any Redis failure is a cache miss.
//!
//! While the database cannot be reached (down, breaker open), a session this worker has seen
//! keeps working from memory: a logged-in user goes on reading stale-labelled data instead of
//! being locked out. A logout elsewhere during that outage is seen once the database is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

use super::SessionData;
use crate::db::{Database, DbError, sessions as q};
use crate::redis::Redis;

/// Longest life of a session copy in Redis.
pub const REDIS_TTL: Duration = Duration::from_secs(60);
/// Redis value of a session that was logged out.
const TOMBSTONE: &str = "-";
/// Bound on in-process entries; past it the least used are evicted (and reloaded if needed).
/// quick_cache rather than our own map (a `RwLock<HashMap>` wiped when full): measured with
/// bench/callgrind_summary.sh, it costs about 100 fewer instructions per logged-in request
/// (37 037 against 37 135 per request, the cookie memo unchanged).
const MAX_CACHED: usize = 50_000;

/// One session as a request sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub data: SessionData,
    pub expires_at: DateTime<Utc>,
    /// Cookie-only (a CSRF secret before login); never stored.
    pub anonymous: bool,
}

#[derive(Serialize, Deserialize)]
struct RedisCopy {
    data: SessionData,
    expires_at: DateTime<Utc>,
}

#[derive(Clone)]
struct Cached {
    session: Option<Arc<Session>>,
    at: Instant,
}

pub struct SessionStore {
    /// The store of record (its request pool).
    db: Arc<Database>,
    redis: Arc<Redis>,
    local: Cache<String, Cached>,
    local_ttl: Duration,
}

impl SessionStore {
    pub fn new(db: Arc<Database>, redis: Arc<Redis>, local_ttl: Duration) -> Self {
        Self {
            db,
            redis,
            local: Cache::new(MAX_CACHED),
            local_ttl,
        }
    }

    fn redis_key(&self, id: &str) -> String {
        self.redis.key(&format!("session:{id}"))
    }

    /// The in-process copy of session `id` while it is fresh (`Some(None)`: known to be gone
    /// or expired); `None` when it must be loaded.
    pub fn cached(&self, id: &str) -> Option<Option<Arc<Session>>> {
        let now = Utc::now();
        self.local_hit(id)
            .map(|hit| hit.filter(|s| s.expires_at > now))
    }

    /// The live session `id`, or `None` when it does not exist, expired or was logged out.
    pub async fn load(&self, id: &str) -> Result<Option<Arc<Session>>, DbError> {
        let now = Utc::now();
        if let Some(hit) = self.local_hit(id) {
            return Ok(hit.filter(|s| s.expires_at > now));
        }
        let session = match self.redis_get(id).await {
            Some(found) => found,
            None => {
                let stored = match q::get(&self.db.request, id, now).await {
                    Ok(stored) => stored,
                    // The database is the store of record, but while it is unreachable a
                    // session this worker already knows keeps working (the stale-cache contract
                    // of the data it serves would be worthless otherwise).
                    Err(error) => match self.local_any(id) {
                        Some(known) => {
                            tracing::debug!(%error, "session store unreachable; using the copy in memory");
                            return Ok(known.filter(|s| s.expires_at > now));
                        }
                        None => return Err(error),
                    },
                };
                let session = stored.and_then(|s| {
                    let data = serde_json::from_str(&s.data).ok()?;
                    Some(Arc::new(Session {
                        id: id.to_string(),
                        data,
                        expires_at: s.expires_at,
                        anonymous: false,
                    }))
                });
                if let Some(s) = &session {
                    self.redis_put(s, true).await;
                }
                session
            }
        };
        let session = session.filter(|s| s.expires_at > now);
        self.remember(id, session.clone());
        Ok(session)
    }

    /// Stores a new session.
    pub async fn insert(&self, session: Session) -> Result<Arc<Session>, DbError> {
        let data = serde_json::to_string(&session.data).map_err(json_error)?;
        q::insert(&self.db.request, &session.id, &data, session.expires_at).await?;
        let session = Arc::new(session);
        self.redis_put(&session, false).await;
        self.remember(&session.id, Some(session.clone()));
        Ok(session)
    }

    /// Rewrites a live session; `None` when it was logged out meanwhile.
    pub async fn update(&self, session: Session) -> Result<Option<Arc<Session>>, DbError> {
        let data = serde_json::to_string(&session.data).map_err(json_error)?;
        if !q::update(
            &self.db.request,
            &session.id,
            &data,
            session.expires_at,
            Utc::now(),
        )
        .await?
        {
            self.forget(&session.id).await;
            return Ok(None);
        }
        let session = Arc::new(session);
        self.redis_put(&session, false).await;
        self.remember(&session.id, Some(session.clone()));
        Ok(Some(session))
    }

    /// Ends a session everywhere: database row, Redis copy (tombstone), local copy.
    pub async fn delete(&self, id: &str) -> Result<(), DbError> {
        // Local and Redis first: even if the database is down the session stops here.
        self.forget(id).await;
        q::delete(&self.db.request, id).await
    }

    async fn forget(&self, id: &str) {
        self.remember(id, None);
        let cmd = redis::cmd("SET")
            .arg(self.redis_key(id))
            .arg(TOMBSTONE)
            .arg("PX")
            .arg(REDIS_TTL.as_millis() as u64)
            .to_owned();
        if let Err(error) = self.redis.run::<()>(&cmd).await
            && self.redis.enabled()
        {
            tracing::warn!(%error, "cannot mark a logged-out session in Redis; its copy there expires within 60 s");
        }
    }

    /// Removes expired sessions from the database and stale entries from memory.
    pub async fn sweep(&self) -> Result<u64, DbError> {
        {
            // Live sessions stay (the fallback while the database is down); forgotten ones go.
            let now = Utc::now();
            let ttl = self.local_ttl;
            self.local.retain(|_, c| match &c.session {
                Some(s) => s.expires_at > now,
                None => c.at.elapsed() < ttl,
            });
        }
        q::delete_expired(&self.db.request, Utc::now()).await
    }

    /// The local copy however old (used only while the database cannot be asked).
    fn local_any(&self, id: &str) -> Option<Option<Arc<Session>>> {
        self.local.get(id).map(|c| c.session)
    }

    fn local_hit(&self, id: &str) -> Option<Option<Arc<Session>>> {
        let cached = self.local.get(id)?;
        (cached.at.elapsed() < self.local_ttl).then_some(cached.session)
    }

    fn remember(&self, id: &str, session: Option<Arc<Session>>) {
        if self.local_ttl.is_zero() {
            return;
        }
        self.local.insert(
            id.to_string(),
            Cached {
                session,
                at: Instant::now(),
            },
        );
    }

    /// `Some(found)` when Redis answered (`found` is `None` for a tombstone), `None` on a
    /// miss or any failure.
    async fn redis_get(&self, id: &str) -> Option<Option<Arc<Session>>> {
        if !self.redis.enabled() {
            return None;
        }
        let cmd = redis::cmd("GET").arg(self.redis_key(id)).to_owned();
        let value: Option<String> = self.redis.run(&cmd).await.ok()?;
        let value = value?;
        if value == TOMBSTONE {
            return Some(None);
        }
        let copy: RedisCopy = serde_json::from_str(&value).ok()?;
        Some(Some(Arc::new(Session {
            id: id.to_string(),
            data: copy.data,
            expires_at: copy.expires_at,
            anonymous: false,
        })))
    }

    /// Writes a copy to Redis; `only_if_absent` for read-through copies, so a logout's
    /// tombstone always wins.
    async fn redis_put(&self, session: &Session, only_if_absent: bool) {
        if !self.redis.enabled() {
            return;
        }
        let left = (session.expires_at - Utc::now()).num_milliseconds();
        if left <= 0 {
            return;
        }
        let ttl = (left as u64).min(REDIS_TTL.as_millis() as u64);
        let copy = RedisCopy {
            data: session.data.clone(),
            expires_at: session.expires_at,
        };
        let Ok(value) = serde_json::to_string(&copy) else {
            return;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(&session.id))
            .arg(value)
            .arg("PX")
            .arg(ttl);
        if only_if_absent {
            cmd.arg("NX");
        }
        // A failure only costs a later database read.
        let _ = self.redis.run::<Option<String>>(&cmd).await;
    }
}

fn json_error(e: serde_json::Error) -> DbError {
    DbError::Query {
        detail: format!("cannot encode the session: {e}"),
    }
}
