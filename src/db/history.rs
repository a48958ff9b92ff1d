//! Equipment state history over a time range: hours per SEMI E10 state for each tool, the
//! long report query that runs on the slow pool.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Backend, DbError, DbPool};
use crate::hold_history::PlantClock;
use crate::with_conn;

/// Seconds each tool spent in each state within the range, one row per (tool, state).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateSeconds {
    pub equipment_id: String,
    pub workcenter_id: String,
    pub e10_state: String,
    pub seconds: f64,
}

/// The overlap of each span with `[$1, $2)`, summed per tool and state. Spans still open end
/// at the range's end. The duration arithmetic is the only part that differs per backend.
fn query(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "SELECT h.equipment_id, e.workcenter_id, h.e10_state, \
             CAST(SUM(EXTRACT(EPOCH FROM (LEAST(COALESCE(h.ended_at, $2), $2) \
             - GREATEST(h.started_at, $1)))) AS DOUBLE PRECISION) AS seconds \
             FROM equipment_state_history h JOIN equipment e ON e.equipment_id = h.equipment_id \
             WHERE h.started_at < $2 AND (h.ended_at IS NULL OR h.ended_at > $1) \
             AND ($3 IS NULL OR e.workcenter_id = $3) \
             GROUP BY h.equipment_id, e.workcenter_id, h.e10_state \
             ORDER BY e.workcenter_id, h.equipment_id"
        }
        Backend::Sqlite => {
            "SELECT h.equipment_id, e.workcenter_id, h.e10_state, \
             CAST(SUM((julianday(MIN(COALESCE(h.ended_at, $2), $2)) \
             - julianday(MAX(h.started_at, $1))) * 86400.0) AS REAL) AS seconds \
             FROM equipment_state_history h JOIN equipment e ON e.equipment_id = h.equipment_id \
             WHERE h.started_at < $2 AND (h.ended_at IS NULL OR h.ended_at > $1) \
             AND ($3 IS NULL OR e.workcenter_id = $3) \
             GROUP BY h.equipment_id, e.workcenter_id, h.e10_state \
             ORDER BY e.workcenter_id, h.equipment_id"
        }
    }
}

pub async fn state_seconds(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    workcenter: Option<&str>,
) -> Result<Vec<StateSeconds>, DbError> {
    let sql = query(pool.backend());
    with_conn!(pool, |c| sqlx::query_as::<_, StateSeconds>(sql)
        .bind(from)
        .bind(to)
        .bind(workcenter)
        .fetch_all(&mut *c))
}

/// One state span of a tool, as stored (`ended_at` is `None` while it lasts).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Span {
    pub equipment_id: String,
    pub e10_state: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Every span overlapping `[from, to)` of the given tools (every tool when `tools` is empty),
/// handed to `each` as the rows arrive (a year of a large fleet is millions of spans: none is
/// kept here). The same text on both backends; the index on `started_at` bounds the scan.
pub async fn each_span(
    pool: &DbPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tools: &[String],
    each: &mut (dyn FnMut(Span) + Send),
) -> Result<(), DbError> {
    use futures_util::TryStreamExt;
    let mut sql = String::from(
        "SELECT equipment_id, e10_state, started_at, ended_at FROM equipment_state_history \
         WHERE started_at < $2 AND (ended_at IS NULL OR ended_at > $1)",
    );
    if !tools.is_empty() {
        sql.push_str(" AND ");
        sql.push_str(&super::maintenance::in_list("equipment_id", 3, tools.len()));
    }
    let sql = sqlx::AssertSqlSafe(sql);
    with_conn!(pool, |c| async {
        let mut query = sqlx::query_as::<_, Span>(sql).bind(from).bind(to);
        for tool in tools {
            query = query.bind(tool.as_str());
        }
        let mut rows = query.fetch(&mut *c);
        while let Some(span) = rows.try_next().await? {
            each(span);
        }
        Ok::<_, sqlx::Error>(())
    })
}

/// Microseconds one tool spent in one state within a range (PostgreSQL's sum).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ToolStateMicros {
    pub equipment_id: String,
    pub e10_state: String,
    pub micros: i64,
}

