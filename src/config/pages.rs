//! What people see: the pages' language, the plant's time zone, the CSV export cap.

use super::env::Reader;
use crate::i18n::Lang;

#[derive(Debug, Clone)]
pub struct PageSettings {
    /// `DEFAULT_LANGUAGE`: the language of a request that names none (no `?lang=`, no `lang`
    /// cookie, no `Accept-Language` we speak): `zh-TW` (default) or `en`.
    pub default_language: Lang,
    /// `PLANT_TIME_ZONE`: the IANA zone every time on a page and in a CSV file is shown in
    /// (default `Asia/Taipei`). Stored times stay UTC.
    pub time_zone: chrono_tz::Tz,
    /// `CSV_EXPORT_MAX_ROWS`: the most rows one CSV export writes; past it the file ends with a
    /// line that says it was cut (default 100 000).
    pub csv_export_max_rows: usize,
}

pub(super) fn read(r: &mut Reader<'_>) -> PageSettings {
    PageSettings {
        default_language: r.parse("DEFAULT_LANGUAGE", Lang::ZhTw),
        time_zone: r.parse("PLANT_TIME_ZONE", chrono_tz::Tz::Asia__Taipei),
        csv_export_max_rows: r.int("CSV_EXPORT_MAX_ROWS", 100_000, 1, 10_000_000) as usize,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{EnvSource, Settings};
    use crate::i18n::Lang;

    #[test]
    fn page_settings_default_to_the_plant_and_are_validated() {
        let (s, diag) = Settings::from_source(&EnvSource::from_pairs([("MES_ENV", "testing")]));
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(s.pages.default_language, Lang::ZhTw);
        assert_eq!(s.pages.time_zone.name(), "Asia/Taipei");
        assert_eq!(s.pages.csv_export_max_rows, 100_000);

        let (s, diag) = Settings::from_source(&EnvSource::from_pairs([
            ("DEFAULT_LANGUAGE", "en"),
            ("PLANT_TIME_ZONE", "Europe/Berlin"),
        ]));
        assert!(!diag.has_errors(), "{diag}");
        assert_eq!(s.pages.default_language, Lang::En);
        assert_eq!(s.pages.time_zone.name(), "Europe/Berlin");

        let (_, diag) = Settings::from_source(&EnvSource::from_pairs([
            ("DEFAULT_LANGUAGE", "fr"),
            ("PLANT_TIME_ZONE", "Mars/Olympus"),
            ("CSV_EXPORT_MAX_ROWS", "0"),
        ]));
        for variable in ["DEFAULT_LANGUAGE", "PLANT_TIME_ZONE", "CSV_EXPORT_MAX_ROWS"] {
            assert!(
                diag.errors().any(|d| d.variable == variable),
                "{variable}: {diag}"
            );
        }
    }
}
