//! Writing a generated factory into either backend in one transaction: `COPY … FROM STDIN` on
//! PostgreSQL (several times faster than multi-row INSERTs for the hundreds of thousands of
//! history rows), multi-row INSERTs on SQLite.

use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Connection, QueryBuilder};

use super::Factory;
use super::rows::{
    HoldEventRow, JobRow, JobTransactionRow, LotRow, PackageRow, StateSpan, StepRow, ToolRow,
    WorkcenterRow,
};
use crate::db::{DbPool, PoolKind};

/// Report tables in the order they are emptied by `--replace`.
const TABLES: [&str; 9] = [
    "maintenance_job_transactions",
    "maintenance_jobs",
    "hold_events",
    "lots",
    "equipment_state_history",
    "equipment",
    "packages",
    "workcenter_steps",
    "workcenters",
];

/// Bind parameters per SQLite INSERT: far below its limit, large enough to amortize a call.
const SQLITE_BINDS: usize = 8_000;

/// Bytes of COPY data sent per message.
const COPY_CHUNK: usize = 1 << 20;

/// One column value of a row to write.
enum Val<'a> {
    Text(Option<&'a str>),
    Int(i64),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

/// A row of one table, as the writer sees it.
trait Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>);
}

fn text(s: &str) -> Val<'_> {
    Val::Text(Some(s))
}

fn opt(s: Option<&str>) -> Val<'_> {
    Val::Text(s)
}

impl Row for WorkcenterRow {
    const TABLE: &'static str = "workcenters";
    const COLUMNS: &'static [&'static str] = &[
        "workcenter_id",
        "name",
        "sequence",
        "workcenter_group",
        "group_sequence",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(self.id),
            text(self.name),
            Val::Int(self.sequence),
            text(self.group),
            Val::Int(self.group_sequence),
        ]);
    }
}

impl Row for StepRow {
    const TABLE: &'static str = "workcenter_steps";
    const COLUMNS: &'static [&'static str] = &["workcenter_id", "step", "name", "sequence"];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(self.workcenter_id),
            text(self.step),
            text(self.name),
            Val::Int(self.sequence),
        ]);
    }
}

impl Row for PackageRow {
    const TABLE: &'static str = "packages";
    const COLUMNS: &'static [&'static str] = &["package_id", "family"];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([text(self.id), text(self.family)]);
    }
}

impl Row for ToolRow {
    const TABLE: &'static str = "equipment";
    const COLUMNS: &'static [&'static str] = &[
        "equipment_id",
        "workcenter_id",
        "model",
        "e10_state",
        "state_reason",
        "state_since",
        "updated_at",
        "family",
        "location",
        "package_group",
        "vendor",
        "is_production",
        "is_key",
        "is_monitored",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.equipment_id),
            text(self.workcenter_id),
            text(self.model),
            text(self.e10_state),
            opt(self.state_reason),
            Val::Time(Some(self.state_since)),
            Val::Time(Some(self.state_since)),
            text(self.family),
            text(self.location),
            text(self.package_group),
            text(self.vendor),
            Val::Bool(self.is_production),
            Val::Bool(self.is_key),
            Val::Bool(self.is_monitored),
        ]);
    }
}

impl Row for StateSpan {
    const TABLE: &'static str = "equipment_state_history";
    const COLUMNS: &'static [&'static str] = &[
        "equipment_id",
        "e10_state",
        "state_reason",
        "started_at",
        "ended_at",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.equipment_id),
            text(self.e10_state),
            opt(self.state_reason),
            Val::Time(Some(self.started_at)),
            Val::Time(self.ended_at),
        ]);
    }
}

impl Row for LotRow {
    const TABLE: &'static str = "lots";
    const COLUMNS: &'static [&'static str] = &[
        "lot_id",
        "product",
        "package_id",
        "workcenter_id",
        "step",
        "status",
        "quantity",
        "priority",
        "equipment_id",
        "track_in_at",
        "hold_reason",
        "hold_at",
        "hold_by",
        "started_at",
        "updated_at",
        "work_order",
        "lot_type",
        "bop",
        "workflow",
        "function",
        "wafer_lot",
        "move_in_at",
        "hold_department",
        "hold_comment",
        "future_hold_comment",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.lot_id),
            text(&self.product),
            text(self.package_id),
            text(self.workcenter_id),
            text(&self.step),
            text(self.status),
            Val::Int(self.quantity),
            Val::Int(self.priority),
            opt(self.equipment_id.as_deref()),
            Val::Time(self.track_in_at),
            opt(self.hold_reason),
            Val::Time(self.hold_at),
            opt(self.hold_by),
            Val::Time(Some(self.started_at)),
            Val::Time(Some(self.updated_at)),
            text(&self.work_order),
            text(self.lot_type),
            text(&self.bop),
            text(&self.workflow),
            text(self.function),
            text(&self.wafer_lot),
            Val::Time(Some(self.move_in_at)),
            opt(self.hold_department),
            opt(self.hold_comment),
            opt(self.future_hold_comment.as_deref()),
        ]);
    }
}

