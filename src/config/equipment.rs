//! Equipment-status sync and its live push (DESIGN §2: the realtime equipment-status sync).

use std::time::Duration;

use super::Mode;
use super::env::Reader;

#[derive(Debug, Clone)]
pub struct EquipmentSettings {
    /// `EQUIPMENT_STATUS_SYNC_INTERVAL`: seconds between reads of every tool's state. Default
    /// 5 in development (a demo shows live change), 300 elsewhere.
    pub sync_interval: Duration,
    /// `EQUIPMENT_STREAM_KEEPALIVE_SECONDS`: a comment line on every open event stream this
    /// often, so proxies and browsers keep an idle stream open.
    pub stream_keepalive: Duration,
    /// `EVENT_STREAMS_MAX`: open event streams per worker (`/api/events` and the equipment
    /// stream together); beyond it a new one is 503 with `Retry-After`.
    pub event_streams_max: usize,
}

pub(super) fn read(r: &mut Reader<'_>, mode: Mode) -> EquipmentSettings {
    let default_interval = if mode == Mode::Development { 5 } else { 300 };
    EquipmentSettings {
        sync_interval: r.seconds(
            "EQUIPMENT_STATUS_SYNC_INTERVAL",
            default_interval,
            1,
            86_400,
        ),
        stream_keepalive: r.seconds("EQUIPMENT_STREAM_KEEPALIVE_SECONDS", 15, 1, 300),
        event_streams_max: r.int("EVENT_STREAMS_MAX", 1_000, 1, 100_000) as usize,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{EnvSource, Settings};

    #[test]
    fn the_sync_interval_is_short_in_development_and_validated() {
        let (dev, diag) =
            Settings::from_source(&EnvSource::from_pairs([("MES_ENV", "development")]));
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(dev.equipment.sync_interval.as_secs(), 5);
        assert_eq!(dev.equipment.stream_keepalive.as_secs(), 15);

        let (_, diag) = Settings::from_source(&EnvSource::from_pairs([
            ("MES_ENV", "development"),
            ("EQUIPMENT_STATUS_SYNC_INTERVAL", "0"),
            ("EQUIPMENT_STREAM_KEEPALIVE_SECONDS", "soon"),
        ]));
        for variable in [
            "EQUIPMENT_STATUS_SYNC_INTERVAL",
            "EQUIPMENT_STREAM_KEEPALIVE_SECONDS",
        ] {
            assert!(
                diag.errors().any(|d| d.variable == variable),
                "{variable}: {diag}"
            );
        }
    }
}
