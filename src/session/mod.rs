//! Server-side sessions (DESIGN §4.3) and the CSRF secret they carry (§4.2).
//!
//! A small layer of our own rather than tower-sessions 0.15, because the contract needs what
//! that crate does not give cleanly: it saves the whole session after every request when
//! sessions expire on inactivity (a store write per request on the hottest path), its signed
//! cookies take one key (no `SECRET_KEY_FALLBACKS` during a rotation), and its published
//! stores do not compile against 0.15. Here a request only reads (in-process cache → Redis →
//! database, see [`store`]); writes happen on the few requests that change something: login
//! (new id), heartbeat (new expiry) and logout. Before login a session is anonymous and lives
//! in its signed cookie alone ([`cookie`]): its CSRF secret is derived from its id, so the login
//! form costs no write and works while the database is down.
//!
//! The session middleware (`http/middleware/session.rs`) puts a [`SessionHandle`] in the
//! request's extensions; nothing is loaded until an extractor or the CSRF check asks, and the
//! handle's cookie decision ([`SessionHandle::set_cookie`]) is written on the response there.
//! This module deals in sessions and cookie values, not in HTTP types.

pub mod cookie;
pub mod csrf;
pub mod live;
pub mod store;
pub mod sweeper;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::auth::User;
use crate::config::{AuthSettings, SecretKeys};
use crate::db::{Database, DbError};
use crate::redis::Redis;
use cookie::{CookieKeys, CookiePolicy, VerifiedId, random_token};
use live::LiveSessions;
pub use store::{Session, SessionStore};

/// What a session holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// `None` for an anonymous session (one that only carries a CSRF secret, for the login
    /// form).
    pub user: Option<Arc<User>>,
    /// The CSRF secret, base64url; only masked tokens derived from it leave the server.
    pub csrf_secret: String,
    /// When the user logged in: the session ends `SESSION_ABSOLUTE_LIFETIME` after it, however
    /// often it is extended. Absent in anonymous sessions (and in sessions stored before it
    /// existed: their bound starts at their next extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_in_at: Option<DateTime<Utc>>,
}

/// The session machinery of one process.
pub struct Sessions {
    pub store: SessionStore,
    keys: CookieKeys,
    policy: CookiePolicy,
    lifetime: chrono::Duration,
    /// `SESSION_ABSOLUTE_LIFETIME`: the longest a login lasts, heartbeats or not.
    absolute: chrono::Duration,
    /// The sessions with open event streams on this worker (ended at logout).
    pub live: Arc<LiveSessions>,
}

impl Sessions {
    pub fn new(
        settings: &AuthSettings,
        secrets: &SecretKeys,
        db: Arc<Database>,
        redis: Arc<Redis>,
    ) -> Self {
        Self {
            live: Arc::new(LiveSessions::new(db.clone())),
            store: SessionStore::new(db, redis, settings.session_cache_ttl),
            keys: CookieKeys::new(secrets),
            policy: CookiePolicy {
                secure: settings.cookie_secure,
                same_site_strict: settings.cookie_same_site_strict,
            },
            lifetime: chrono::Duration::from_std(settings.session_lifetime)
                .unwrap_or(chrono::Duration::hours(8)),
            absolute: chrono::Duration::from_std(settings.session_absolute_lifetime)
                .unwrap_or(chrono::Duration::hours(24)),
        }
    }

    pub fn keys(&self) -> &CookieKeys {
        &self.keys
    }

    fn fresh(&self, user: Option<Arc<User>>) -> Session {
        let now = Utc::now();
        let data = SessionData {
            user,
            csrf_secret: random_token(),
            logged_in_at: Some(now),
        };
        Session {
            id: random_token(),
            expires_at: self.expiry(&data, now),
            data,
            anonymous: false,
        }
    }

    /// When a session holding `data`, extended at `now`, ends: a full `SESSION_LIFETIME`
    /// later, but never past `SESSION_ABSOLUTE_LIFETIME` after the login.
    fn expiry(&self, data: &SessionData, now: DateTime<Utc>) -> DateTime<Utc> {
        let idle = now + self.lifetime;
        match data.logged_in_at {
            Some(at) => idle.min(at + self.absolute),
            None => idle,
        }
    }

    /// The cookie-only session `id` (its CSRF secret derived from the id and key `key_index`).
    fn anonymous(&self, id: String, key_index: usize) -> Session {
        Session {
            data: SessionData {
                user: None,
                csrf_secret: self.keys.anonymous_csrf_secret(key_index, &id),
                logged_in_at: None,
            },
            id,
            expires_at: Utc::now() + self.lifetime,
            anonymous: true,
        }
    }
}

/// The cookie a response must carry.
#[derive(Debug, Clone)]
enum CookieAction {
    Keep,
    Set(Arc<Session>),
    Clear,
}

struct HandleInner {
    sessions: Arc<Sessions>,
    cookie: Option<VerifiedId>,
    loaded: OnceCell<Option<Arc<Session>>>,
    /// Set once this request changed the session (login, logout, heartbeat, creation).
    replaced: Mutex<Option<Option<Arc<Session>>>>,
    action: Mutex<CookieAction>,
}

/// The session of one request, loaded on first use.
#[derive(Clone)]
pub struct SessionHandle(Arc<HandleInner>);

impl SessionHandle {
    pub fn new(sessions: Arc<Sessions>, cookie: Option<VerifiedId>) -> Self {
        Self(Arc::new(HandleInner {
            sessions,
            cookie,
            loaded: OnceCell::new(),
            replaced: Mutex::new(None),
            action: Mutex::new(CookieAction::Keep),
        }))
    }

    fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// The request's session, if its cookie names a live one.
    pub async fn get(&self) -> Result<Option<Arc<Session>>, DbError> {
        if let Some(replaced) = self.0.replaced.lock().clone() {
            return Ok(replaced);
        }
        let loaded = self
            .0
            .loaded
            .get_or_try_init(|| async {
                match &self.0.cookie {
                    None => Ok(None),
                    Some(cookie) if cookie.anonymous => Ok(Some(Arc::new(
                        self.sessions()
                            .anonymous(cookie.id.clone(), cookie.key_index),
                    ))),
                    Some(cookie) => {
                        let store = &self.sessions().store;
                        if let Some(hit) = store.cached(&cookie.id) {
                            return Ok(hit);
                        }
                        // Boxed: the store's path through Redis and the database is a large
                        // future; inline it would be copied on every request, cache hit or not.
                        Box::pin(store.load(&cookie.id)).await
                    }
                }
            })
            .await?;
        Ok(loaded.clone())
    }

    /// The logged-in user, if any.
    pub async fn user(&self) -> Result<Option<Arc<User>>, DbError> {
        Ok(self.get().await?.and_then(|s| s.data.user.clone()))
    }

    fn replace(&self, session: Option<Arc<Session>>, action: CookieAction) {
        *self.0.replaced.lock() = Some(session);
        *self.0.action.lock() = action;
    }

    /// The session, created (anonymous, cookie-only: no storage) when there is none: pages with
    /// forms and `GET /api/auth/csrf` need a CSRF secret before anyone logs in.
    pub async fn ensure(&self) -> Result<Arc<Session>, DbError> {
        if let Some(session) = self.get().await? {
            return Ok(session);
        }
        let session = Arc::new(self.sessions().anonymous(random_token(), 0));
        self.replace(Some(session.clone()), CookieAction::Set(session.clone()));
        Ok(session)
    }

    /// A fresh masked CSRF token of this request's session (created when needed).
    pub async fn csrf_token(&self) -> Result<String, DbError> {
        Ok(csrf::mask(&self.ensure().await?.data.csrf_secret))
    }

    /// Logs `user` in: a new session id and a new CSRF secret; the old session ends.
    pub async fn login(&self, user: User) -> Result<Arc<Session>, DbError> {
        let sessions = self.sessions();
        if let Some(old) = self.get().await?.filter(|s| !s.anonymous) {
            sessions.store.delete(&old.id).await?;
            sessions.live.end(&old.id);
        }
        let session = sessions
            .store
            .insert(sessions.fresh(Some(Arc::new(user))))
            .await?;
        self.replace(Some(session.clone()), CookieAction::Set(session.clone()));
        Ok(session)
    }

    /// Ends the session everywhere (database, Redis, every worker's cache within
    /// `SESSION_CACHE_MS`) and removes the cookie.
    pub async fn logout(&self) -> Result<(), DbError> {
        if let Some(session) = self.get().await?.filter(|s| !s.anonymous) {
            self.sessions().store.delete(&session.id).await?;
            // This worker's streams of the session end now; the others' within
            // `live::CHECK_EVERY` (they see the deletion in the database).
            self.sessions().live.end(&session.id);
        }
        self.replace(None, CookieAction::Clear);
        Ok(())
    }

    /// Extends the session by a full `SESSION_LIFETIME` from now, never past its absolute
    /// end; `None` when there is no live session.
    pub async fn extend(&self) -> Result<Option<Arc<Session>>, DbError> {
        let Some(current) = self.get().await?.filter(|s| !s.anonymous) else {
            return Ok(None);
        };
        let sessions = self.sessions();
        let mut next = (*current).clone();
        let now = Utc::now();
        next.data.logged_in_at.get_or_insert(now);
        next.expires_at = sessions.expiry(&next.data, now);
        let updated = sessions.store.update(next).await?;
        let action = match &updated {
            Some(s) => CookieAction::Set(s.clone()),
            None => CookieAction::Clear,
        };
        self.replace(updated.clone(), action);
        Ok(updated)
    }

    /// The `Set-Cookie` value the response must carry, if any. `success`: the answer is not
    /// an error; only then is a cookie signed with a fallback key re-issued under the current
    /// key.
    pub fn set_cookie(&self, success: bool) -> Option<String> {
        let sessions = self.sessions();
        let action = self.0.action.lock().clone();
        match action {
            CookieAction::Set(session) => Some(signed_cookie(sessions, &session)),
            CookieAction::Clear => Some(sessions.policy.clear()),
            CookieAction::Keep => {
                // An anonymous cookie keeps its key: its CSRF secret is derived from it.
                let stale = self
                    .0
                    .cookie
                    .as_ref()
                    .is_some_and(|c| c.stale_key && !c.anonymous);
                match self.0.loaded.get() {
                    Some(Some(session)) if stale && success => {
                        Some(signed_cookie(sessions, session))
                    }
                    _ => None,
                }
            }
        }
    }
}

fn signed_cookie(sessions: &Sessions, session: &Session) -> String {
    let max_age = (session.expires_at - Utc::now()).num_seconds();
    let signed = if session.anonymous {
        sessions.keys.sign_anonymous(&session.id)
    } else {
        sessions.keys.sign(&session.id)
    };
    sessions.policy.set(&signed, max_age)
}
