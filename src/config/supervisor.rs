//! Supervisor settings: worker processes, watchdog, reload, restart policy (DESIGN §2, §5).

use super::Mode;
use super::env::Reader;

#[derive(Debug, Clone)]
pub struct SupervisorSettings {}

pub(super) fn read(_r: &mut Reader<'_>, _mode: Mode) -> SupervisorSettings {
    SupervisorSettings {}
}
