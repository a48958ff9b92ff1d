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
//! Dev pages (issue 14, item 6): the stream itself serves every page, so it stays open to
//! every logged-in user; a kind of event is withheld from a non-administrator while its topic
//! is hidden by the page registry ([`super::page_registry`]: every page listing
//! `/api/events/wip` or `/api/events/equipment` is `dev`), judged at each event, so a page set
//! to `dev` stops feeding its events to users' open streams within the registry's refresh.
//! When a withheld kind is shown again, the next `wip` event says the current version (as at
//! connect) and the next equipment change is preceded by `resync` (changes were skipped).
//! `health` carries no report data and is always sent. The dedicated equipment stream
//! (`/api/resource/status/stream`) is an API of `/resource`: refused at connect while that page
//! is hidden.
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

use super::page_registry::{EQUIPMENT_EVENTS, PageRegistry, WIP_EVENTS};
use super::resource_stream::{StreamEnd, change_event_named, hello, respond, resync_event};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::auth::extract::is_admin;
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
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
) -> Result<Response, AppError> {
    let session = session.get().await?.filter(|s| !s.anonymous);
    let end = StreamEnd::take(&app, session.as_ref().map(|s| s.id.as_str()))?;
    let sources = Sources {
        wip: app.wip.clone(),
        installs: app.wip.versions(),
        equipment: app.equipment.subscribe(),
        health: app.health.watch_status(),
        filter: (!is_admin(&app, &user)).then(|| Withheld {
            pages: app.pages.clone(),
            wip: false,
            equipment: false,
        }),
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
    /// For a non-administrator: the kinds withheld while their pages are `dev`.
    filter: Option<Withheld>,
}

/// What a non-administrator's stream withholds, and what it withheld last.
struct Withheld {
    pages: Arc<PageRegistry>,
    /// Whether the last `wip` event due was withheld.
    wip: bool,
    /// Whether the last equipment change due was withheld.
    equipment: bool,
}

/// What to do with an event due now.
#[derive(Debug, PartialEq)]
enum Verdict {
    Send,
    Withhold,
    /// Send, but events of this kind were withheld before: the client must catch up.
    CatchUp,
}

fn judge(filter: Option<&mut Withheld>, topic: &str) -> Verdict {
    let Some(filter) = filter else {
        return Verdict::Send;
    };
    let hidden = filter.pages.hides(topic);
    let last = if topic == WIP_EVENTS {
        &mut filter.wip
    } else {
        &mut filter.equipment
    };
    match (std::mem::replace(last, hidden), hidden) {
        (_, true) => Verdict::Withhold,
        (true, false) => Verdict::CatchUp,
        (false, false) => Verdict::Send,
    }
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
    let wip_now = match judge(sources.filter.as_mut(), WIP_EVENTS) {
        Verdict::Withhold => None,
        Verdict::Send | Verdict::CatchUp => wip_event(&sources.wip),
    };
    // Equipment changes start from now: nothing to catch up on at connect.
    judge(sources.filter.as_mut(), EQUIPMENT_EVENTS);
    let mut queued: Vec<Event> = [Some(hello()), wip_now]
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
                    Ok(()) => match judge(sources.filter.as_mut(), WIP_EVENTS) {
                        Verdict::Withhold => continue,
                        // A `wip` event says the current version: it catches up by itself.
                        Verdict::Send | Verdict::CatchUp => match wip_event(&sources.wip) {
                            Some(event) => event,
                            None => continue,
                        },
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
                    Ok(change) => match judge(sources.filter.as_mut(), EQUIPMENT_EVENTS) {
                        Verdict::Withhold => continue,
                        Verdict::Send => change_event_named("equipment", &change),
                        // Changes were skipped: the client reloads the whole status.
                        Verdict::CatchUp => resync_event(0),
                    },
                    Err(RecvError::Lagged(missed)) => match judge(sources.filter.as_mut(), EQUIPMENT_EVENTS) {
                        Verdict::Withhold => continue,
                        Verdict::Send | Verdict::CatchUp => resync_event(missed),
                    },
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