/// The spans of one workcenter group and state that begin in period `first` and end in
/// period `last` (1-based; `last` is one past the final period when a span reaches the range's
/// end): how many, the microseconds from each start to its period's end (`head`) and from each
/// end to its period's end (`tail`). A period's time in the state is then the heads of the
/// spans starting in it, minus the tails of those ending in it, plus its length for every span
/// begun before it and not yet ended — summed on the server ([`split_group_sums`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupSpanSums {
    pub grp: i32,
    pub e10_state: String,
    pub first: i32,
    pub last: i32,
    pub spans: i64,
    pub head: i64,
    pub tail: i64,
}

/// Per tool and state: the microseconds of the spans overlapping `[bounds[0], bounds[n])`,
/// clipped to it. Spans still open end at `$3` (now).
const TOOL_SUMS: &str = "SELECT h.equipment_id, h.e10_state, CAST(SUM(CAST(ROUND(date_part('epoch', \
     LEAST(COALESCE(h.ended_at, $3), $2) - GREATEST(h.started_at, $1)) * 1000000) AS BIGINT)) \
     AS BIGINT) AS micros \
     FROM equipment_state_history h \
     WHERE h.started_at < $2 AND (h.ended_at IS NULL OR h.ended_at > $1) \
     AND COALESCE(h.ended_at, $3) > GREATEST(h.started_at, $1) \
     /*listed*/ GROUP BY h.equipment_id, h.e10_state";

/// Per workcenter group (`$3`: tool id → group number as JSON, tools outside it skipped),
/// state and the periods (`$1`: their bounds) a span starts and ends in: the sums of
/// [`GroupSpanSums`]. `width_bucket` finds a period by binary search over the bounds.
const GROUP_SUMS: &str = "SELECT k.grp, k.e10_state, k.first, k.last, COUNT(*) AS spans, \
     CAST(SUM(CAST(ROUND(date_part('epoch', $1[k.first + 1] - k.s0) * 1000000) AS BIGINT)) AS BIGINT) AS head, \
     CAST(SUM(CAST(ROUND(date_part('epoch', COALESCE($1[k.last + 1], k.s1) - k.s1) * 1000000) \
     AS BIGINT)) AS BIGINT) AS tail \
     FROM (SELECT CAST(CAST($3 AS JSONB) ->> h.equipment_id AS INTEGER) AS grp, h.e10_state, c.s0, c.s1, \
     width_bucket(c.s0, $1) AS first, width_bucket(c.s1, $1) AS last \
     FROM equipment_state_history h \
     CROSS JOIN LATERAL (SELECT GREATEST(h.started_at, $1[1]) AS s0, \
     LEAST(COALESCE(h.ended_at, $2), $1[cardinality($1)]) AS s1) c \
     WHERE h.started_at < $1[cardinality($1)] AND (h.ended_at IS NULL OR h.ended_at > $1[1]) \
     AND COALESCE(h.ended_at, $2) > GREATEST(h.started_at, $1[1]) /*listed*/) k \
     WHERE k.grp IS NOT NULL \
     GROUP BY k.grp, k.e10_state, k.first, k.last";

/// Per tool: the microseconds per state of the shift days `[$1, $2)` in the rollup.
const ROLLED_TOOLS: &str = "SELECT d.equipment_id, CAST(SUM(d.prd_us) AS BIGINT) AS prd, \
     CAST(SUM(d.sby_us) AS BIGINT) AS sby, CAST(SUM(d.udt_us) AS BIGINT) AS udt, \
     CAST(SUM(d.sdt_us) AS BIGINT) AS sdt, CAST(SUM(d.egt_us) AS BIGINT) AS egt, \
     CAST(SUM(d.nst_us) AS BIGINT) AS nst \
     FROM equipment_state_daily d WHERE d.shift_day >= $1 AND d.shift_day < $2 /*listed*/ \
     GROUP BY d.equipment_id";

