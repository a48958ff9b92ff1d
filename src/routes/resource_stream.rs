//! `GET /api/resource/status/stream`: server-sent events, one `change` event per applied
//! change (data: `{"changed":[…],"removed":[…],"summary":{…}}`, id: the process's change
//! sequence), a keep-alive comment every `EQUIPMENT_STREAM_KEEPALIVE_SECONDS`, and a `resync`
//! event when a slow client fell behind and should reload the full status.
//!
//! A stream ends when the process starts to stop (`App::stopping`), so the HTTP drain never
//! waits for open streams; when its session ends (a logout on any worker: the session is
//! checked again at every keep-alive interval); and after [`LIFETIME`] in any case, so a
//! browser reconnects through the full access check.
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
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::equipment::ChangeEvent;
use crate::session::Sessions;

/// How long a browser waits before reconnecting after the stream ends.
const RECONNECT_AFTER: Duration = Duration::from_secs(5);
/// Longest life of one stream; the browser then reconnects with its session cookie.
pub const LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Re-reads the stream's session every `every`: a logout elsewhere ends the stream.
pub struct SessionCheck {
    pub sessions: Arc<Sessions>,
    pub id: String,
    pub every: Duration,
}

impl SessionCheck {
    async fn alive(&self) -> bool {
        match Box::pin(self.sessions.store.load(&self.id)).await {
            Ok(found) => found.is_some(),
            // The session store is unreachable: keep serving, as every other read does.
            Err(_) => true,
        }
    }
}

/// The event stream of one client, subscribed before the response head is sent: a change
/// applied after the client has the head reaches it. `session`: the logged-in session it
/// serves, checked at every keep-alive interval.
pub fn open(app: &AppState, session: Option<String>) -> Response {
    let receiver = app.equipment.subscribe();
    let stop = app.stopping.clone();
    let every = app.config.equipment.stream_keepalive;
    let check = session.map(|id| SessionCheck {
        sessions: app.sessions.clone(),
        id,
        every,
    });
    let sse = Sse::new(events(receiver, stop, LIFETIME, check))
        .keep_alive(KeepAlive::new().interval(every).text("keep-alive"));
    let mut response = sse.into_response();
    // Reverse proxies (nginx) must pass events through as they come.
    response.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

struct State {
    hello: bool,
    receiver: broadcast::Receiver<Arc<ChangeEvent>>,
    stop: CancellationToken,
    check: Option<SessionCheck>,
    next_check: tokio::time::Instant,
}

fn events(
    receiver: broadcast::Receiver<Arc<ChangeEvent>>,
    stop: CancellationToken,
    lifetime: Duration,
    check: Option<SessionCheck>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let now = tokio::time::Instant::now();
    let end = now + lifetime;
    let next_check = now + check.as_ref().map_or(lifetime, |c| c.every);
    let state = State {
        hello: true,
        receiver,
        stop,
        check,
        next_check,
    };
    futures_util::stream::unfold(state, move |mut state| async move {
        if state.hello {
            state.hello = false;
            let hello = Event::default().retry(RECONNECT_AFTER).comment("connected");
            return Some((Ok(hello), state));
        }
        loop {
            let event = tokio::select! {
                // Stopping wins over buffered changes.
                biased;
                () = state.stop.cancelled() => return None,
                () = tokio::time::sleep_until(end) => return None,
                () = tokio::time::sleep_until(state.next_check), if state.check.is_some() => {
                    let check = state.check.as_ref().expect("guarded by the branch condition");
                    if !check.alive().await {
                        return None;
                    }
                    state.next_check = tokio::time::Instant::now() + check.every;
                    continue;
                }
                received = state.receiver.recv() => match received {
                    Ok(change) => Event::default()
                        .event("change")
                        .id(change.seq.to_string())
                        .data(&change.data),
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("resync")
                        .data(format!("{{\"missed\":{missed}}}")),
                    Err(RecvError::Closed) => return None,
                },
            };
            return Some((Ok(event), state));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;

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
        let mut body = Sse::new(events(receiver, stop.clone(), LIFETIME, None))
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
        let mut body: Body = Sse::new(events(receiver, CancellationToken::new(), lifetime, None))
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
