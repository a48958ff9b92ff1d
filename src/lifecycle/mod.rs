//! Process lifecycle: the shutdown registry every owner of a task or client registers with.

pub mod shutdown;

pub use shutdown::{HookOutcome, Outcome, Phase, ShutdownRegistry, ShutdownReport};