/// Per workcenter group (`$3` tools, `$4` their group numbers) and shift day of `[$1, $2)`:
/// the microseconds per state in the rollup (a few rows per day; the days go to their periods
/// in the caller).
const ROLLED_GROUPS: &str = "SELECT g.grp, d.shift_day, CAST(SUM(d.prd_us) AS BIGINT) AS prd, \
     CAST(SUM(d.sby_us) AS BIGINT) AS sby, CAST(SUM(d.udt_us) AS BIGINT) AS udt, \
     CAST(SUM(d.sdt_us) AS BIGINT) AS sdt, CAST(SUM(d.egt_us) AS BIGINT) AS egt, \
     CAST(SUM(d.nst_us) AS BIGINT) AS nst \
     FROM equipment_state_daily d \
     JOIN unnest(CAST($3 AS TEXT[]), CAST($4 AS INTEGER[])) AS g(equipment_id, grp) \
     ON g.equipment_id = d.equipment_id \
     WHERE d.shift_day >= $1 AND d.shift_day < $2 \
     GROUP BY g.grp, d.shift_day";

/// Microseconds per E10 state (in the order of `equipment::E10_STATES`) of one rollup sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StateMicros {
    pub prd: i64,
    pub sby: i64,
    pub udt: i64,
    pub sdt: i64,
    pub egt: i64,
    pub nst: i64,
}

impl StateMicros {
    pub fn as_array(&self) -> [i64; 6] {
        [self.prd, self.sby, self.udt, self.sdt, self.egt, self.nst]
    }
}

/// One tool's time per state over the rolled-up days.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RolledTool {
    pub equipment_id: String,
    #[sqlx(flatten)]
    pub micros: StateMicros,
}

/// One group's time per state in one rolled-up shift day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RolledGroupDay {
    pub grp: i32,
    pub shift_day: NaiveDate,
    #[sqlx(flatten)]
    pub micros: StateMicros,
}

/// The planner settings of the statements: no JIT (compiling costs more than it saves on one
/// pass), room to hash every group, and the scans shared by parallel workers.
const GROUP_SETTINGS: [&str; 4] = [
    "SET LOCAL jit = off",
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
];

/// And for the rollup's statements, which aggregate far more rows than they return: gathering
/// each worker's rows costs (so the workers aggregate them first), hashed rather than sorted.
/// Measured with psql on a generated year of 2 000 tools (732 000 rows, load 9 on 2 cores):
/// the per-group statement 2.6 s gathering every row and sorting, 0.53 s so.
const ROLLED_SETTINGS: [&str; 2] = [
    "SET LOCAL parallel_tuple_cost = 1",
    "SET LOCAL enable_sort = off",
];

/// What the report's range is, for [`period_sums`].
pub struct SumsRange<'a> {
    /// The periods' bounds: consecutive instants, at least two.
    pub bounds: &'a [DateTime<Utc>],
    /// The first and last shift day.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Where spans still open end.
    pub now: DateTime<Utc>,
    /// Every tool counted and its group's number (the same order).
    pub tools: &'a [String],
    pub groups: &'a [i32],
    /// When not empty, the statements read only these tools (by the tool index).
    pub listed: &'a [String],
}

/// The sums of the equipment history report computed in PostgreSQL: the shift days the rollup
/// holds ([`super::rollup`]) from it, the rest of the range from the spans.
#[derive(Debug, Default)]
pub struct PeriodSums {
    /// From the rollup: per tool over its days, and per group and day.
    pub rolled_tools: Vec<RolledTool>,
    pub rolled_groups: Vec<RolledGroupDay>,
    /// From the spans: per tool and state over the part after the rollup, and per group as
    /// [`GroupSpanSums`] over `span_bounds` — the range's bounds from the rollup's end on (it
    /// as the first); empty when the rollup covers the whole range.
    pub span_tools: Vec<ToolStateMicros>,
    pub span_groups: Vec<GroupSpanSums>,
    pub span_bounds: Vec<DateTime<Utc>>,
    /// The range's period the first of `span_bounds`'s periods is (a part of).
    pub span_offset: usize,
}

