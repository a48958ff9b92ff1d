//! Equipment state history over a time range: hours per SEMI E10 state for each tool, the
//! long report query that runs on the slow pool.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Backend, DbError, DbPool};
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
     WHERE h.started_at < $2 AND COALESCE(h.ended_at, $3) > GREATEST(h.started_at, $1) \
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
     WHERE h.started_at < $1[cardinality($1)] \
     AND COALESCE(h.ended_at, $2) > GREATEST(h.started_at, $1[1]) /*listed*/) k \
     WHERE k.grp IS NOT NULL \
     GROUP BY k.grp, k.e10_state, k.first, k.last";

/// The planner settings of the two statements: no JIT (compiling costs more than it saves
/// on one pass), room to hash every group, and the scan shared by parallel workers.
const GROUP_SETTINGS: [&str; 4] = [
    "SET LOCAL jit = off",
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
];

/// The sums of the equipment history report, computed in PostgreSQL (one transaction, two
/// statements reading each span once): per tool and state over the whole range, and per
/// group and state as [`GroupSpanSums`] over the periods `bounds` delimit (consecutive
/// instants, at least two). `groups` maps every tool counted to its group's number (JSON
/// object); `listed`, when not empty, restricts both statements to those tools (by the tool
/// index). `None` on SQLite (the caller sums the spans itself).
pub async fn period_sums(
    pool: &DbPool,
    bounds: &[DateTime<Utc>],
    now: DateTime<Utc>,
    groups: &str,
    listed: &[String],
) -> Result<Option<(Vec<ToolStateMicros>, Vec<GroupSpanSums>)>, DbError> {
    let (Some(&start), Some(&end)) = (bounds.first(), bounds.last()) else {
        return Ok(Some((Vec::new(), Vec::new())));
    };
    let super::PoolKind::Postgres(pg) = &pool.kind else {
        return Ok(None);
    };
    let filter = if listed.is_empty() {
        String::new()
    } else {
        String::from("AND h.equipment_id = ANY($4)")
    };
    let tool_sql = TOOL_SUMS.replace("/*listed*/", &filter);
    let group_sql = GROUP_SUMS.replace("/*listed*/", &filter);
    pool.guard(async {
        let mut held = pool.acquire(pg).await?;
        let result = {
            let conn: &mut sqlx::PgConnection = held.calling();
            pool.bounded(async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for setting in GROUP_SETTINGS {
                    sqlx::query(setting).execute(&mut *tx).await?;
                }
                // Unnamed statements: planned with the values, so the JSON is parsed once.
                let mut tools = sqlx::query_as::<_, ToolStateMicros>(sqlx::AssertSqlSafe(tool_sql))
                    .persistent(false)
                    .bind(start)
                    .bind(end)
                    .bind(now);
                let mut sums = sqlx::query_as::<_, GroupSpanSums>(sqlx::AssertSqlSafe(group_sql))
                    .persistent(false)
                    .bind(bounds)
                    .bind(now)
                    .bind(groups);
                if !listed.is_empty() {
                    tools = tools.bind(listed);
                    sums = sums.bind(listed);
                }
                let tools = tools.fetch_all(&mut *tx).await?;
                let sums = sums.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>((tools, sums))
            })
            .await
        };
        held.finished(&result);
        result
    })
    .await
    .map(Some)
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
