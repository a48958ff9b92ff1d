//! Shutdown settings (DESIGN §5).

use std::time::Duration;

use super::env::Reader;

#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    /// `SHUTDOWN_HOOK_TIMEOUT`: bound, in seconds, on each stop hook; a hook that takes longer
    /// is abandoned and the next one runs.
    pub hook_timeout: Duration,
}

pub(super) fn read(r: &mut Reader<'_>) -> LifecycleSettings {
    LifecycleSettings {
        hook_timeout: r.seconds("SHUTDOWN_HOOK_TIMEOUT", 5, 1, 120),
    }
}
