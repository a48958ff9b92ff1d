//! systemd notifications from the supervisor (`Type=notify`): READY once the first generation
//! serves, RELOADING/READY around a reload, STOPPING, a STATUS line, and the WATCHDOG ping
//! (the core decides when: at half of `WatchdogSec`). Outside systemd (no `NOTIFY_SOCKET`)
//! every call is a no-op. Workers never notify: the variables are removed from their
//! environment at spawn.

use std::time::Duration;

use sd_notify::NotifyState;

pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    pub fn from_env() -> Self {
        Self {
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    /// `WatchdogSec`, when systemd expects pings.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    pub fn ready(&self, status: &str) {
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn reloading(&self, status: &str) {
        // systemd ≥ 253 requires MONOTONIC_USEC with RELOADING=1.
        match NotifyState::monotonic_usec_now() {
            Ok(now) => send(&[NotifyState::Reloading, now, NotifyState::Status(status)]),
            Err(_) => send(&[NotifyState::Reloading, NotifyState::Status(status)]),
        }
    }

    pub fn stopping(&self) {
        send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    pub fn status(&self, status: &str) {
        send(&[NotifyState::Status(status)]);
    }

    pub fn ping(&self) {
        send(&[NotifyState::Watchdog]);
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}
