//! The request body under watch, for requests that declare one (`Content-Length` above zero or
//! `Transfer-Encoding`):
//!
//! - it must arrive within `BODY_READ_TIMEOUT` of the request head, else reading it fails with
//!   [`BodyReadTimeout`], which the extractors and the CSRF check answer 408 `REQUEST_TIMEOUT`
//!   (the request timeout, 60 s by default, is far too long to hold a connection and a buffer
//!   for a body that trickles in);
//! - whether it was read to its end is recorded, so the edge can answer `Connection: close`
//!   when the request was answered without reading it (a rejection before the body, a GET
//!   with a body): hyper cannot reuse such a connection, and a client or proxy that was not
//!   told would send its next request into a closing socket.
//!
//! Hand-written: tower-http's `TimeoutBody` bounds the wait between frames, not the whole body,
//! and no crate records the end of the body for the response.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The body did not arrive within `BODY_READ_TIMEOUT`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {seconds} seconds")]
pub struct BodyReadTimeout {
    pub seconds: u64,
}

/// Whether a request declares a body.
pub fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// Wraps the body of `req` (one that declares a body, its head read at `started`); the flag
/// turns true once it has been read to its end.
pub fn watch(req: Request, started: Instant, limit: Duration) -> (Request, Arc<AtomicBool>) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let req = req.map(|inner| {
        Body::new(Watched {
            inner,
            deadline: None,
            until: tokio::time::Instant::from_std(started) + limit,
            seconds: limit.as_secs(),
            done: flag,
        })
    });
    (req, done)
}

struct Watched {
    inner: Body,
    /// Made on the first wait for the body: a body that came with its head (the common small
    /// JSON body) is read without a timer.
    deadline: Option<Pin<Box<Sleep>>>,
    until: tokio::time::Instant,
    seconds: u64,
    done: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.done.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if this.inner.is_end_stream() {
                    this.done.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(frame))
            }
            Poll::Pending => match this
                .deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(this.until)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyReadTimeout {
                    seconds: this.seconds,
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The [`BodyReadTimeout`] somewhere in an error's chain of sources.
pub fn timeout_in(error: &(dyn std::error::Error + 'static)) -> Option<u64> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(timeout) = e.downcast_ref::<BodyReadTimeout>() {
            return Some(timeout.seconds);
        }
        current = e.source();
    }
    None
}
