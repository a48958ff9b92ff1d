//! Computing the report: the tools the filter admits (one read of the tool attributes), then
//! the time of their state spans per tool and per workcenter group × period. On PostgreSQL the
//! database sums it ([`period_sums`]: the closed shift days from the per-day rollup, the rest
//! from the spans, a few thousand rows back); on SQLite (the embedded demo) the spans stream
//! here a chunk of periods at a time and each span's time is split over the periods it
//! overlaps. Both count whole microseconds, so they give the same figures to the last digit
//! (tests compare them on a seeded factory, with and without the rollup).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::{HistoryQuery, Period};
use crate::db::DbPool;
use crate::db::history::{
    E10Hours, PeriodSums, Span, SumsRange, each_span, period_sums, split_group_sums,
};
use crate::db::tools::{ToolRecord, load_tool_records};
use crate::hold_history::PlantClock;
use crate::jobs::{JobContext, JobError};

/// Seconds per E10 state, in the order of [`crate::equipment::E10_STATES`].
pub type E10 = [f64; 6];

/// Seconds per state and the tools they are of.
type Sum = (E10, usize);

/// Microseconds per E10 state (exact sums; seconds only for the figures).
type Micros = [i64; 6];

/// How the spans are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summing {
    /// By the database where it can (PostgreSQL), else streamed.
    InDatabase,
    /// Every span streamed here and split over the periods (the SQLite path).
    Streamed,
}

fn seconds(micros: &Micros) -> E10 {
    micros.map(|us| us as f64 / 1_000_000.0)
}

/// Most days one statement reads (the progress moves chunk by chunk).
const CHUNK_DAYS: i64 = 31;

/// Listed by id when the filter admits at most this many tools (the statement then reads
/// only their spans); past it every span is read and the others skipped here.
const MAX_LISTED_TOOLS: usize = 500;

/// The name a tool without a group or family is listed under.
const NONE: &str = "-";

fn state_index(state: &str) -> Option<usize> {
    crate::equipment::E10_STATES
        .iter()
        .position(|s| *s == state)
}

/// Hours per state, with OU % and AVAIL %, as the API shows them.
pub fn figures(seconds: &E10) -> Value {
    let mut hours = E10Hours::default();
    for (state, s) in crate::equipment::E10_STATES.iter().zip(seconds) {
        hours.add(state, s / 3600.0);
    }
    json!({
        "hours": hours.rounded(),
        "ou_pct": hours.utilization_pct(),
        "avail_pct": hours.availability_pct(),
    })
}

fn add<T: Copy + std::ops::AddAssign>(into: &mut [T; 6], from: &[T; 6]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += *b;
    }
}

/// Consecutive periods read by one statement: about [`CHUNK_DAYS`] days, whole periods.
fn chunks(periods: &[Period]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut first = 0;
    while first < periods.len() {
        let mut last = first + 1;
        while last < periods.len()
            && (periods[last].last - periods[first].first).num_days() < CHUNK_DAYS
        {
            last += 1;
        }
        out.push(first..last);
        first = last;
    }
    out
}

/// The sums as the spans arrive.
struct Tally {
    /// Tool id → its index among the admitted tools.
    index: HashMap<String, usize>,
    /// Index of each tool's group among `groups`.
    group_of: Vec<usize>,
    per_tool: Vec<Micros>,
    per_period: Vec<Micros>,
    /// `[group][period]`.
    per_group: Vec<Vec<Micros>>,
    /// Where a span still open ends.
    now: chrono::DateTime<chrono::Utc>,
}

impl Tally {
    /// Adds the part of `span` inside periods `range` (clipped to them).
    fn add(&mut self, span: &Span, periods: &[Period], range: std::ops::Range<usize>) {
        let (Some(&tool), Some(state)) = (
            self.index.get(&span.equipment_id),
            state_index(&span.e10_state),
        ) else {
            return;
        };
        let slice = &periods[range.clone()];
        let end = span.ended_at.unwrap_or(self.now);
        // The first period the span reaches into.
        let from = slice.partition_point(|p| p.end <= span.started_at);
        for (offset, p) in slice.iter().enumerate().skip(from) {
            if p.start >= end {
                break;
            }
            let overlap = (end.min(p.end) - span.started_at.max(p.start))
                .num_microseconds()
                .unwrap_or(0);
            if overlap <= 0 {
                continue;
            }
            let period = range.start + offset;
            self.per_tool[tool][state] += overlap;
            self.per_period[period][state] += overlap;
            self.per_group[self.group_of[tool]][period][state] += overlap;
        }
    }

