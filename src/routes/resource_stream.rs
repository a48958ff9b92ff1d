//! `GET /api/resource/status/stream`: server-sent events, one `change` event per applied
//! change (data: `{"changed":[…],"removed":[…],"summary":{…}}`, id: the process's change
//! sequence), a keep-alive comment every `EQUIPMENT_STREAM_KEEPALIVE_SECONDS`, and a `resync`
//! event when a slow client fell behind and should reload the full status.
//!
//! A stream ends when the process starts to stop (`App::stopping`), so the HTTP drain never
//! waits for open streams; when its session ends (a logout on any worker or instance, seen
//! within a second through [`crate::session::live`]); for a non-administrator, when `/resource`
//! is set to `dev` (seen by this worker's page registry: at once on the worker where it was
//! set, within its refresh elsewhere); and after [`LIFETIME`] in any case, so
//! a browser reconnects through the full access check. Every stream of a worker — this one and
//! `GET /api/events` — holds one of its `EVENT_STREAMS_MAX` places ([`StreamPlaces`]).
//!
//! The changes come from [`crate::equipment::EquipmentStatus::subscribe`]; this module is
//! only their HTTP form.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::equipment::ChangeEvent;
use crate::http::AppError;
use crate::routes::page_registry::PageRegistry;
use crate::session::live::StreamLease;

/// How long a browser waits before reconnecting after the stream ends.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(5);
/// Longest life of one stream; the browser then reconnects with its session cookie.
pub const LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The path of the equipment status stream (an API of `/resource` in the page catalog).
pub const STATUS_STREAM: &str = "/api/resource/status/stream";
/// `Retry-After` of a stream refused because the worker's places are taken.
const FULL_RETRY_AFTER: u64 = 10;

/// The open-stream places of one worker (`EVENT_STREAMS_MAX`).
pub struct StreamPlaces {
    places: Arc<Semaphore>,
    max: usize,
}

impl StreamPlaces {
    pub fn new(max: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// A place for one more stream, or 503 with `Retry-After` when all are taken.
    pub fn take(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.places
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::ServiceUnavailable {
                message: format!(
                    "this worker already serves {} event streams (EVENT_STREAMS_MAX)",
                    self.max
                ),
                retry_after: FULL_RETRY_AFTER,
            })
    }

    /// How many streams are open now.
    pub fn open(&self) -> usize {
        self.max - self.places.available_permits()
    }
}

