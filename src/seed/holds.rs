//! Hold and release events: the open hold of every held lot, earlier holds of lots in process,
//! and the holds of lots that have left the plant, filling each day of the history window to
//! about `holds_per_day` new holds.
//!
//! Durations follow one mixture (a third under 4 h, a third 4–24 h, a fifth 1–3 days, a tenth
//! 3–20 days), so the ages of the holds still open follow what such a plant shows in steady
//! state: the chance a hold is still open at age `a` is the chance its duration exceeds `a`.

use chrono::{DateTime, Duration, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

use super::catalog::{FUNCTIONS, HoldReason, PACKAGES, WORKCENTERS, people_of, reason_at};
use super::rows::{HoldEventRow, LotRow};

/// Hold durations: (weight, shortest, longest) in minutes, uniform within each part.
const DURATIONS: [(f64, f64, f64); 4] = [
    (0.35, 10.0, 4.0 * 60.0),
    (0.35, 4.0 * 60.0, 24.0 * 60.0),
    (0.20, 24.0 * 60.0, 72.0 * 60.0),
    (0.10, 72.0 * 60.0, 20.0 * 24.0 * 60.0),
];

pub(super) fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

fn from_minutes(m: f64) -> Duration {
    Duration::seconds((m * 60.0) as i64)
}

/// How long a hold lasts.
pub(super) fn hold_duration(rng: &mut ChaCha8Rng) -> Duration {
    let weights = WeightedIndex::new(DURATIONS.iter().map(|d| d.0)).expect("weights");
    let (_, lo, hi) = DURATIONS[weights.sample(rng)];
    from_minutes(rng.random_range(lo..hi))
}

/// How long ago a hold still open began: its duration drawn in proportion to its length (a
/// long hold is more likely to be open at any moment), then a uniform point within it.
pub(super) fn open_hold_age(rng: &mut ChaCha8Rng) -> Duration {
    let weights =
        WeightedIndex::new(DURATIONS.iter().map(|(w, lo, hi)| w * (lo + hi) / 2.0)).expect("w");
    let (_, lo, hi) = DURATIONS[weights.sample(rng)];
    let length = rng.random_range(lo * lo..hi * hi).sqrt();
    from_minutes(rng.random_range(0.0..length)).max(minutes(1))
}

/// What an event is about: the lot and where it was.
struct Place<'a> {
    lot_id: &'a str,
    product: &'a str,
    package_id: &'static str,
    workcenter: usize,
    step: &'a str,
    quantity: i64,
}

/// A closed hold at `place` from `at` for `duration`; `same` reuses a reason (a repeat).
fn closed(
    rng: &mut ChaCha8Rng,
    place: &Place<'_>,
    at: DateTime<Utc>,
    duration: Duration,
    same: Option<&'static HoldReason>,
) -> HoldEventRow {
    let wc = WORKCENTERS[place.workcenter].id;
    // One hold in two hundred is entered without a reason (it counts as a quality hold).
    let reason = match same {
        Some(r) => Some(r),
        None if rng.random_ratio(1, 200) => None,
        None => Some(reason_at(rng, wc)),
    };
    let department = reason.map_or("製造部", |r| r.department);
    let people = people_of(department);
    let releasers = people_of(if reason.is_some_and(|r| r.quality) {
        "品保部"
    } else {
        department
    });
    let future = rng.random_ratio(2, 25);
    HoldEventRow {
        lot_id: place.lot_id.to_string(),
        product: place.product.to_string(),
        package_id: place.package_id,
        workcenter_id: wc,
        step: place.step.to_string(),
        quantity: place.quantity,
        hold_reason: reason.map(|r| r.name),
        hold_at: at,
        hold_by: people[rng.random_range(0..people.len())],
        hold_department: department,
        hold_comment: reason.and_then(|r| r.comments.choose(rng).copied()),
        future_hold: future,
        future_hold_comment: future.then(|| {
            format!(
                "預約於 {} 扣留：{}",
                place.step,
                reason.map_or("待確認", |r| r.name)
            )
        }),
        release_at: Some(at + duration),
        release_by: Some(releasers[rng.random_range(0..releasers.len())]),
    }
}

fn reason_named(name: Option<&str>) -> Option<&'static HoldReason> {
    let name = name?;
    super::catalog::HOLD_REASONS.iter().find(|r| r.name == name)
}

fn workcenter_index(id: &str) -> usize {
    WORKCENTERS
        .iter()
        .position(|w| w.id == id)
        .expect("lots are at catalog workcenters")
}