impl Row for HoldEventRow {
    const TABLE: &'static str = "hold_events";
    const COLUMNS: &'static [&'static str] = &[
        "lot_id",
        "product",
        "package_id",
        "workcenter_id",
        "step",
        "quantity",
        "hold_reason",
        "hold_at",
        "hold_by",
        "hold_department",
        "hold_comment",
        "future_hold",
        "future_hold_comment",
        "release_at",
        "release_by",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.lot_id),
            text(&self.product),
            text(self.package_id),
            text(self.workcenter_id),
            text(&self.step),
            Val::Int(self.quantity),
            opt(self.hold_reason),
            Val::Time(Some(self.hold_at)),
            text(self.hold_by),
            text(self.hold_department),
            opt(self.hold_comment),
            Val::Bool(self.future_hold),
            opt(self.future_hold_comment.as_deref()),
            Val::Time(self.release_at),
            opt(self.release_by),
        ]);
    }
}

impl Row for JobRow {
    const TABLE: &'static str = "maintenance_jobs";
    const COLUMNS: &'static [&'static str] = &[
        "job_id",
        "job_order",
        "status",
        "stage",
        "equipment_id",
        "model",
        "created_at",
        "completed_at",
        "symptom_code",
        "cause_code",
        "repair_code",
        "technician",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.job_id),
            text(&self.job_order),
            text(self.status),
            text(self.stage),
            text(&self.equipment_id),
            text(self.model),
            Val::Time(Some(self.created_at)),
            Val::Time(self.completed_at),
            text(self.symptom_code),
            opt(self.cause_code),
            opt(self.repair_code),
            opt(self.technician),
        ]);
    }
}

impl Row for JobTransactionRow {
    const TABLE: &'static str = "maintenance_job_transactions";
    const COLUMNS: &'static [&'static str] = &[
        "job_id",
        "changed_at",
        "status",
        "stage",
        "changed_by",
        "note",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.job_id),
            Val::Time(Some(self.changed_at)),
            text(self.status),
            text(self.stage),
            text(self.changed_by),
            opt(self.note.as_deref()),
        ]);
    }
}

/// Lots and tools currently in the database (zero, zero for an empty factory).
pub async fn factory_size(pool: &DbPool) -> anyhow::Result<(i64, i64)> {
    let counts = crate::with_conn!(pool, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT count(*) FROM lots), (SELECT count(*) FROM equipment)"
    )
    .fetch_one(&mut *c))?;
    Ok(counts)
}

/// Appends one value in COPY's text format. Written by hand: the format is four escapes and
/// `\N` for NULL, and no crate encodes it.
fn copy_value(buf: &mut Vec<u8>, value: &Val<'_>) {
    match value {
        Val::Text(None) | Val::Time(None) => buf.extend_from_slice(b"\\N"),
        Val::Text(Some(s)) => {
            for b in s.bytes() {
                match b {
                    b'\\' => buf.extend_from_slice(b"\\\\"),
                    b'\t' => buf.extend_from_slice(b"\\t"),
                    b'\n' => buf.extend_from_slice(b"\\n"),
                    b'\r' => buf.extend_from_slice(b"\\r"),
                    _ => buf.push(b),
                }
            }
        }
        Val::Int(i) => buf.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Val::Bool(b) => buf.push(if *b { b't' } else { b'f' }),
        Val::Time(Some(t)) => {
            buf.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes())
        }
    }
}

