//! A deterministic synthetic factory: an assembly-and-test plant with its workcenters,
//! packages, tools with SEMI E10 state history, and lots in process.
//!
//! The same seed and sizes always give the same factory; only timestamps move with the anchor
//! time (`--now`, default the current time), so a fresh demo always looks current.

mod catalog;
mod insert;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

pub use insert::{factory_size, insert};

use catalog::{HOLD_REASONS, PACKAGES, PRODUCT_FAMILIES, STATES, WORKCENTERS};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub seed: u64,
    pub lots: u32,
    pub tools: u32,
    pub days: u32,
    /// The anchor every timestamp is relative to.
    pub now: DateTime<Utc>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            lots: 20_000,
            tools: 500,
            days: 90,
            now: Utc::now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkcenterRow {
    pub id: &'static str,
    pub name: &'static str,
    pub sequence: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageRow {
    pub id: &'static str,
    pub family: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    pub lot_id: String,
    pub product: String,
    pub package_id: &'static str,
    pub workcenter_id: &'static str,
    pub step: String,
    pub status: &'static str,
    pub quantity: i64,
    pub priority: i64,
    pub equipment_id: Option<String>,
    pub track_in_at: Option<DateTime<Utc>>,
    pub hold_reason: Option<&'static str>,
    pub hold_at: Option<DateTime<Utc>>,
    pub hold_by: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolRow {
    pub equipment_id: String,
    pub workcenter_id: &'static str,
    pub model: &'static str,
    pub e10_state: &'static str,
    pub state_reason: Option<&'static str>,
    pub state_since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateSpan {
    pub equipment_id: String,
    pub e10_state: &'static str,
    pub state_reason: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A whole generated factory, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Factory {
    pub workcenters: Vec<WorkcenterRow>,
    pub packages: Vec<PackageRow>,
    pub tools: Vec<ToolRow>,
    pub history: Vec<StateSpan>,
    pub lots: Vec<LotRow>,
}

/// Generates the factory described by `opts` (pure; no I/O).
pub fn generate(opts: &SeedOptions) -> Factory {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let now = opts.now.trunc_subsecs(0);

    let workcenters: Vec<WorkcenterRow> = WORKCENTERS
        .iter()
        .enumerate()
        .map(|(i, w)| WorkcenterRow {
            id: w.id,
            name: w.name,
            sequence: (i as i64 + 1) * 10,
        })
        .collect();
    let packages: Vec<PackageRow> = PACKAGES
        .iter()
        .map(|p| PackageRow {
            id: p.id,
            family: p.family,
        })
        .collect();

    // Tools: spread over workcenters by their share of the fleet.
    let wc_weights = WeightedIndex::new(WORKCENTERS.iter().map(|w| w.tool_share))
        .expect("static weights are valid");
    let mut per_wc = vec![0u32; WORKCENTERS.len()];
    let state_weights =
        WeightedIndex::new(STATES.iter().map(|s| s.weight)).expect("static weights are valid");
    let start = now - Duration::days(i64::from(opts.days));
    let mut tools = Vec::with_capacity(opts.tools as usize);
    let mut history = Vec::new();
    for i in 0..opts.tools {
        // Every workcenter gets at least one tool when there are enough of them.
        let w = if (i as usize) < WORKCENTERS.len() {
            i as usize
        } else {
            wc_weights.sample(&mut rng)
        };
        per_wc[w] += 1;
        let wc = &WORKCENTERS[w];
        let equipment_id = format!("{}-{:03}", wc.id, per_wc[w]);
        let model = wc.models[rng.random_range(0..wc.models.len())];

        let mut t = start;
        let mut last = None;
        while t < now {
            let s = &STATES[state_weights.sample(&mut rng)];
            let minutes = (rng.random::<f64>().max(1e-9).ln() * -s.mean_minutes).max(5.0);
            let end = t + Duration::minutes(minutes as i64);
            let reason =
                (!s.reasons.is_empty()).then(|| s.reasons[rng.random_range(0..s.reasons.len())]);
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
        tools.push(ToolRow {
            equipment_id,
            workcenter_id: wc.id,
            model,
            e10_state: state,
            state_reason: reason,
            state_since: since,
        });
    }

    // Tools in production can run lots: up to three each.
    let mut run_slots: Vec<Vec<(String, u32)>> = vec![Vec::new(); WORKCENTERS.len()];
    for tool in tools.iter().filter(|t| t.e10_state == "PRD") {
        let w = WORKCENTERS
            .iter()
            .position(|wc| wc.id == tool.workcenter_id)
            .expect("tool workcenter exists");
        run_slots[w].push((tool.equipment_id.clone(), 3));
    }

    let lot_wc_weights = WeightedIndex::new(WORKCENTERS.iter().map(|w| w.wip_share))
        .expect("static weights are valid");
    let priority_weights = WeightedIndex::new([3, 10, 70, 12, 5]).expect("static weights");
    let prefixes = ["GA", "GK", "TS", "MX"];
    let mut lots = Vec::with_capacity(opts.lots as usize);
    for n in 0..opts.lots {
        let package = &PACKAGES[rng.random_range(0..PACKAGES.len())];
        let family = PRODUCT_FAMILIES[rng.random_range(0..PRODUCT_FAMILIES.len())];
        let product = format!("{family}-{}{}", package.family, rng.random_range(100..1000));
        let w = lot_wc_weights.sample(&mut rng);
        let wc = &WORKCENTERS[w];
        let mut lot_id = format!(
            "{}{:06}",
            prefixes[rng.random_range(0..prefixes.len())],
            100_000 + n
        );
        if rng.random_ratio(1, 20) {
            lot_id.push_str(&format!(".{}", rng.random_range(1..4)));
        }
        let started_at = now - Duration::minutes(rng.random_range(120..30 * 24 * 60));
        let age_minutes = (now - started_at).num_minutes().max(1);
        let updated_at = now - Duration::minutes(rng.random_range(0..age_minutes.min(72 * 60)));
        let quantity = rng.random_range(package.quantity.0..=package.quantity.1);
        let priority = priority_weights.sample(&mut rng) as i64 + 1;

        let roll = rng.random::<f64>();
        let mut lot = LotRow {
            lot_id,
            product,
            package_id: package.id,
            workcenter_id: wc.id,
            step: format!("{}-{:03}", wc.id, rng.random_range(1..6) * 10),
            status: "QUEUE",
            quantity,
            priority,
            equipment_id: None,
            track_in_at: None,
            hold_reason: None,
            hold_at: None,
            hold_by: None,
            started_at,
            updated_at,
        };
        if roll < 0.07 {
            let hold_at = updated_at.max(started_at);
            lot.status = "HOLD";
            lot.hold_reason = Some(HOLD_REASONS[rng.random_range(0..HOLD_REASONS.len())]);
            lot.hold_at = Some(hold_at);
            lot.hold_by =
                Some(["qa.lin", "eng.chen", "pc.wang", "qa.kumar"][rng.random_range(0..4)]);
        } else if roll < 0.35
            && let Some(slot) = run_slots[w].iter_mut().find(|(_, free)| *free > 0)
        {
            slot.1 -= 1;
            let track_in = now - Duration::minutes(rng.random_range(5..6 * 60));
            lot.status = "RUN";
            lot.equipment_id = Some(slot.0.clone());
            lot.track_in_at = Some(track_in);
            lot.updated_at = track_in;
        }
        lots.push(lot);
    }

    Factory {
        workcenters,
        packages,
        tools,
        history,
        lots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> SeedOptions {
        SeedOptions {
            seed,
            lots: 2_000,
            tools: 60,
            days: 10,
            now: DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_factory() {
        assert_eq!(generate(&small(7)), generate(&small(7)));
        assert_ne!(generate(&small(7)).lots, generate(&small(8)).lots);
    }

    #[test]
    fn sizes_and_invariants_hold() {
        let f = generate(&small(1));
        assert_eq!(f.lots.len(), 2_000);
        assert_eq!(f.tools.len(), 60);
        let mut ids: Vec<_> = f.lots.iter().map(|l| l.lot_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2_000, "lot ids are unique");
        for status in ["RUN", "QUEUE", "HOLD"] {
            assert!(f.lots.iter().any(|l| l.status == status), "{status}");
        }
        for lot in &f.lots {
            assert_eq!(lot.status == "RUN", lot.equipment_id.is_some());
            assert_eq!(lot.status == "HOLD", lot.hold_reason.is_some());
            assert!(lot.quantity > 0);
        }
        // Every tool has exactly one open history span, matching its current state.
        for tool in &f.tools {
            let open: Vec<_> = f
                .history
                .iter()
                .filter(|h| h.equipment_id == tool.equipment_id && h.ended_at.is_none())
                .collect();
            assert_eq!(open.len(), 1, "{}", tool.equipment_id);
            assert_eq!(open[0].e10_state, tool.e10_state);
        }
        // Every workcenter has a tool.
        for wc in &f.workcenters {
            assert!(
                f.tools.iter().any(|t| t.workcenter_id == wc.id),
                "{}",
                wc.id
            );
        }
    }
}
