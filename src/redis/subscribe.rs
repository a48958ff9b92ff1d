//! Pub/sub subscriptions: one loop for every listener of the app (the WIP publications, the
//! equipment changes).
//!
//! A pub/sub connection is dedicated (it cannot run other commands) and, unlike the
//! connection manager, does not reconnect by itself. [`Redis::listen`] subscribes, hands every
//! message to a [`Subscriber`], and after a lost connection subscribes again with a back-off
//! (0.25 s doubling to 5 s), telling the subscriber each time so it can catch up on what it
//! missed. A connection that goes silent without closing (a dropped route, a frozen peer) is
//! found by a `PING` after [`IDLE_PING`] without traffic: no answer within the command
//! timeout counts as a lost connection.

use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Redis;

/// Bounds of the back-off between attempts to subscribe.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Silence on a subscription after which the connection is checked with a `PING`.
pub const IDLE_PING: Duration = Duration::from_secs(15);

/// What a subscription does with what it receives.
pub trait Subscriber: Sync {
    /// The subscription is in place (again): catch up on anything published meanwhile.
    fn subscribed(&self) -> impl Future<Output = ()> + Send;
    /// One message's payload.
    fn message(&self, payload: &[u8]) -> impl Future<Output = ()> + Send;
    /// The subscription ended: lost, or stopping.
    fn unsubscribed(&self) {}
}

/// Why a subscription's receive loop ended.
enum Ended {
    Stopping,
    Lost(&'static str),
}

impl Redis {
    /// Listens on `channel` (a full key, see [`Redis::key`]) until `stop`, or until the
    /// client is closed at shutdown; returns at once without Redis.
    pub async fn listen(
        &self,
        channel: &str,
        stop: &CancellationToken,
        subscriber: &impl Subscriber,
    ) {
        let mut retry = RETRY_MIN;
        loop {
            let Some(client) = self.client() else {
                return; // disabled, or closed at shutdown
            };
            let subscribe = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(channel).await?;
                Ok::<_, ::redis::RedisError>(pubsub)
            };
            let bound = self.connect_timeout + self.command_timeout;
            let subscribed = tokio::select! {
                () = stop.cancelled() => return,
                s = tokio::time::timeout(bound, subscribe) => s,
            };
            match subscribed {
                Ok(Ok(pubsub)) => {
                    retry = RETRY_MIN;
                    tracing::info!(channel, "subscribed");
                    subscriber.subscribed().await;
                    let ended = self.receive(pubsub, stop, subscriber).await;
                    subscriber.unsubscribed();
                    match ended {
                        Ended::Stopping => return,
                        Ended::Lost(why) => {
                            tracing::warn!(
                                channel,
                                reason = why,
                                "subscription lost; subscribing again"
                            )
                        }
                    }
                }
                Ok(Err(error)) => tracing::debug!(channel, %error, "cannot subscribe yet"),
                Err(_) => tracing::debug!(channel, "subscribing timed out"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// Hands each message to `subscriber` until the connection is lost (closed, or silent
    /// and not answering a `PING`) or `stop`.
    async fn receive(
        &self,
        pubsub: ::redis::aio::PubSub,
        stop: &CancellationToken,
        subscriber: &impl Subscriber,
    ) -> Ended {
        let (mut sink, mut messages) = pubsub.split();
        let mut idle = Box::pin(tokio::time::sleep(IDLE_PING));
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ended::Stopping,
                message = messages.next() => {
                    let Some(message) = message else {
                        return Ended::Lost("the connection closed");
                    };
                    subscriber.message(message.get_payload_bytes()).await;
                }
                () = &mut idle => {
                    // Any answer will do: in subscribed mode it is `["pong", ""]`.
                    let pong = tokio::time::timeout(
                        self.command_timeout,
                        sink.ping::<::redis::Value>(),
                    )
                    .await;
                    if !matches!(pong, Ok(Ok(_))) {
                        return Ended::Lost("no answer to PING");
                    }
                }
            }
            idle.as_mut().reset(tokio::time::Instant::now() + IDLE_PING);
        }
    }
}
