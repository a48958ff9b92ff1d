//! Computing the report and reading its detail pages.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{DetailFilter, HistoryQuery, PlantClock, TypeFilter, chunks};
use crate::config::NonQualityReasons;
use crate::db::hold_events::{self, EventQuery, Reasons, SortBy};
use crate::db::{DbPool, hold_history};
use crate::jobs::{JobContext, JobError};

const HOUR_MS: f64 = 3_600_000.0;

/// Per-day tallies of the trend.
#[derive(Debug, Clone, Copy, Default)]
struct DayTally {
    new: i64,
    new_quantity: i64,
    released: i64,
    future: i64,
}

#[derive(Debug, Clone, Default)]
struct ReasonTally {
    count: i64,
    quantity: i64,
}

/// The report over `q`'s window, on `pool` (the slow pool), checking `ctx` between chunks.
pub async fn compute(
    pool: &DbPool,
    q: &HistoryQuery,
    clock: &PlantClock,
    reasons: &NonQualityReasons,
    ctx: &JobContext,
) -> Result<Value, JobError> {
    let days = q.day_list(clock);
    let runs = chunks(&days);
    let steps = runs.len() + 2;
    // The per-day aggregates and the repeated holds (one statement over the whole window)
    // run side by side on the slow pool.
    let tallies = async {
        let mut trend = vec![DayTally::default(); days.len()];
        let mut pareto: HashMap<Option<String>, ReasonTally> = HashMap::new();
        let (mut released, mut released_quantity) = (0_i64, 0_i64);
        let (mut duration_sum, mut duration_max) = (0_i64, None::<i64>);
        let mut buckets = [0_i64; 4];

        for (done, (first, run)) in runs.iter().enumerate() {
            ctx.checkpoint().await?;
            let (start, end) = (run[0].start, run[run.len() - 1].end);
            let origin = start;
            let day_of = |index: i64| first + (index.max(0) as usize).min(run.len() - 1);
            for row in hold_history::new_by_day(pool, start, end, origin).await? {
                if !q.keeps(reasons, row.hold_reason.as_deref()) {
                    continue;
                }
                let t = &mut trend[day_of(row.day)];
                t.new += row.count;
                t.new_quantity += row.quantity;
                t.future += row.future;
                let p = pareto.entry(row.hold_reason).or_default();
                p.count += row.count;
                p.quantity += row.quantity;
            }
            for row in hold_history::released_by_day(pool, start, end, origin).await? {
                if !q.keeps(reasons, row.hold_reason.as_deref()) {
                    continue;
                }
                trend[day_of(row.day)].released += row.count;
                released += row.count;
                released_quantity += row.quantity;
                duration_sum += row.duration_ms_sum;
                duration_max = duration_max.max(Some(row.duration_ms_max));
                for (b, n) in
                    buckets
                        .iter_mut()
                        .zip([row.under_4h, row.under_24h, row.under_3d, row.over_3d])
                {
                    *b += n;
                }
            }
            ctx.progress(((done + 1) * 100 / steps) as u8);
        }

        ctx.checkpoint().await?;
        let open_at = |rows: Vec<hold_history::OpenRow>| {
            rows.into_iter()
                .filter(|r| q.keeps(reasons, r.hold_reason.as_deref()))
                .fold((0_i64, 0_i64), |(lots, qty), r| {
                    (lots + r.lots, qty + r.quantity)
                })
        };
        let (open_before, _) = open_at(hold_history::open_at(pool, q.start).await?);
        let (open_lots, open_quantity) = open_at(hold_history::open_at(pool, q.end).await?);
        ctx.progress(((steps - 1) * 100 / steps) as u8);
        Ok::<_, JobError>((
            trend,
            pareto,
            (released, released_quantity),
            (duration_sum, duration_max),
            buckets,
            open_before,
            (open_lots, open_quantity),
        ))
    };
    // Repeated holds are quality holds: none under a non-quality filter.
    let repeats = async {
        Ok::<_, JobError>(match (&q.reason, q.hold_type) {
            (_, TypeFilter::NonQuality) => 0,
            (Some(r), _) if reasons.contains(r) => 0,
            (Some(r), _) => {
                let only = std::slice::from_ref(r);
                hold_history::repeated(pool, q.start, q.end, Reasons::Only(only)).await?
            }
            (None, _) => {
                let except = Reasons::Except(reasons.names());
                hold_history::repeated(pool, q.start, q.end, except).await?
            }
        })
    };
    let (tallied, repeated) = tokio::try_join!(tallies, repeats)?;
    let (
        trend,
        pareto,
        (released, released_quantity),
        (duration_sum, duration_max),
        buckets,
        open_before,
        (open_lots, open_quantity),
    ) = tallied;
    ctx.progress(100);

    let new: i64 = trend.iter().map(|t| t.new).sum();
    let new_quantity: i64 = trend.iter().map(|t| t.new_quantity).sum();
    let future: i64 = trend.iter().map(|t| t.future).sum();
    let day_count = days.len().max(1) as f64;
    let mut on_hold = open_before;
    let trend: Vec<Value> = days
        .iter()
        .zip(&trend)
        .map(|(day, t)| {
            on_hold += t.new - t.released;
            json!({
                "day": day.date,
                "new": t.new,
                "new_quantity": t.new_quantity,
                "released": t.released,
                "future": t.future,
                "on_hold": on_hold,
            })
        })
        .collect();

    let mut by_reason: Vec<(Option<String>, ReasonTally)> = pareto.into_iter().collect();
    by_reason.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    let mut cumulative = 0;
    let pareto: Vec<Value> = by_reason
        .into_iter()
        .map(|(reason, t)| {
            cumulative += t.count;
            json!({
                "reason": reason,
                "hold_type": reasons.hold_type(reason.as_deref()).as_str(),
                "count": t.count,
                "quantity": t.quantity,
                "pct": pct(t.count, new),
                "cumulative_pct": pct(cumulative, new),
            })
        })
        .collect();

    let labels = [
        ("under_4h", "< 4 h"),
        ("4h_to_24h", "4–24 h"),
        ("1d_to_3d", "1–3 d"),
        ("over_3d", "> 3 d"),
    ];
    let buckets: Vec<Value> = labels
        .iter()
        .zip(buckets)
        .map(|((key, label), count)| {
            json!({"bucket": key, "label": label, "count": count, "pct": pct(count, released)})
        })
        .collect();

    Ok(json!({
        "window": {
            "mode": q.mode,
            "from": q.from,
            "to": q.to,
            "start": crate::timefmt::iso8601(q.start),
            "end": crate::timefmt::iso8601(q.end),
            "days": q.days(),
            "shift": q.shift,
        },
        "filters": {
            "hold_type": q.hold_type,
            "reason": q.reason,
            "record_type": q.record_type,
        },
        "cards": {
            "new_holds": {"count": new, "quantity": new_quantity, "per_day": round(new as f64 / day_count, 1)},
            "releases": {"count": released, "quantity": released_quantity, "per_day": round(released as f64 / day_count, 1)},
            "future_holds": future,
            "repeated_quality_holds": repeated,
            "net_change": new - released,
            "release_duration_hours": {
                "average": (released > 0).then(|| round(duration_sum as f64 / released as f64 / HOUR_MS, 2)),
                "longest": duration_max.map(|ms| round(ms as f64 / HOUR_MS, 2)),
            },
            "on_hold": {"lots": open_lots, "quantity": open_quantity},
        },
        "trend": trend,
        "pareto": pareto,
        "buckets": buckets,
    }))
}

