//! Degraded-mode settings: circuit breaker, extra pools, health thresholds (DESIGN §3.3–3.4).

use super::Mode;
use super::env::Reader;

#[derive(Debug, Clone)]
pub struct ResilienceSettings {}

pub(super) fn read(_r: &mut Reader<'_>, _mode: Mode) -> ResilienceSettings {
    ResilienceSettings {}
}