/// Events of the lots in process: the open hold of each held lot (matching the lot row), and
/// earlier holds, some of them repeats of the same reason.
fn of_lots_in_process(
    rng: &mut ChaCha8Rng,
    lots: &[LotRow],
    now: DateTime<Utc>,
) -> Vec<HoldEventRow> {
    let mut events = Vec::new();
    for lot in lots {
        let w = workcenter_index(lot.workcenter_id);
        let here = Place {
            lot_id: &lot.lot_id,
            product: &lot.product,
            package_id: lot.package_id,
            workcenter: w,
            step: &lot.step,
            quantity: lot.quantity,
        };
        if let (Some(at), Some(by), Some(department)) =
            (lot.hold_at, lot.hold_by, lot.hold_department)
        {
            events.push(HoldEventRow {
                lot_id: lot.lot_id.clone(),
                product: lot.product.clone(),
                package_id: lot.package_id,
                workcenter_id: lot.workcenter_id,
                step: lot.step.clone(),
                quantity: lot.quantity,
                hold_reason: lot.hold_reason,
                hold_at: at,
                hold_by: by,
                hold_department: department,
                hold_comment: lot.hold_comment,
                future_hold: lot.future_hold_comment.is_some(),
                future_hold_comment: lot.future_hold_comment.clone(),
                release_at: None,
                release_by: None,
            });
            // Held before at this very step, released, and held again.
            let window = at - lot.move_in_at;
            if window > minutes(60) && rng.random_ratio(1, 8) {
                let start = lot.move_in_at + window / 4;
                let duration = hold_duration(rng).min(window / 2);
                let same = reason_named(lot.hold_reason).filter(|_| rng.random_bool(0.6));
                events.push(closed(rng, &here, start, duration, same));
            }
        } else if lot.equipment_id.is_none() {
            // Held and released at this step, now waiting again.
            let window = now - lot.move_in_at;
            if window > minutes(120) && rng.random_ratio(1, 40) {
                let start = lot.move_in_at + window / 4;
                let duration = hold_duration(rng).min(window / 2);
                events.push(closed(rng, &here, start, duration, None));
            }
        }
        // Holds at earlier workcenters of the route.
        let window = lot.move_in_at - lot.started_at;
        if w > 0 && window > minutes(120) && rng.random_ratio(3, 25) {
            let count = if rng.random_ratio(1, 4) { 2 } else { 1 };
            let part = window / count;
            let mut at_wc = rng.random_range(0..w);
            let mut previous: Option<&'static HoldReason> = None;
            for k in 0..count {
                let wc = &WORKCENTERS[at_wc];
                let step = wc.steps[rng.random_range(0..wc.steps.len())].0;
                let place = Place {
                    workcenter: at_wc,
                    step,
                    ..here
                };
                let start = lot.started_at + part * k + part / 8;
                let duration = hold_duration(rng).min(part / 2);
                let same = previous.filter(|r| r.at.is_empty() && rng.random_bool(0.5));
                let event = closed(rng, &place, start, duration, same);
                previous = reason_named(event.hold_reason);
                events.push(event);
                if rng.random_bool(0.5) {
                    at_wc = rng.random_range(at_wc..w);
                }
            }
        }
    }
    events
}

/// Events of lots that have left the plant, day by day until each day of the window has
/// about `per_day` new holds in all (a day's count varies by ±20 %).
fn of_lots_gone(
    rng: &mut ChaCha8Rng,
    counts: &mut [u32],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    per_day: u32,
) -> Vec<HoldEventRow> {
    let wc_weights = WeightedIndex::new(WORKCENTERS.iter().map(|w| w.wip_share)).expect("w");
    let prefixes = ["GA", "GK", "TS", "MX"];
    let mut events = Vec::new();
    let mut serial = 0u64;
    let day_of = |t: DateTime<Utc>| usize::try_from((t - start).num_days()).ok();
    for day in 0..counts.len() {
        let quota = (f64::from(per_day) * rng.random_range(0.8..1.2)).round() as u32;
        let day_start = start + Duration::days(day as i64);
        let mut attempts = 0;
        while counts[day] < quota && attempts < quota.saturating_mul(4) {
            attempts += 1;
            serial += 1;
            let package = &PACKAGES[rng.random_range(0..PACKAGES.len())];
            let function = FUNCTIONS[rng.random_range(0..FUNCTIONS.len())];
            let lot_id = format!(
                "{}0{serial:07}",
                prefixes[rng.random_range(0..prefixes.len())]
            );
            let product = format!(
                "{function}-{}{}",
                package.family,
                rng.random_range(100..1000)
            );
            let quantity = rng.random_range(package.quantity.0..=package.quantity.1);
            let mut w = wc_weights.sample(rng);
            let mut at = day_start + Duration::seconds(rng.random_range(0..86_400));
            let mut previous: Option<&'static HoldReason> = None;
            // One hold, or a few in a row: a lot held again later, often for the same reason.
            loop {
                let duration = hold_duration(rng);
                if at + duration >= now {
                    break;
                }
                let wc = &WORKCENTERS[w];
                let step = wc.steps[rng.random_range(0..wc.steps.len())].0;
                let place = Place {
                    lot_id: &lot_id,
                    product: &product,
                    package_id: package.id,
                    workcenter: w,
                    step,
                    quantity,
                };
                let same = previous.filter(|r| r.at.is_empty() && rng.random_bool(0.5));
                let event = closed(rng, &place, at, duration, same);
                if let Some(d) = day_of(at).filter(|d| *d < counts.len()) {
                    counts[d] += 1;
                }
                previous = reason_named(event.hold_reason);
                let release = at + duration;
                events.push(event);
                if !rng.random_ratio(1, 4) {
                    break;
                }
                at = release + minutes(rng.random_range(60..3 * 24 * 60));
                if rng.random_bool(0.6) {
                    w = rng.random_range(w..WORKCENTERS.len());
                }
            }
        }
    }
    events
}

/// Every hold event of the factory, oldest first.
pub fn generate(
    rng: &mut ChaCha8Rng,
    lots: &[LotRow],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    per_day: u32,
) -> Vec<HoldEventRow> {
    let mut events = of_lots_in_process(rng, lots, now);
    let days = usize::try_from((now - start).num_days()).unwrap_or(0);
    let mut counts = vec![0u32; days];
    for e in &events {
        if e.hold_at >= start
            && let Ok(d) = usize::try_from((e.hold_at - start).num_days())
            && d < days
        {
            counts[d] += 1;
        }
    }
    events.extend(of_lots_gone(rng, &mut counts, start, now, per_day));
    events.sort_by(|a, b| (a.hold_at, &a.lot_id).cmp(&(b.hold_at, &b.lot_id)));
    events
}