fn pct(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(part as f64 * 100.0 / whole as f64, 1)
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10_f64.powi(digits);
    (x * f).round() / f
}

/// Which page of the detail, in which order.
#[derive(Debug, Clone, Copy)]
pub struct DetailRequest {
    /// From 1.
    pub page: u64,
    pub page_size: u32,
    pub sort: SortBy,
    pub descending: bool,
}

/// One page of the events behind the report (its filters and record type), narrowed by the
/// detail's own filters, with the total.
pub async fn detail_page(
    pool: &DbPool,
    q: &HistoryQuery,
    clock: &PlantClock,
    reasons: &NonQualityReasons,
    filter: &DetailFilter,
    page: DetailRequest,
) -> Result<Value, crate::db::DbError> {
    let only = q.reason_list(reasons);
    let (from, to) = filter.window(q, clock);
    let query = EventQuery {
        from,
        to,
        record: q.record_type.record(),
        reasons: filter.reasons(q, reasons, &only),
        held_for: filter.duration_bucket.map(|b| b.held_for()),
        sort: page.sort,
        descending: page.descending,
        limit: page.page_size,
        offset: page
            .page
            .saturating_sub(1)
            .saturating_mul(u64::from(page.page_size)),
    };
    let found = hold_events::page(pool, &query).await?;
    let rows: Vec<Value> = found
        .events
        .into_iter()
        .map(|e| {
            let held_until = e.release_at.unwrap_or(to);
            let seconds = (held_until - e.hold_at).num_seconds().max(0);
            let hold_type = reasons.hold_type(e.hold_reason.as_deref()).as_str();
            let mut row = serde_json::to_value(&e).unwrap_or(Value::Null);
            row["hold_type"] = hold_type.into();
            row["duration_seconds"] = seconds.into();
            row
        })
        .collect();
    Ok(json!({
        "page": page.page,
        "page_size": page.page_size,
        "total": found.total,
        "filters": filter,
        "rows": rows,
    }))
}
