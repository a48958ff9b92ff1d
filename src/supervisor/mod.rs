//! The supervisor (DESIGN §2, §5): one listening socket, worker processes that inherit it,
//! zero-downtime reload, a watchdog, and a restart policy whose every decision is recorded.
//!
//! - [`master`]: the `serve` role with `WORKERS` > 0 — binds `BIND` once, spawns workers
//!   ([`spawn`]), and runs one event loop for their control channels, signals and the watchdog;
//!   reloads are tracked in [`reload`].
//! - [`worker`]: the hidden worker role — takes the inherited socket and control channel and
//!   serves through the same path as in-process serving ([`crate::serve`]).
//! - [`protocol`]: the newline-delimited JSON spoken on the control channel.
//! - [`policy`]: the restart policy as pure functions of the history and a clock.
//! - [`history`], [`files`], [`audit`], [`report`]: the runtime directory (pid file, restart history,
//!   file audit log) and the audit trail of every decision.
//! - [`link`]: what the HTTP side sees ([`link::Supervision`], held by the `App`): worker and
//!   policy status, and restart requests.
//! - [`health`]: the cheap policy summary and recovery recommendation for `/health`.
//! - [`notify`]: systemd notifications (READY, RELOADING, STOPPING, WATCHDOG).

pub mod audit;
pub mod files;
pub mod health;
pub mod history;
pub mod link;
pub mod master;
pub mod notify;
pub mod policy;
pub mod protocol;
pub mod reload;
pub mod report;
pub mod spawn;
pub mod watchdog;
pub mod worker;

pub use health::{PolicyHealth, Recommendation, recovery_recommendation};
pub use link::Supervision;