/// What ends a stream besides its own source: the process stopping, the lifetime, the
/// session's end. Holds the stream's place and session lease until it is dropped.
pub struct StreamEnd {
    pub stop: CancellationToken,
    /// For a non-administrator's stream of a page's API: the registry and the API path; the
    /// stream ends when that page is set to `dev` (the client's reconnect then gets 403).
    pub hidden: Option<(Arc<PageRegistry>, &'static str)>,
    pub until: tokio::time::Instant,
    pub lease: Option<StreamLease>,
    pub _place: OwnedSemaphorePermit,
}

impl StreamEnd {
    /// A place for one stream of `session` (`None`: not a stored session) on `app`.
    pub fn take(app: &AppState, session: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            _place: app.streams.take()?,
            stop: app.stopping.clone(),
            hidden: None,
            until: tokio::time::Instant::now() + LIFETIME,
            lease: session.map(|id| app.sessions.live.lease(id)),
        })
    }

    /// Resolves when the stream must end.
    pub async fn reached(&self) {
        let session_ended = async {
            match &self.lease {
                Some(lease) => lease.ended.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let hidden = async {
            match &self.hidden {
                Some((pages, path)) => pages.hidden(path).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep_until(self.until) => {}
            () = session_ended => {}
            () = hidden => {}
        }
    }
}

/// An SSE response of `events`, with a keep-alive comment every `keepalive`, passed through
/// reverse proxies as it comes.
pub fn respond<S>(events: S, keepalive: Duration) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive"));
    let mut response = sse.into_response();
    // Reverse proxies (nginx) must pass events through as they come.
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

/// The first event of every stream: the reconnect delay and a comment.
pub fn hello() -> Event {
    Event::default().retry(RECONNECT_AFTER).comment("connected")
}

/// The event stream of one client, subscribed before the response head is sent: a change
/// applied after the client has the head reaches it. `session`: the logged-in session it
/// serves; `admin`: whether its user is an administrator (else the stream ends when its page
/// is set to `dev`).
pub fn open(app: &AppState, session: Option<&str>, admin: bool) -> Result<Response, AppError> {
    let mut end = StreamEnd::take(app, session)?;
    if !admin {
        end.hidden = Some((app.pages.clone(), STATUS_STREAM));
    }
    let receiver = app.equipment.subscribe();
    Ok(respond(
        events(receiver, end),
        app.config.equipment.stream_keepalive,
    ))
}

struct State {
    hello: bool,
    receiver: broadcast::Receiver<Arc<ChangeEvent>>,
    end: StreamEnd,
}

fn events(
    receiver: broadcast::Receiver<Arc<ChangeEvent>>,
    end: StreamEnd,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = State {
        hello: true,
        receiver,
        end,
    };
    futures_util::stream::unfold(state, move |mut state| async move {
        if state.hello {
            state.hello = false;
            return Some((Ok(hello()), state));
        }
        let event = tokio::select! {
            // Ending wins over buffered changes.
            biased;
            () = state.end.reached() => return None,
            received = state.receiver.recv() => match received {
                Ok(change) => change_event(&change),
                Err(RecvError::Lagged(missed)) => resync_event(missed),
                Err(RecvError::Closed) => return None,
            },
        };
        Some((Ok(event), state))
    })
}

/// One applied equipment change as an event named `name`.
pub fn change_event_named(name: &'static str, change: &ChangeEvent) -> Event {
    Event::default()
        .event(name)
        .id(change.seq.to_string())
        .data(&change.data)
}

fn change_event(change: &ChangeEvent) -> Event {
    change_event_named("change", change)
}

/// Tells a client that fell `missed` changes behind to reload the full status.
pub fn resync_event(missed: u64) -> Event {
    Event::default()
        .event("resync")
        .data(format!("{{\"missed\":{missed}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;

    fn end(stop: &CancellationToken, lifetime: Duration) -> StreamEnd {
        StreamEnd {
            stop: stop.clone(),
            hidden: None,
            until: tokio::time::Instant::now() + lifetime,
            lease: None,
            _place: StreamPlaces::new(1).take().expect("a free place"),
        }
    }

    #[test]
    fn places_are_bounded_and_freed_when_a_stream_ends() {
        let places = StreamPlaces::new(2);
        let first = places.take().unwrap();
        let _second = places.take().unwrap();
        assert_eq!(places.open(), 2);
        let refused = places.take().unwrap_err();
        assert_eq!(refused.retry_after(), Some(FULL_RETRY_AFTER));
        assert!(
            refused.to_string().contains("EVENT_STREAMS_MAX"),
            "{refused}"
        );
        drop(first);
        assert_eq!(places.open(), 1);
        assert!(places.take().is_ok());
    }

    async fn next_text(body: &mut Body) -> Option<String> {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("a frame or the end within the bound")?
            .expect("no body error");
        Some(String::from_utf8(frame.into_data().expect("data").to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_lagging_client_is_told_to_resync_and_the_stream_ends_at_stop() {
        let (sender, receiver) = broadcast::channel(4);
        let stop = CancellationToken::new();
        let mut body = Sse::new(events(receiver, end(&stop, LIFETIME)))
            .into_response()
            .into_body();
        for seq in 1..=10 {
            let data = format!("{{\"n\":{seq}}}");
            sender.send(Arc::new(ChangeEvent { seq, data })).unwrap();
        }

        let hello = next_text(&mut body).await.unwrap();
        assert!(
            hello.contains("retry: 5000") && hello.contains(": connected"),
            "{hello}"
        );
        let resync = next_text(&mut body).await.unwrap();
        assert_eq!(resync, "event: resync\ndata: {\"missed\":6}\n\n");
        let change = next_text(&mut body).await.unwrap();
        assert_eq!(change, "event: change\nid: 7\ndata: {\"n\":7}\n\n");

        stop.cancel();
        assert_eq!(
            next_text(&mut body).await,
            None,
            "ends although changes are buffered"
        );
    }

    #[tokio::test]
    async fn a_stream_ends_after_its_lifetime_so_the_session_is_checked_again() {
        let (sender, receiver) = broadcast::channel(4);
        let lifetime = Duration::from_millis(300);
        let mut body: Body = Sse::new(events(receiver, end(&CancellationToken::new(), lifetime)))
            .into_response()
            .into_body();
        let started = tokio::time::Instant::now();
        let bound = Duration::from_secs(20);
        let mut next = async || {
            tokio::time::timeout(bound, body.frame())
                .await
                .expect("a frame or the end")
        };
        assert!(next().await.is_some(), "the hello");
        sender
            .send(Arc::new(ChangeEvent {
                seq: 1,
                data: "{}".into(),
            }))
            .unwrap();
        assert!(next().await.is_some(), "a change");
        assert!(next().await.is_none(), "then the end, with no stop");
        assert!(started.elapsed() >= lifetime);
    }
}
