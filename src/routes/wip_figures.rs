//! The WIP figures the home page's WIP card and `/wip-overview` share: the split of the lots
//! into RUN / QUEUE / quality hold / non-quality hold, and its two donuts (by lots, by pieces),
//! drawn by `crate::charts` on the server.

use std::collections::HashMap;

use minijinja::Value;
use serde::{Deserialize, Serialize};

use crate::cache::aggregate::{Summary, Tally};
use crate::charts::{Chart, ChartText, Donut, Item};
use crate::i18n::{self, Lang};
use crate::json::RawJson;

/// A chart (its SVG and its table for screen readers) as template markup. The one way chart
/// markup reaches a template: `crate::charts` escapes every label it writes, so the string is
/// safe as it is (templates may not use `|safe`).
pub fn markup(chart: &impl Chart) -> Value {
    let mut html = chart.svg();
    html.push_str(&chart.table());
    Value::from_safe_string(html)
}

/// Lots and pieces by status, the held ones split by hold type (`NON_QUALITY_HOLD_REASONS`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StatusSplit {
    pub total: Tally,
    pub run: Tally,
    pub queue: Tally,
    pub quality_hold: Tally,
    pub non_quality_hold: Tally,
}

/// The summary answer as the snapshot serialized it (`cache::aggregate::Summary`).
#[derive(Deserialize)]
struct SummaryData {
    total: Tally,
    by_status: HashMap<String, Tally>,
    by_hold_type: HashMap<String, Tally>,
}

impl StatusSplit {
    fn of(
        total: Tally,
        status: impl Fn(&str) -> Option<Tally>,
        hold: impl Fn(&str) -> Option<Tally>,
    ) -> Self {
        Self {
            total,
            run: status("RUN").unwrap_or_default(),
            queue: status("QUEUE").unwrap_or_default(),
            quality_hold: hold("quality").unwrap_or_default(),
            non_quality_hold: hold("non-quality").unwrap_or_default(),
        }
    }

    /// From the snapshot's ready summary bytes (a few hundred bytes: cheaper to read back
    /// than to count every lot again).
    pub fn from_raw(raw: &RawJson) -> serde_json::Result<Self> {
        let s: SummaryData = serde_json::from_slice(&raw.0)?;
        Ok(Self::of(
            s.total,
            |k| s.by_status.get(k).copied(),
            |k| s.by_hold_type.get(k).copied(),
        ))
    }

    pub fn from_summary(s: &Summary) -> Self {
        Self::of(
            s.total,
            |k| s.by_status.get(k).copied(),
            |k| s.by_hold_type.get(k).copied(),
        )
    }

    /// The four parts in report order: (key, catalogue key of the label, colour, tally).
    pub fn parts(&self) -> [(&'static str, &'static str, &'static str, Tally); 4] {
        [
            ("RUN", "wip-status-RUN", "c-run", self.run),
            ("QUEUE", "wip-status-QUEUE", "c-queue", self.queue),
            (
                "quality",
                "wipov-quality-hold",
                "c-hold-quality",
                self.quality_hold,
            ),
            (
                "non-quality",
                "wipov-non-quality-hold",
                "c-hold-nonquality",
                self.non_quality_hold,
            ),
        ]
    }

    /// The two donuts, by lots and by pieces. With `clickable`, a RUN or QUEUE segment carries
    /// `data-filter-status` and a hold segment `data-filter-hold_type` (the overview's script
    /// acts on them); `id` prefixes the charts' element ids.
    pub fn donuts(&self, lang: Lang, id: &str, clickable: bool) -> (Value, Value) {
        let t = |key: &str| i18n::t(lang, key).into_owned();
        let labels: Vec<String> = self.parts().iter().map(|p| t(p.1)).collect();
        let empty = t("wipov-empty");
        let status = t("col-status");
        let donut = |which: &str, title: &str, centre: &str, value_label: &str| {
            let items = self
                .parts()
                .iter()
                .zip(&labels)
                .map(|((key, _, class, tally), label)| {
                    let value = if which == "lots" {
                        tally.lots as f64
                    } else {
                        tally.quantity as f64
                    };
                    let item = Item::new(label.as_str(), value).class(*class);
                    match (clickable, *key) {
                        (false, _) => item,
                        (true, "RUN" | "QUEUE") => item.filter("status", *key),
                        (true, hold) => item.filter("hold_type", hold),
                    }
                })
                .collect();
            let chart_id = format!("{id}-donut-{which}");
            markup(&Donut {
                text: ChartText {
                    id: &chart_id,
                    title,
                    desc: "",
                    empty: &empty,
                },
                items,
                centre_label: centre,
                category_label: &status,
                value_label,
                ..Donut::default()
            })
        };
        (
            donut(
                "lots",
                &t("wipov-donut-lots"),
                &t("wipov-unit-lots"),
                &t("col-lots"),
            ),
            donut(
                "pcs",
                &t("wipov-donut-pcs"),
                &t("wipov-unit-pcs"),
                &t("col-quantity"),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_markup_survives_the_template_unescaped_and_data_stays_escaped() {
        let split = StatusSplit {
            total: Tally {
                lots: 3,
                quantity: 30,
            },
            run: Tally {
                lots: 2,
                quantity: 20,
            },
            queue: Tally {
                lots: 1,
                quantity: 10,
            },
            quality_hold: Tally {
                lots: 1,
                quantity: 5,
            },
            ..StatusSplit::default()
        };
        let (lots, _) = split.donuts(Lang::En, "t", true);
        #[derive(Serialize)]
        struct Page {
            chart: Value,
        }
        let value = Value::from(minijinja::value::Serde(&Page {
            chart: lots.clone(),
        }));
        let inner = value.get_attr("chart").unwrap();
        assert!(
            inner.is_safe(),
            "the markup stays marked safe through serde"
        );
        let svg = inner.as_str().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(r#"data-filter-status="RUN""#), "{svg}");
        assert!(svg.contains(r#"data-filter-hold_type="quality""#), "{svg}");
    }

    #[test]
    fn the_split_reads_the_snapshot_summary_bytes() {
        let raw = RawJson::from_value(&serde_json::json!({
            "total": {"lots": 5, "quantity": 50},
            "by_status": {"RUN": {"lots": 1, "quantity": 10}, "QUEUE": {"lots": 2, "quantity": 20},
                          "HOLD": {"lots": 2, "quantity": 20}},
            "by_hold_type": {"quality": {"lots": 1, "quantity": 5},
                             "non-quality": {"lots": 1, "quantity": 15}},
            "hot_lots": 0,
        }))
        .unwrap();
        let split = StatusSplit::from_raw(&raw).unwrap();
        assert_eq!(split.total.lots, 5);
        assert_eq!(split.queue.quantity, 20);
        assert_eq!(split.non_quality_hold.quantity, 15);
        assert_eq!(
            split.parts().iter().map(|p| p.3.lots).sum::<u64>(),
            split.total.lots
        );
    }
}