    /// The sums of [`period_sums`]: per tool over the range, per group split over the
    /// periods (the rolled-up days by the period holding each, the spans' part as
    /// [`split_group_sums`] gives it from the period holding the rollup's end on).
    fn add_sums(&mut self, sums: &PeriodSums, periods: &[Period]) {
        let tools = sums
            .rolled_tools
            .iter()
            .map(|t| (t.equipment_id.as_str(), t.micros.as_array()))
            .chain(sums.span_tools.iter().filter_map(|t| {
                let state = state_index(&t.e10_state)?;
                let mut micros = [0; 6];
                micros[state] = t.micros;
                Some((t.equipment_id.as_str(), micros))
            }));
        for (id, micros) in tools {
            if let Some(&tool) = self.index.get(id) {
                add(&mut self.per_tool[tool], &micros);
            }
        }
        for r in &sums.rolled_groups {
            let period = periods.partition_point(|p| p.last < r.shift_day);
            if let (Ok(group), true) = (usize::try_from(r.grp), period < periods.len())
                && group < self.per_group.len()
            {
                let micros = r.micros.as_array();
                add(&mut self.per_group[group][period], &micros);
                add(&mut self.per_period[period], &micros);
            }
        }
        let mut by_group: HashMap<(usize, usize), Vec<&crate::db::history::GroupSpanSums>> =
            HashMap::new();
        for r in &sums.span_groups {
            if let (Ok(group), Some(state)) = (usize::try_from(r.grp), state_index(&r.e10_state))
                && group < self.per_group.len()
            {
                by_group.entry((group, state)).or_default().push(r);
            }
        }
        for ((group, state), rows) in by_group {
            let split = split_group_sums(&sums.span_bounds, rows.into_iter());
            for (offset, micros) in split.into_iter().enumerate() {
                let period = sums.span_offset + offset;
                if period < periods.len() {
                    self.per_group[group][period][state] += micros;
                    self.per_period[period][state] += micros;
                }
            }
        }
    }
}

/// The report over `q`, on `pool` (the slow pool), checking `ctx` between statements.
pub async fn compute(
    pool: &DbPool,
    clock: &PlantClock,
    q: &HistoryQuery,
    ctx: &JobContext,
) -> Result<Value, JobError> {
    compute_with(pool, clock, q, ctx, Summing::InDatabase, chrono::Utc::now()).await
}

/// [`compute`] summed as `how` says, spans still open ending at `now`.
pub async fn compute_with(
    pool: &DbPool,
    clock: &PlantClock,
    q: &HistoryQuery,
    ctx: &JobContext,
    how: Summing,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, JobError> {
    ctx.checkpoint().await?;
    let all = load_tool_records(pool).await?;
    let fleet = all.len();
    let tools: Vec<ToolRecord> = all.into_iter().filter(|t| q.filter.admits(t)).collect();
    let group_name = |t: &ToolRecord| t.workcenter_group.clone().unwrap_or_else(|| NONE.into());
    let groups: Vec<String> = {
        let mut g: Vec<String> = tools.iter().map(group_name).collect();
        g.sort_unstable();
        g.dedup();
        g
    };
    let periods = &q.periods;
    let mut tally = Tally {
        index: tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.equipment_id.clone(), i))
            .collect(),
        group_of: tools
            .iter()
            .map(|t| groups.binary_search(&group_name(t)).unwrap_or(0))
            .collect(),
        per_tool: vec![[0; 6]; tools.len()],
        per_period: vec![[0; 6]; periods.len()],
        per_group: vec![vec![[0; 6]; periods.len()]; groups.len()],
        now,
    };
    let listed: Vec<String> = if tools.len() < fleet && tools.len() <= MAX_LISTED_TOOLS {
        tools.iter().map(|t| t.equipment_id.clone()).collect()
    } else {
        Vec::new()
    };
    ctx.progress(5);
    let mut summed = false;
    if !tools.is_empty() && how == Summing::InDatabase {
        let bounds: Vec<chrono::DateTime<chrono::Utc>> = periods
            .iter()
            .map(|p| p.start)
            .chain(periods.last().map(|p| p.end))
            .collect();
        let ids: Vec<String> = tools.iter().map(|t| t.equipment_id.clone()).collect();
        let numbers: Vec<i32> = tally
            .group_of
            .iter()
            .map(|g| i32::try_from(*g).unwrap_or(i32::MAX))
            .collect();
        let range = SumsRange {
            bounds: &bounds,
            first_day: q.from,
            last_day: q.to,
            now,
            tools: &ids,
            groups: &numbers,
            listed: &listed,
        };
        if let Some(sums) = period_sums(pool, clock, &range).await? {
            tally.add_sums(&sums, periods);
            summed = true;
            ctx.progress(95);
        }
    }
    if !tools.is_empty() && !summed {
        let runs = chunks(periods);
        for (done, range) in runs.iter().enumerate() {
            ctx.checkpoint().await?;
            let (start, end) = (periods[range.start].start, periods[range.end - 1].end);
            let tally = &mut tally;
            each_span(pool, start, end, &listed, &mut |span| {
                tally.add(&span, periods, range.clone());
            })
            .await?;
            ctx.progress((5 + (done + 1) * 90 / runs.len()) as u8);
        }
    }
    ctx.checkpoint().await?;
    let report = assemble(q, &tools, &groups, &tally);
    ctx.progress(100);
    Ok(report)
}