/// Splits the range at the first day the rollup does not hold (`None`: no rollup): the
/// days `[first_day, split)` from the rollup, and the bounds of the rest with the index of its
/// first period.
fn split_range(
    range: &SumsRange<'_>,
    clock: &PlantClock,
    usable_before: Option<NaiveDate>,
) -> (Option<NaiveDate>, Vec<DateTime<Utc>>, usize) {
    let bounds = range.bounds;
    let split = usable_before
        .filter(|day| *day > range.first_day)
        .map(|day| day.min(range.last_day + chrono::Days::new(1)));
    let Some(split) = split else {
        return (None, bounds.to_vec(), 0);
    };
    let at = clock.day_begins(split);
    // Bounds at or before the split: the period holding it is the last of them.
    let before = bounds.partition_point(|b| *b <= at);
    if before >= bounds.len() {
        return (Some(split), Vec::new(), 0);
    }
    let mut rest = Vec::with_capacity(bounds.len() - before + 1);
    rest.push(at);
    rest.extend_from_slice(&bounds[before..]);
    (Some(split), rest, before.saturating_sub(1))
}

/// The sums of the equipment history report, computed in PostgreSQL in one read-only
/// snapshot: the days the rollup holds (two statements over one row per tool and day) and
/// the rest from the spans (two statements reading each span once: per tool and state, and
/// per group and state as [`GroupSpanSums`]). `None` on SQLite (the caller sums the spans).
pub async fn period_sums(
    pool: &DbPool,
    clock: &PlantClock,
    range: &SumsRange<'_>,
) -> Result<Option<PeriodSums>, DbError> {
    if range.bounds.len() < 2 {
        return Ok(Some(PeriodSums::default()));
    }
    let super::PoolKind::Postgres(pg) = &pool.kind else {
        return Ok(None);
    };
    pool.guard(async {
        let mut held = pool.acquire(pg).await?;
        let result = {
            let conn: &mut sqlx::PgConnection = held.calling();
            pool.bounded(sums_on(conn, clock, range)).await
        };
        held.finished(&result);
        result
    })
    .await
    .map(Some)
}

