//! Tools, their attributes and their SEMI E10 state history.

use chrono::{DateTime, Duration, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::catalog::{LOCATIONS, PACKAGE_GROUPS, PACKAGES, STATES, TOOL_KINDS, WORKCENTERS};
use super::rows::{StateSpan, ToolRow};

/// Workcenters where most tools are key (bottleneck) tools.
const KEY_WORKCENTERS: &[&str] = &["WB", "MOLD", "FT"];

fn of<'a, T: ?Sized>(table: &'a [(&str, &'a T)], workcenter: &str) -> &'a T {
    table
        .iter()
        .find(|(w, _)| *w == workcenter)
        .map(|(_, v)| *v)
        .expect("every workcenter is in the catalog's tables")
}

/// `tools` tools spread over the workcenters by their share of the fleet (each workcenter gets
/// one when there are enough), each with a state history from `start` to `now`.
pub fn generate(
    rng: &mut ChaCha8Rng,
    tools: u32,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<ToolRow>, Vec<StateSpan>) {
    let wc_weights = WeightedIndex::new(WORKCENTERS.iter().map(|w| w.tool_share))
        .expect("static weights are valid");
    let state_weights =
        WeightedIndex::new(STATES.iter().map(|s| s.weight)).expect("static weights are valid");
    // Package groups in the proportion of the package mix.
    let group_weights = WeightedIndex::new(PACKAGE_GROUPS.iter().map(|(_, families)| {
        PACKAGES
            .iter()
            .filter(|p| families.contains(&p.family))
            .count()
    }))
    .expect("static weights are valid");
    let mut per_wc = vec![0u32; WORKCENTERS.len()];
    let mut rows = Vec::with_capacity(tools as usize);
    let mut history = Vec::new();
    for i in 0..tools {
        let w = if (i as usize) < WORKCENTERS.len() {
            i as usize
        } else {
            wc_weights.sample(rng)
        };
        per_wc[w] += 1;
        let wc = &WORKCENTERS[w];
        let equipment_id = format!("{}-{:03}", wc.id, per_wc[w]);
        let kinds = of(TOOL_KINDS, wc.id);
        let kind = &kinds[rng.random_range(0..kinds.len())];
        let locations = of(LOCATIONS, wc.id);
        let key_share = if KEY_WORKCENTERS.contains(&wc.id) {
            0.6
        } else {
            0.1
        };
        let is_key = rng.random_bool(key_share);

        let mut t = start;
        let mut last = None;
        while t < now {
            let s = &STATES[state_weights.sample(rng)];
            let minutes = (rng.random::<f64>().max(1e-9).ln() * -s.mean_minutes).max(5.0);
            let end = t + Duration::minutes(minutes as i64);
            let reason = s.reasons.choose(rng).copied();
            let open = end >= now;
            history.push(StateSpan {
                equipment_id: equipment_id.clone(),
                e10_state: s.code,
                state_reason: reason,
                started_at: t,
                ended_at: (!open).then_some(end),
            });
            last = Some((s.code, reason, t));
            t = end;
        }
        let (state, reason, since) = last.unwrap_or(("SBY", None, now));
        rows.push(ToolRow {
            equipment_id,
            workcenter_id: wc.id,
            model: kind.model,
            e10_state: state,
            state_reason: reason,
            state_since: since,
            family: kind.family,
            location: locations[rng.random_range(0..locations.len())],
            package_group: PACKAGE_GROUPS[group_weights.sample(rng)].0,
            vendor: kind.vendor,
            is_production: rng.random_ratio(19, 20),
            is_key,
            is_monitored: is_key || rng.random_ratio(3, 10),
        });
    }
    (rows, history)
}
