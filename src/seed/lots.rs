//! Work orders and the lots in process, obeying the WIP status rule: RUN when on a tool,
//! otherwise HOLD when held, otherwise QUEUE.

use chrono::{DateTime, Duration, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::catalog::{
    FOUNDRIES, FUNCTIONS, LOT_TYPES, PACKAGES, Package, WORKCENTERS, package_group_of, people_of,
    reason_at,
};
use super::holds::{minutes, open_hold_age};
use super::rows::{LotRow, ToolRow};
use crate::db::lots::wip_status;

/// Lots per work order, on average.
const LOTS_PER_WORK_ORDER: u32 = 8;

struct WorkOrder {
    id: String,
    product: String,
    package: &'static Package,
    function: &'static str,
    bop: String,
    wafer_lot: String,
}

fn work_orders(rng: &mut ChaCha8Rng, lots: u32, now: DateTime<Utc>) -> Vec<WorkOrder> {
    let count = (lots / LOTS_PER_WORK_ORDER).max(1);
    let month = now.format("%y%m");
    (0..count)
        .map(|i| {
            let package = &PACKAGES[rng.random_range(0..PACKAGES.len())];
            let function = FUNCTIONS[rng.random_range(0..FUNCTIONS.len())];
            WorkOrder {
                id: format!("WO{month}{:05}", i + 1),
                product: format!(
                    "{function}-{}{}",
                    package.family,
                    rng.random_range(100..1000)
                ),
                package,
                function,
                bop: format!(
                    "BOP-{}-{}{:02}",
                    package.family,
                    ["A", "B", "C"][rng.random_range(0..3)],
                    rng.random_range(1..4)
                ),
                wafer_lot: format!(
                    "{}{}{:04}",
                    FOUNDRIES[rng.random_range(0..FOUNDRIES.len())],
                    now.format("%y"),
                    rng.random_range(0..10_000)
                ),
            }
        })
        .collect()
}

/// The route of a lot type: rework and engineering lots run their own workflow.
fn workflow(package: &Package, lot_type: &str) -> String {
    let kind = match lot_type {
        "重工" => "RW",
        "工程" => "ENG",
        _ => "STD",
    };
    format!("WF-{}-{kind}", package.id)
}

/// Time a lot has waited at its current step: mostly under a day, sometimes over a week.
fn queue_age(rng: &mut ChaCha8Rng) -> Duration {
    let (lo, hi) = match rng.random_range(0..100) {
        0..60 => (5, 24 * 60),
        60..85 => (24 * 60, 3 * 24 * 60),
        85..95 => (3 * 24 * 60, 7 * 24 * 60),
        _ => (7 * 24 * 60, 20 * 24 * 60),
    };
    minutes(rng.random_range(lo..hi))
}

/// A tool of one workcenter in production and how many more lots it can run.
struct Slot {
    tool: String,
    package_group: &'static str,
    free: u32,
}

/// `lots` lots in process; RUN lots are on the tools in production (up to three each, a tool
/// set up for the lot's package group first).
pub fn generate(
    rng: &mut ChaCha8Rng,
    lots: u32,
    tools: &[ToolRow],
    now: DateTime<Utc>,
) -> Vec<LotRow> {
    let mut slots: Vec<Vec<Slot>> = WORKCENTERS.iter().map(|_| Vec::new()).collect();
    for tool in tools.iter().filter(|t| t.e10_state == "PRD") {
        let w = WORKCENTERS
            .iter()
            .position(|wc| wc.id == tool.workcenter_id)
            .expect("tool workcenter exists");
        slots[w].push(Slot {
            tool: tool.equipment_id.clone(),
            package_group: tool.package_group,
            free: 3,
        });
    }
    let orders = work_orders(rng, lots, now);
    let wc_weights = WeightedIndex::new(WORKCENTERS.iter().map(|w| w.wip_share))
        .expect("static weights are valid");
    let type_weights = WeightedIndex::new(LOT_TYPES.iter().map(|t| t.1)).expect("weights");
    let priority_weights = WeightedIndex::new([3, 10, 70, 12, 5]).expect("static weights");
    let prefixes = ["GA", "GK", "TS", "MX"];
    let mut rows = Vec::with_capacity(lots as usize);
    for n in 0..lots {
        let order = &orders[rng.random_range(0..orders.len())];
        let w = wc_weights.sample(rng);
        let wc = &WORKCENTERS[w];
        let step = wc.steps[rng.random_range(0..wc.steps.len())].0;
        let mut lot_id = format!(
            "{}{:06}",
            prefixes[rng.random_range(0..prefixes.len())],
            100_000 + n
        );
        if rng.random_ratio(1, 20) {
            lot_id.push_str(&format!(".{}", rng.random_range(1..4)));
        }
        let lot_type = LOT_TYPES[type_weights.sample(rng)].0;
        let quantity = rng.random_range(order.package.quantity.0..=order.package.quantity.1);
        let priority = priority_weights.sample(rng) as i64 + 1;

        let roll = rng.random::<f64>();
        let mut equipment_id = None;
        let mut track_in_at = None;
        let mut hold_at = None;
        let move_in_at;
        if roll < 0.07 {
            let at = now - open_hold_age(rng);
            hold_at = Some(at);
            move_in_at = at - minutes(rng.random_range(1..12 * 60));
        } else if roll < 0.35
            && let Some(slot) = pick_slot(&mut slots[w], order.package.family)
        {
            slot.free -= 1;
            let track_in = now - minutes(rng.random_range(5..6 * 60));
            equipment_id = Some(slot.tool.clone());
            track_in_at = Some(track_in);
            move_in_at = track_in - minutes(rng.random_range(0..12 * 60));
            // Now and then a lot is held while it runs: it stays RUN until it leaves the tool.
            if rng.random_ratio(1, 50) {
                hold_at = Some(track_in + (now - track_in) / 2);
            }
        } else {
            move_in_at = now - queue_age(rng);
        }
        // The lot started on the first workcenter and took hours to a day or so per
        // workcenter to get here.
        let started_at = move_in_at
            - minutes(rng.random_range(0..4 * 60))
            - minutes(i64::try_from(w).unwrap_or(0) * rng.random_range(3 * 60..30 * 60));
        let updated_at = [Some(move_in_at), track_in_at, hold_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(move_in_at);

        let (mut hold_reason, mut hold_by, mut hold_department, mut hold_comment) =
            (None, None, None, None);
        let mut future_hold_comment = None;
        if hold_at.is_some() {
            let reason = reason_at(rng, wc.id);
            let people = people_of(reason.department);
            hold_reason = Some(reason.name);
            hold_department = Some(reason.department);
            hold_by = Some(people[rng.random_range(0..people.len())]);
            hold_comment =
                (!rng.random_ratio(1, 10)).then(|| *reason.comments.choose(rng).expect("comments"));
            if rng.random_ratio(1, 12) {
                future_hold_comment = Some(format!("預約於 {step} 扣留：{}", reason.name));
            }
        } else if rng.random_ratio(1, 50) {
            // A future hold waits at a later step.
            let later = WORKCENTERS[rng.random_range(w..WORKCENTERS.len())].steps[0].0;
            future_hold_comment = Some(format!("預約於 {later} 扣留：工程確認"));
        }
        rows.push(LotRow {
            lot_id,
            product: order.product.clone(),
            package_id: order.package.id,
            workcenter_id: wc.id,
            step: step.to_string(),
            status: wip_status(equipment_id.is_some(), hold_at.is_some()),
            quantity,
            priority,
            equipment_id,
            track_in_at,
            hold_reason,
            hold_at,
            hold_by,
            started_at,
            updated_at,
            work_order: order.id.clone(),
            lot_type,
            bop: order.bop.clone(),
            workflow: workflow(order.package, lot_type),
            function: order.function,
            wafer_lot: format!("{}.{:02}", order.wafer_lot, rng.random_range(1..26)),
            move_in_at,
            hold_department,
            hold_comment,
            future_hold_comment,
        });
    }
    rows
}

fn pick_slot<'a>(slots: &'a mut [Slot], family: &str) -> Option<&'a mut Slot> {
    let group = package_group_of(family);
    let matching = slots
        .iter()
        .position(|s| s.free > 0 && s.package_group == group);
    let at = matching.or_else(|| slots.iter().position(|s| s.free > 0))?;
    Some(&mut slots[at])
}