async fn sums_on(
    conn: &mut sqlx::PgConnection,
    clock: &PlantClock,
    range: &SumsRange<'_>,
) -> Result<PeriodSums, sqlx::Error> {
    let listed = !range.listed.is_empty();
    let filter = |column: &str, n: usize| {
        if listed {
            format!("AND {column}.equipment_id = ANY(${n})")
        } else {
            String::new()
        }
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    for setting in GROUP_SETTINGS {
        sqlx::query(setting).execute(&mut *tx).await?;
    }
    let usable = super::rollup::usable_before(&mut tx, clock, range.now).await?;
    let (split, span_bounds, span_offset) = split_range(range, clock, usable);
    let mut out = PeriodSums {
        span_bounds,
        span_offset,
        ..PeriodSums::default()
    };
    if let (Some(&start), Some(&end)) = (out.span_bounds.first(), out.span_bounds.last()) {
        let numbers: serde_json::Map<String, serde_json::Value> = range
            .tools
            .iter()
            .zip(range.groups)
            .map(|(t, g)| (t.clone(), serde_json::Value::from(*g)))
            .collect();
        let numbers = serde_json::Value::Object(numbers).to_string();
        let tool_sql = TOOL_SUMS.replace("/*listed*/", &filter("h", 4));
        let group_sql = GROUP_SUMS.replace("/*listed*/", &filter("h", 4));
        // Unnamed statements: planned with the values, so the JSON is parsed once.
        let mut tools = sqlx::query_as::<_, ToolStateMicros>(sqlx::AssertSqlSafe(tool_sql))
            .persistent(false)
            .bind(start)
            .bind(end)
            .bind(range.now);
        let mut sums = sqlx::query_as::<_, GroupSpanSums>(sqlx::AssertSqlSafe(group_sql))
            .persistent(false)
            .bind(&out.span_bounds)
            .bind(range.now)
            .bind(numbers);
        if listed {
            tools = tools.bind(range.listed);
            sums = sums.bind(range.listed);
        }
        out.span_tools = tools.fetch_all(&mut *tx).await?;
        out.span_groups = sums.fetch_all(&mut *tx).await?;
    }
    if let Some(split) = split {
        for setting in ROLLED_SETTINGS {
            sqlx::query(setting).execute(&mut *tx).await?;
        }
        let sql = ROLLED_TOOLS.replace("/*listed*/", &filter("d", 3));
        // Unnamed too: planned for the range's days (a generic plan would guess them).
        let mut tools = sqlx::query_as::<_, RolledTool>(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(range.first_day)
            .bind(split);
        if listed {
            tools = tools.bind(range.listed);
        }
        out.rolled_tools = tools.fetch_all(&mut *tx).await?;
        out.rolled_groups = sqlx::query_as::<_, RolledGroupDay>(ROLLED_GROUPS)
            .persistent(false)
            .bind(range.first_day)
            .bind(split)
            .bind(range.tools)
            .bind(range.groups)
            .fetch_all(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Microseconds per period (`bounds.len() - 1` of them) of one group and state from its
/// [`GroupSpanSums`] rows.
pub fn split_group_sums<'a>(
    bounds: &[DateTime<Utc>],
    rows: impl Iterator<Item = &'a GroupSpanSums>,
) -> Vec<i64> {
    let periods = bounds.len().saturating_sub(1);
    // Per period (0-based): spans starting, spans ending, heads minus tails.
    let mut starting = vec![0i64; periods + 1];
    let mut ending = vec![0i64; periods + 1];
    let mut partial = vec![0i64; periods];
    for r in rows {
        let (first, last) = (r.first as usize, r.last as usize);
        if first == 0 || first > periods || last == 0 {
            continue;
        }
        starting[first - 1] += r.spans;
        partial[first - 1] += r.head;
        if last <= periods {
            ending[last - 1] += r.spans;
            partial[last - 1] -= r.tail;
        }
    }
    let mut open = 0i64;
    let mut out = Vec::with_capacity(periods);
    for p in 0..periods {
        let length = (bounds[p + 1] - bounds[p]).num_microseconds().unwrap_or(0);
        out.push(partial[p] + open * length);
        open += starting[p] - ending[p];
    }
    out
}

/// Hours per E10 state and the E10 ratios of one tool or group.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct E10Hours {
    pub prd: f64,
    pub sby: f64,
    pub udt: f64,
    pub sdt: f64,
    pub egt: f64,
    pub nst: f64,
}

impl E10Hours {
    pub fn add(&mut self, state: &str, hours: f64) {
        match state {
            "PRD" => self.prd += hours,
            "SBY" => self.sby += hours,
            "UDT" => self.udt += hours,
            "SDT" => self.sdt += hours,
            "EGT" => self.egt += hours,
            "NST" => self.nst += hours,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: &E10Hours) {
        self.prd += other.prd;
        self.sby += other.sby;
        self.udt += other.udt;
        self.sdt += other.sdt;
        self.egt += other.egt;
        self.nst += other.nst;
    }

    /// SEMI E10 operations time: everything but non-scheduled time.
    pub fn operations(&self) -> f64 {
        self.prd + self.sby + self.udt + self.sdt + self.egt
    }

    /// Every hour, non-scheduled time included.
    pub fn total(&self) -> f64 {
        self.operations() + self.nst
    }

    /// AVAIL % (PRODUCT §2): uptime (productive, standby, engineering) over all time, NST
    /// included — as the system we replace computes it.
    pub fn availability_pct(&self) -> Option<f64> {
        let all = self.total();
        (all > 0.0).then(|| round2((self.prd + self.sby + self.egt) / all * 100.0))
    }

    /// OU % (PRODUCT §2): productive time over operations time (NST excluded), in percent.
    pub fn utilization_pct(&self) -> Option<f64> {
        let ops = self.operations();
        (ops > 0.0).then(|| round2(self.prd / ops * 100.0))
    }

    pub fn rounded(&self) -> E10Hours {
        E10Hours {
            prd: round2(self.prd),
            sby: round2(self.sby),
            udt: round2(self.udt),
            sdt: round2(self.sdt),
            egt: round2(self.egt),
            nst: round2(self.nst),
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilization_excludes_and_availability_includes_non_scheduled_time() {
        let mut h = E10Hours::default();
        h.add("PRD", 6.0);
        h.add("SBY", 1.0);
        h.add("UDT", 2.0);
        h.add("EGT", 1.0);
        h.add("NST", 14.0);
        assert_eq!(h.operations(), 10.0);
        // (6 + 1 + 1) / 24 of every hour; 6 / 10 of the scheduled ones.
        assert_eq!(h.availability_pct(), Some(33.33));
        assert_eq!(h.utilization_pct(), Some(60.0));
        assert_eq!(E10Hours::default().availability_pct(), None);
    }
}
