//! How holds are classified (PRODUCT §2): the plant's list of non-quality hold reasons; every
//! other reason, and a hold without one, is a quality hold.

use super::env::Reader;

/// The longest reason name accepted (the hold APIs take no longer filter either).
const MAX_REASON: usize = 100;

/// Quality or not, the split of every hold figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldType {
    Quality,
    NonQuality,
}

impl HoldType {
    /// As the APIs' `hold_type` parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quality => "quality",
            Self::NonQuality => "non-quality",
        }
    }
}

/// The non-quality hold reasons, compared exactly as stored (data is shown as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonQualityReasons(Vec<String>);

impl NonQualityReasons {
    pub fn new(names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        names.dedup();
        Self(names)
    }

    /// The demo factory's dozen (engineering validation, designated tool, stock-take, …).
    pub fn demo() -> Self {
        Self::new(crate::seed::catalog::non_quality_reasons())
    }

    /// In the order configured.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, reason: &str) -> bool {
        self.0.iter().any(|r| r == reason)
    }

    /// The type of a hold with `reason` (`None`: entered without one, a quality hold).
    pub fn hold_type(&self, reason: Option<&str>) -> HoldType {
        match reason {
            Some(r) if self.contains(r) => HoldType::NonQuality,
            _ => HoldType::Quality,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HoldSettings {
    /// `NON_QUALITY_HOLD_REASONS`: reasons that are not about quality, comma-separated,
    /// exactly as the data stores them. Default: the demo factory's dozen.
    pub non_quality_reasons: NonQualityReasons,
}

pub(super) fn read(r: &mut Reader<'_>, production_like: bool) -> HoldSettings {
    const VAR: &str = "NON_QUALITY_HOLD_REASONS";
    let listed = r.list(VAR);
    if listed.is_empty() {
        if production_like {
            r.diag.warning(
                VAR,
                "not set: the demo factory's non-quality reasons are used; list the plant's own \
                 (comma-separated, as its hold reasons are stored) so holds split correctly into \
                 quality and non-quality",
            );
        }
        return HoldSettings {
            non_quality_reasons: NonQualityReasons::demo(),
        };
    }
    let mut names: Vec<String> = Vec::with_capacity(listed.len());
    for name in listed {
        if name.chars().count() > MAX_REASON || name.chars().any(char::is_control) {
            r.diag.error(
                VAR,
                format!(
                    "{name:?} is not a reason name: at most {MAX_REASON} characters without \
                     control characters"
                ),
            );
        } else if names.contains(&name) {
            r.diag
                .warning(VAR, format!("{name:?} is listed twice; once is enough"));
        } else {
            names.push(name);
        }
    }
    HoldSettings {
        non_quality_reasons: NonQualityReasons::new(names),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvSource, Settings};

    fn load(pairs: &[(&str, &str)]) -> (Settings, crate::config::Diagnostics) {
        Settings::from_source(&EnvSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn the_default_is_the_demo_dozen_and_an_empty_reason_is_quality() {
        let (s, diag) = load(&[]);
        assert!(!diag.has_errors(), "{diag}");
        let reasons = &s.holds.non_quality_reasons;
        assert_eq!(reasons.names().len(), 12);
        for name in ["工程驗證", "指定機台", "盤點"] {
            assert_eq!(
                reasons.hold_type(Some(name)),
                HoldType::NonQuality,
                "{name}"
            );
        }
        assert_eq!(reasons.hold_type(Some("外觀不良")), HoldType::Quality);
        assert_eq!(reasons.hold_type(None), HoldType::Quality);
        assert_eq!(reasons.hold_type(Some("")), HoldType::Quality);
        assert!(
            !diag
                .warnings()
                .any(|d| d.variable == "NON_QUALITY_HOLD_REASONS")
        );
    }

    #[test]
    fn a_plant_lists_its_own_compared_exactly() {
        let (s, diag) = load(&[(
            "NON_QUALITY_HOLD_REASONS",
            " Stock take , ENG-RUN,,Stock take",
        )]);
        assert!(!diag.has_errors(), "{diag}");
        assert!(
            diag.warnings()
                .any(|d| d.variable == "NON_QUALITY_HOLD_REASONS")
        );
        let reasons = &s.holds.non_quality_reasons;
        assert_eq!(reasons.names(), ["Stock take", "ENG-RUN"]);
        assert_eq!(reasons.hold_type(Some("stock take")), HoldType::Quality);
        assert_eq!(reasons.hold_type(Some("工程驗證")), HoldType::Quality);
        assert_eq!(HoldType::NonQuality.as_str(), "non-quality");
    }

    #[test]
    fn bad_names_are_errors_and_production_warns_when_unset() {
        let long = "x".repeat(101);
        let (_, diag) = load(&[("NON_QUALITY_HOLD_REASONS", &format!("ok,{long}"))]);
        assert!(
            diag.errors()
                .any(|d| d.variable == "NON_QUALITY_HOLD_REASONS")
        );

        let key = crate::config::secret::generate();
        let (_, diag) = load(&[
            ("MES_ENV", "production"),
            ("SECRET_KEY", &key),
            ("DATABASE_URL", "postgres://db.internal/mes"),
        ]);
        assert!(
            diag.warnings()
                .any(|d| d.variable == "NON_QUALITY_HOLD_REASONS")
        );
    }
}
