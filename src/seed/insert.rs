//! Writing a generated factory into either backend in one transaction: `COPY … FROM STDIN` on
//! PostgreSQL (several times faster than multi-row INSERTs for the hundreds of thousands of
//! history rows), multi-row INSERTs on SQLite.

use std::time::Instant;

use chrono::SecondsFormat;
use sqlx::{Connection, QueryBuilder};

use super::Factory;
use super::columns::{Row, Val};
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