fn assemble(q: &HistoryQuery, tools: &[ToolRecord], groups: &[String], tally: &Tally) -> Value {
    let mut total: Micros = [0; 6];
    for p in &tally.per_period {
        add(&mut total, p);
    }
    let total = seconds(&total);
    let series: Vec<Value> = q
        .periods
        .iter()
        .zip(&tally.per_period)
        .map(|(p, s)| {
            let mut v = figures(&seconds(s));
            v["period"] = p.label.clone().into();
            v["first"] = p.first.to_string().into();
            v["last"] = p.last.to_string().into();
            v
        })
        .collect();

    // Tools per group and family, in name order.
    let mut tree: BTreeMap<&str, (E10, usize, BTreeMap<&str, Sum>)> = BTreeMap::new();
    let mut rows: Vec<Value> = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        let group = groups[tally.group_of[i]].as_str();
        let family = t.family.as_deref().unwrap_or(NONE);
        let s = &seconds(&tally.per_tool[i]);
        let g = tree.entry(group).or_default();
        add(&mut g.0, s);
        g.1 += 1;
        let f = g.2.entry(family).or_default();
        add(&mut f.0, s);
        f.1 += 1;
        let hours = figures(s);
        rows.push(json!({
            "workcenter_group": group,
            "family": family,
            "equipment_id": t.equipment_id,
            "workcenter_id": t.workcenter_id,
            "location": t.location,
            "package_group": t.package_group,
            "prd_hours": hours["hours"]["prd"],
            "sby_hours": hours["hours"]["sby"],
            "udt_hours": hours["hours"]["udt"],
            "sdt_hours": hours["hours"]["sdt"],
            "egt_hours": hours["hours"]["egt"],
            "nst_hours": hours["hours"]["nst"],
            "ou_pct": hours["ou_pct"],
            "avail_pct": hours["avail_pct"],
        }));
    }
    rows.sort_by(|a, b| {
        let key = |r: &Value| {
            (
                r["workcenter_group"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["family"].as_str().unwrap_or_default().to_string(),
                r["equipment_id"].as_str().unwrap_or_default().to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    let tree: Vec<Value> = tree
        .into_iter()
        .map(|(group, (s, count, families))| {
            let mut v = figures(&s);
            v["workcenter_group"] = group.into();
            v["tools"] = count.into();
            v["families"] = families
                .into_iter()
                .map(|(family, (s, count))| {
                    let mut f = figures(&s);
                    f["family"] = family.into();
                    f["tools"] = count.into();
                    f
                })
                .collect();
            v
        })
        .collect();

    let heatmap: Vec<Vec<Value>> = tally
        .per_group
        .iter()
        .map(|per_period| {
            per_period
                .iter()
                .map(|s| figures(&seconds(s))["ou_pct"].clone())
                .collect()
        })
        .collect();

    let mut kpi = figures(&total);
    kpi["tools"] = tools.len().into();
    json!({
        "window": {
            "from": q.from,
            "to": q.to,
            "days": q.days(),
            "granularity": q.granularity,
            "start": crate::timefmt::iso8601(q.start()),
            "end": crate::timefmt::iso8601(q.end()),
        },
        "filters": q.filter,
        "kpi": kpi,
        "series": series,
        "groups": tree,
        "heatmap": {
            "rows": groups,
            "columns": q.periods.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            "ou_pct": heatmap,
        },
        "rows": rows,
    })
}
