//! The supervisor (DESIGN §2, §5): one listening socket, worker processes that inherit it,
//! zero-downtime reload, a watchdog, and a restart policy whose every decision is recorded.
//!
//! - [`core`]: every decision, as a pure state machine — events and the time in, effects out
//!   (reloads, the watchdog, crash replacement, recycling, manual restarts by the [`policy`]).
//! - [`master`]: the `serve` role with `WORKERS` > 0 — binds `BIND` once, turns signals, the
//!   workers' control channels and exits, and a tick into the core's events, and carries its
//!   effects out: spawns workers ([`spawn`]), signals them, notifies systemd ([`notify`]),
//!   audits ([`audit`]), saves the history ([`history`]).
//! - [`worker`]: the hidden worker role — takes the inherited socket and control channel and
//!   serves through the same path as in-process serving ([`crate::serve`]).
//! - [`protocol`]: the newline-delimited JSON spoken on the control channel.
//! - [`policy`]: the restart policy as pure functions of the history and the time.
//! - [`history`], [`files`], [`audit`]: the runtime directory (pid file, restart history,
//!   file audit log) and the audit trail of every decision.
//! - [`link`]: what the HTTP side sees ([`link::Supervision`], held by the `App`): worker and
//!   policy status, and restart requests.
//! - [`health`]: the cheap policy summary and recovery recommendation for `/health`.

pub mod audit;
pub mod core;
pub mod files;
pub mod health;
pub mod history;
pub mod link;
pub mod master;
pub mod notify;
pub mod policy;
pub mod protocol;
pub mod spawn;
pub mod worker;

pub use health::{PolicyHealth, Recommendation, SupervisionMode, recovery_recommendation};
pub use link::Supervision;
