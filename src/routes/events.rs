//! `GET /api/events`: one server-sent event stream per open page (logged-in), telling it
//! when its data changed so it refetches in place:
//!
//! - `wip` — `{"version":"…","updated_at":"…"}` when a new WIP snapshot is served (and once at
//!   connect, so a page can compare with the version it rendered);
//! - `equipment` — each applied tool change, as `/api/resource/status/stream` sends it
//!   (`{"changed":[…],"removed":[…],"summary":{…}}`, id: the change sequence); `resync`
//!   when the client fell behind;
//! - `health` — `{"status":"healthy|degraded|unhealthy"}` when the status changes (and at
//!   connect once known).
//!
//! Keep-alive comments every `EQUIPMENT_STREAM_KEEPALIVE_SECONDS`. The stream ends at logout
//! (within a second, any worker or instance), at shutdown and after its lifetime, and holds
//! one of the worker's `EVENT_STREAMS_MAX` places (see [`super::resource_stream`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::response::sse::Event;
use axum::routing::get;
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::resource_stream::{StreamEnd, change_event_named, hello, respond, resync_event};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::wip::WipCache;
use crate::equipment::ChangeEvent;
use crate::health::Status;
use crate::http::AppError;
use crate::session::SessionHandle;

/// How often the health watch re-checks while any stream is open (the memoized check: one
/// database round trip on the health pool at most per memo period).
pub const HEALTH_WATCH_EVERY: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(open))
}

async fn open(
    State(app): State<AppState>,
    _user: CurrentUser,
    session: SessionHandle,
) -> Result<Response, AppError> {
    let session = session.get().await?.filter(|s| !s.anonymous);
    let end = StreamEnd::take(&app, session.as_ref().map(|s| s.id.as_str()))?;
    let sources = Sources {
        wip: app.wip.clone(),
        installs: app.wip.versions(),
        equipment: app.equipment.subscribe(),
        health: app.health.watch_status(),
    };
    Ok(respond(
        events(sources, end),
        app.config.equipment.stream_keepalive,
    ))
}

/// What one stream listens to.
struct Sources {
    wip: Arc<WipCache>,
    installs: watch::Receiver<Option<String>>,
    equipment: broadcast::Receiver<Arc<ChangeEvent>>,
    health: watch::Receiver<Option<Status>>,
}

#[derive(Serialize)]
struct WipChanged<'a> {
    version: &'a str,
    updated_at: &'a str,
}

fn wip_event(wip: &WipCache) -> Option<Event> {
    let snapshot = wip.current()?;
    let data = serde_json::to_string(&WipChanged {
        version: &snapshot.version,
        updated_at: &snapshot.updated_at,
    })
    .ok()?;
    Some(Event::default().event("wip").data(data))
}

fn health_event(status: Status) -> Event {
    #[derive(Serialize)]
    struct HealthChanged {
        status: Status,
    }
    let data = serde_json::to_string(&HealthChanged { status }).unwrap_or_default();
    Event::default().event("health").data(data)
}

struct StreamState {
    /// Events due before anything is awaited (the greeting and the current state).
    queued: Vec<Event>,
    sources: Sources,
    end: StreamEnd,
}

fn events(mut sources: Sources, end: StreamEnd) -> impl Stream<Item = Result<Event, Infallible>> {
    // The state at connect, read while marking it seen: a change after this point is sent.
    sources.installs.borrow_and_update();
    let health_now = *sources.health.borrow_and_update();
    let mut queued: Vec<Event> = [Some(hello()), wip_event(&sources.wip)]
        .into_iter()
        .chain(std::iter::once(health_now.map(health_event)))
        .flatten()
        .collect();
    queued.reverse();
    let state = StreamState {
        queued,
        sources,
        end,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        if let Some(event) = state.queued.pop() {
            return Some((Ok(event), state));
        }
        loop {
            let sources = &mut state.sources;
            let event = tokio::select! {
                // Ending wins over buffered changes.
                biased;
                () = state.end.reached() => return None,
                changed = sources.installs.changed() => match changed {
                    Ok(()) => match wip_event(&sources.wip) {
                        Some(event) => event,
                        None => continue,
                    },
                    Err(_) => return None,
                },
                changed = sources.health.changed() => match changed {
                    Ok(()) => match *sources.health.borrow_and_update() {
                        Some(status) => health_event(status),
                        None => continue,
                    },
                    Err(_) => return None,
                },
                received = sources.equipment.recv() => match received {
                    Ok(change) => change_event_named("equipment", &change),
                    Err(RecvError::Lagged(missed)) => resync_event(missed),
                    Err(RecvError::Closed) => return None,
                },
            };
            return Some((Ok(event), state));
        }
    })
}

/// Keeps the health status current while any event stream watches it: the memoized check
/// every [`HEALTH_WATCH_EVERY`], nothing while no stream is open.
pub async fn watch_health(app: AppState, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEALTH_WATCH_EVERY) => {}
        }
        if app.health.status_watchers() > 0 {
            super::health::memoized(&app).await;
        }
    }
}
