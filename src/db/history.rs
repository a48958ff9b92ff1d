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