async fn copy_rows<R: Row>(conn: &mut sqlx::PgConnection, rows: &[R]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let statement = format!("COPY {} ({}) FROM STDIN", R::TABLE, R::COLUMNS.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buf = Vec::with_capacity(COPY_CHUNK + 4096);
    let mut values = Vec::with_capacity(R::COLUMNS.len());
    for row in rows {
        values.clear();
        row.values(&mut values);
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            copy_value(&mut buf, value);
        }
        buf.push(b'\n');
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_slice()).await?;
    }
    copy.finish().await?;
    tracing::debug!(
        table = R::TABLE,
        rows = rows.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "copied"
    );
    Ok(())
}

async fn insert_rows<R: Row>(conn: &mut sqlx::SqliteConnection, rows: &[R]) -> sqlx::Result<()> {
    let started = Instant::now();
    let per_batch = (SQLITE_BINDS / R::COLUMNS.len()).max(1);
    let head = format!("INSERT INTO {} ({}) ", R::TABLE, R::COLUMNS.join(", "));
    let mut values = Vec::with_capacity(R::COLUMNS.len());
    for chunk in rows.chunks(per_batch) {
        let mut query = QueryBuilder::<sqlx::Sqlite>::new(&head);
        query.push_values(chunk, |mut b, row| {
            values.clear();
            row.values(&mut values);
            for value in values.drain(..) {
                match value {
                    Val::Text(s) => b.push_bind(s),
                    Val::Int(i) => b.push_bind(i),
                    Val::Bool(v) => b.push_bind(v),
                    Val::Time(t) => b.push_bind(t),
                };
            }
        });
        query.build().execute(&mut *conn).await?;
    }
    tracing::debug!(
        table = R::TABLE,
        rows = rows.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inserted"
    );
    Ok(())
}

/// Writes `factory`, replacing every report table's rows when `replace` is set.
pub async fn insert(pool: &DbPool, factory: &Factory, replace: bool) -> anyhow::Result<()> {
    match &pool.kind {
        PoolKind::Postgres(p) => {
            let mut conn = p.acquire().await?;
            let mut tx = conn.begin().await?;
            // A large factory takes longer than the pool's statement timeout allows a query.
            sqlx::query("SET LOCAL statement_timeout = 0")
                .execute(&mut *tx)
                .await?;
            if replace {
                let all = TABLES.join(", ");
                sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {all}")))
                    .execute(&mut *tx)
                    .await?;
            }
            copy_rows(&mut tx, &factory.workcenters).await?;
            copy_rows(&mut tx, &factory.steps).await?;
            copy_rows(&mut tx, &factory.packages).await?;
            copy_rows(&mut tx, &factory.tools).await?;
            copy_rows(&mut tx, &factory.history).await?;
            copy_rows(&mut tx, &factory.lots).await?;
            copy_rows(&mut tx, &factory.hold_events).await?;
            copy_rows(&mut tx, &factory.jobs).await?;
            copy_rows(&mut tx, &factory.job_transactions).await?;
            // Fresh statistics, so the first report queries get good plans.
            let started = Instant::now();
            let all = TABLES.join(", ");
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {all}")))
                .execute(&mut *tx)
                .await?;
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "analyzed"
            );
            tx.commit().await?;
        }
        PoolKind::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            // A page cache big enough for the whole write keeps SQLite from spilling pages to
            // the WAL and reading them back hundreds of thousands of times.
            sqlx::query("PRAGMA cache_size = -131072")
                .execute(&mut *conn)
                .await?;
            sqlx::query("PRAGMA temp_store = MEMORY")
                .execute(&mut *conn)
                .await?;
            let mut tx = conn.begin().await?;
            if replace {
                for table in TABLES {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            insert_rows(&mut tx, &factory.workcenters).await?;
            insert_rows(&mut tx, &factory.steps).await?;
            insert_rows(&mut tx, &factory.packages).await?;
            insert_rows(&mut tx, &factory.tools).await?;
            insert_rows(&mut tx, &factory.history).await?;
            insert_rows(&mut tx, &factory.lots).await?;
            insert_rows(&mut tx, &factory.hold_events).await?;
            insert_rows(&mut tx, &factory.jobs).await?;
            insert_rows(&mut tx, &factory.job_transactions).await?;
            tx.commit().await?;
            sqlx::query("PRAGMA cache_size = -2000")
                .execute(&mut *conn)
                .await?;
            sqlx::query("PRAGMA temp_store = DEFAULT")
                .execute(&mut *conn)
                .await?;
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
        }
    }
    Ok(())
}
