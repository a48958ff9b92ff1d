//! The home page's key-tools card, from the equipment snapshot: tools per E10 state, OU % and
//! AVAIL % (PRODUCT §2, on tool counts: the live state of each tool, not hours), and an OU
//! ring per workcenter.
//!
//! Everything this page reads of the equipment snapshot is in [`key_tools`], so that a change
//! of the snapshot's shape (tool attributes: flags, workcenter group) touches one function:
//! once tools carry their workcenter group and the key flag, the rings go per group and the
//! counts to the key tools only.

use minijinja::Value;
use serde::Serialize;

use super::wip_figures::markup;
use crate::charts::{ChartText, Item, Ring, percent};
use crate::equipment::aggregate::StateCounts;
use crate::equipment::{E10_STATES, EquipmentSnapshot};
use crate::i18n::{self, Lang};
use crate::timefmt::iso8601;

/// One E10 state's count.
#[derive(Serialize)]
pub struct StateCount {
    pub state: &'static str,
    pub label: String,
    pub count: u64,
}

#[derive(Serialize)]
pub struct KeyTools {
    pub total: u64,
    pub states: Vec<StateCount>,
    /// One decimal and `%`, or `—` without a tool to count.
    pub ou: String,
    pub avail: String,
    pub rings: Vec<Value>,
    pub updated_at: String,
}

/// OU % = PRD / (PRD + SBY + UDT + SDT + EGT).
fn ou(c: &StateCounts) -> Option<f64> {
    let base = c.prd + c.sby + c.udt + c.sdt + c.egt;
    (base > 0).then(|| c.prd as f64 / base as f64 * 100.0)
}

/// AVAIL % = (PRD + SBY + EGT) / every tool, NST included (as the system we replace).
fn avail(c: &StateCounts) -> Option<f64> {
    let all = c.total();
    (all > 0).then(|| (c.prd + c.sby + c.egt) as f64 / all as f64 * 100.0)
}

fn shown(pct: Option<f64>) -> String {
    pct.map_or_else(|| "—".to_string(), percent)
}

pub fn key_tools(snapshot: &EquipmentSnapshot, lang: Lang) -> KeyTools {
    let t = |key: &str| i18n::t(lang, key).into_owned();
    let mut all = StateCounts::default();
    // Tools come in route order of their workcenter: consecutive runs are the workcenters.
    let mut by_workcenter: Vec<(&str, StateCounts)> = Vec::new();
    for tool in &snapshot.tools {
        all.add(&tool.e10_state);
        match by_workcenter.last_mut() {
            Some((wc, counts)) if *wc == tool.workcenter_id => counts.add(&tool.e10_state),
            _ => {
                let mut counts = StateCounts::default();
                counts.add(&tool.e10_state);
                by_workcenter.push((&tool.workcenter_id, counts));
            }
        }
    }
    let counts = [all.prd, all.sby, all.udt, all.sdt, all.egt, all.nst];
    let no_data = t("home-no-data");
    let (group, value) = (t("col-workcenter"), t("home-ou"));
    let rings = by_workcenter
        .iter()
        .enumerate()
        .map(|(i, (wc, counts))| {
            let name = snapshot
                .workcenters()
                .iter()
                .find(|w| w.workcenter_id == *wc)
                .map_or(*wc, |w| w.name.as_str());
            let id = format!("home-ring-{i}");
            let title = i18n::t_args(
                lang,
                "home-ring-title",
                &i18n::args([("name", name.to_string())]),
            );
            markup(&Ring {
                text: ChartText {
                    id: &id,
                    title: &title,
                    desc: "",
                    empty: &no_data,
                },
                item: Item::new(name, ou(counts).unwrap_or(f64::NAN)).class("c-prd"),
                category_label: &group,
                value_label: &value,
                ..Ring::default()
            })
        })
        .collect();
    KeyTools {
        total: all.total(),
        states: E10_STATES
            .iter()
            .zip(counts)
            .map(|(&state, count)| StateCount {
                state,
                label: t(&format!("e10-{state}")),
                count,
            })
            .collect(),
        ou: shown(ou(&all)),
        avail: shown(avail(&all)),
        rings,
        updated_at: iso8601(snapshot.computed_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_and_avail_follow_the_plant_formulas() {
        let c = StateCounts {
            prd: 6,
            sby: 2,
            udt: 1,
            sdt: 1,
            egt: 0,
            nst: 2,
        };
        // OU: 6 / 10; AVAIL: 8 / 12 with NST counted.
        assert_eq!(shown(ou(&c)), "60.0%");
        assert_eq!(shown(avail(&c)), "66.7%");
        assert_eq!(shown(ou(&StateCounts::default())), "—");
    }
}
