//! The per-day rollup of the equipment history (migration 0011, docs/SCHEMA.md): the
//! microseconds each tool spent in each E10 state in every closed shift day, so a long
//! `/resource-history` range reads one row per tool and day instead of every span (a year of
//! 2 000 tools: ~0.7 M rows against 3.8 M spans, no per-span arithmetic). PostgreSQL only; the
//! embedded SQLite demo streams the spans.
//!
//! `equipment_state_daily` holds every shift day before `equipment_state_rollup.rolled_before`
//! (a day with no time has no rows), computed on the plant clock the row names. The dashboard
//! writes both: the seed after inserting its history, then the equipment sync's leader
//! ([`roll_up`], one chunk of days per tick) once a day has been over for [`SETTLE`].
//! A write to the spans that reaches back before `rolled_until` (the instant `rolled_before`
//! begins) sets `stale_from` in its own transaction (the statement triggers of migration
//! 0011): readers then stop the rollup at that instant's shift day, and the next roll-up
//! recomputes from it. Writers and the roll-up are ordered by a PostgreSQL advisory lock
//! (shared in the triggers, exclusive here), so a write is either in the spans a roll-up reads
//! or sees the `rolled_until` it commits.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{DbError, DbPool, PoolKind};
use crate::hold_history::PlantClock;

/// Most shift days one roll-up statement computes (one transaction, on the slow pool).
pub const CHUNK_DAYS: u64 = 31;

/// How long after its end a shift day is rolled up: spans that a warehouse loads late still
/// land in the spans the roll-up reads.
pub const SETTLE: chrono::Duration = chrono::Duration::hours(1);

/// The advisory lock key ordering span writers (shared) and the roll-up (exclusive); the
/// triggers of migration 0011 spell it in decimal (84960145047571).
const LOCK_KEY: i64 = 0x4d45_5344_0013;

/// The days `[start, end)` (bounds: the instant each begins, then the end's): microseconds per
/// tool and state in each, from every span overlapping them, clipped to each day. Spans still
/// open end at `$3` (now; every day rolled has ended by then). `generate_series` walks the
/// days a span reaches (`width_bucket`: a binary search over the bounds).
const FILL: &str = "INSERT INTO equipment_state_daily (shift_day, equipment_id, prd_us, sby_us, \
     udt_us, sdt_us, egt_us, nst_us) \
     SELECT CAST($2 AS DATE) + (k.day - 1), h.equipment_id, \
     SUM(CASE WHEN h.e10_state = 'PRD' THEN k.us ELSE 0 END), \
     SUM(CASE WHEN h.e10_state = 'SBY' THEN k.us ELSE 0 END), \
     SUM(CASE WHEN h.e10_state = 'UDT' THEN k.us ELSE 0 END), \
     SUM(CASE WHEN h.e10_state = 'SDT' THEN k.us ELSE 0 END), \
     SUM(CASE WHEN h.e10_state = 'EGT' THEN k.us ELSE 0 END), \
     SUM(CASE WHEN h.e10_state = 'NST' THEN k.us ELSE 0 END) \
     FROM equipment_state_history h \
     CROSS JOIN LATERAL (SELECT d AS day, CAST(ROUND(date_part('epoch', \
     LEAST(COALESCE(h.ended_at, $3), $1[d + 1]) - GREATEST(h.started_at, $1[d])) * 1000000) \
     AS BIGINT) AS us \
     FROM generate_series(GREATEST(width_bucket(h.started_at, $1), 1), \
     LEAST(width_bucket(COALESCE(h.ended_at, $3), $1), cardinality($1) - 1)) AS d) k \
     WHERE h.started_at < $1[cardinality($1)] AND (h.ended_at IS NULL OR h.ended_at > $1[1]) \
     AND k.us > 0 \
     GROUP BY k.day, h.equipment_id";

/// What one [`roll_up`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rolled {
    /// Another process is rolling up (or the backend keeps no rollup).
    Skipped,
    /// Every settled day is rolled up; nothing written.
    UpToDate,
    /// Days `[from, before)` written; `more`: settled days remain for the next call.
    Days {
        from: NaiveDate,
        before: NaiveDate,
        more: bool,
    },
}

/// The rollup's state row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct State {
    time_zone: String,
    day_start: String,
    rolled_before: Option<NaiveDate>,
    stale_from: Option<DateTime<Utc>>,
}

fn clock_names(clock: &PlantClock) -> (String, String) {
    (
        clock.zone.name().to_string(),
        clock.day_start.format("%H:%M:%S").to_string(),
    )
}

impl State {
    /// The first shift day not final in the rollup for `clock`; `None`: nothing usable (never
    /// rolled, or rolled on another clock).
    fn usable_before(&self, clock: &PlantClock) -> Option<NaiveDate> {
        let (zone, start) = clock_names(clock);
        if self.time_zone != zone || self.day_start != start {
            return None;
        }
        let before = self.rolled_before?;
        Some(match self.stale_from {
            Some(at) => before.min(clock.shift_day(at)),
            None => before,
        })
    }
}

/// The first shift day whose figures the rollup does not hold for `clock`, no later than the
/// day holding `now` (a day not over by `now` is read from the spans); `None`: use the spans
/// only. Read inside the report's transaction, so the rows read after agree with it.
pub async fn usable_before(
    conn: &mut sqlx::PgConnection,
    clock: &PlantClock,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>, sqlx::Error> {
    let state = sqlx::query_as::<_, State>(
        "SELECT time_zone, day_start, rolled_before, stale_from FROM equipment_state_rollup \
         WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(state
        .and_then(|s| s.usable_before(clock))
        .map(|day| day.min(clock.shift_day(now))))
}

/// Rolls up at most [`CHUNK_DAYS`] settled shift days (over by [`SETTLE`] at `now`) from the
/// first one not final — recomputing from a stale day, or from the first span's day when the
/// rollup is empty or of another clock. Skips when another process holds the lock.
pub async fn roll_up(
    pool: &DbPool,
    clock: &PlantClock,
    now: DateTime<Utc>,
) -> Result<Rolled, DbError> {
    let PoolKind::Postgres(pg) = &pool.kind else {
        return Ok(Rolled::Skipped);
    };
    pool.guard(async {
        let mut held = pool.acquire(pg).await?;
        let result = {
            let conn: &mut sqlx::PgConnection = held.calling();
            pool.bounded(roll_up_on(conn, clock, now)).await
        };
        held.finished(&result);
        result
    })
    .await
}

async fn roll_up_on(
    conn: &mut sqlx::PgConnection,
    clock: &PlantClock,
    now: DateTime<Utc>,
) -> Result<Rolled, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(Rolled::Skipped);
    }
    // Spans written from here on see this transaction's `rolled_until` (they wait for it).
    let (zone, day_start) = clock_names(clock);
    sqlx::query(
        "INSERT INTO equipment_state_rollup (id, time_zone, day_start, updated_at) \
         VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&zone)
    .bind(&day_start)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let state = sqlx::query_as::<_, State>(
        "SELECT time_zone, day_start, rolled_before, stale_from FROM equipment_state_rollup \
         WHERE id = 1 FOR UPDATE",
    )
    .fetch_one(&mut *tx)
    .await?;
    let settled = clock.shift_day(now - SETTLE);
    let start = match state.usable_before(clock) {
        Some(day) => day,
        None => {
            sqlx::query("DELETE FROM equipment_state_daily")
                .execute(&mut *tx)
                .await?;
            let first: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT min(started_at) FROM equipment_state_history")
                    .fetch_one(&mut *tx)
                    .await?;
            first.map_or(settled, |t| clock.shift_day(t).min(settled))
        }
    };
    let unchanged = state.rolled_before == Some(start) && state.stale_from.is_none();
    if start >= settled && unchanged {
        tx.commit().await?;
        return Ok(Rolled::UpToDate);
    }
    sqlx::query("DELETE FROM equipment_state_daily WHERE shift_day >= $1")
        .bind(start)
        .execute(&mut *tx)
        .await?;
    let before = settled.min(start + Days::new(CHUNK_DAYS)).max(start);
    if before > start {
        let bounds = day_bounds(clock, start, before);
        sqlx::query(FILL)
            .bind(&bounds)
            .bind(start)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE equipment_state_rollup SET time_zone = $1, day_start = $2, rolled_before = $3, \
         rolled_until = $4, stale_from = NULL, updated_at = $5 WHERE id = 1",
    )
    .bind(&zone)
    .bind(&day_start)
    .bind(before)
    .bind(clock.day_begins(before))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if before > start {
        Rolled::Days {
            from: start,
            before,
            more: before < settled,
        }
    } else {
        Rolled::UpToDate
    })
}

/// The instant each shift day `start..end` begins, then the instant `end` begins.
pub fn day_bounds(clock: &PlantClock, start: NaiveDate, end: NaiveDate) -> Vec<DateTime<Utc>> {
    start
        .iter_days()
        .take_while(|d| *d <= end)
        .map(|d| clock.day_begins(d))
        .collect()
}

/// Rolls up every settled day (the seed, after writing its history).
pub async fn roll_up_all(
    pool: &DbPool,
    clock: &PlantClock,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    while let Rolled::Days { more: true, .. } = roll_up(pool, clock, now).await? {}
    Ok(())
}

/// Forgets the rollup (the seed replaces the whole history): the next roll-up starts over.
pub async fn reset(pool: &DbPool) -> Result<(), DbError> {
    let PoolKind::Postgres(_) = &pool.kind else {
        return Ok(());
    };
    crate::with_conn!(pool, |c| async {
        let mut tx = sqlx::Connection::begin(&mut *c).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM equipment_state_daily")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM equipment_state_rollup")
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, TimeZone};

    use super::*;

    fn clock() -> PlantClock {
        PlantClock::new(
            chrono_tz::Asia::Taipei,
            NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
        )
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn state(zone: &str, before: Option<&str>, stale: Option<DateTime<Utc>>) -> State {
        State {
            time_zone: zone.into(),
            day_start: "07:30:00".into(),
            rolled_before: before.map(day),
            stale_from: stale,
        }
    }

    #[test]
    fn a_stale_instant_stops_the_rollup_at_its_shift_day() {
        let c = clock();
        assert_eq!(
            state("Asia/Taipei", Some("2026-03-10"), None).usable_before(&c),
            Some(day("2026-03-10"))
        );
        // 2026-03-05 07:29 Taipei is still shift day 03-05; 07:30 is 03-06.
        let at = |h, m| {
            chrono_tz::Asia::Taipei
                .with_ymd_and_hms(2026, 3, 5, h, m, 0)
                .unwrap()
                .to_utc()
        };
        assert_eq!(
            state("Asia/Taipei", Some("2026-03-10"), Some(at(7, 29))).usable_before(&c),
            Some(day("2026-03-05"))
        );
        assert_eq!(
            state("Asia/Taipei", Some("2026-03-10"), Some(at(7, 30))).usable_before(&c),
            Some(day("2026-03-06"))
        );
        // Rolled on another clock, or never: not usable.
        assert_eq!(
            state("UTC", Some("2026-03-10"), None).usable_before(&c),
            None
        );
        assert_eq!(state("Asia/Taipei", None, None).usable_before(&c), None);
    }

    #[test]
    fn day_bounds_are_the_shift_day_starts() {
        let c = clock();
        let b = day_bounds(&c, day("2026-03-01"), day("2026-03-03"));
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], c.day_begins(day("2026-03-01")));
        assert_eq!(
            b[0],
            chrono_tz::Asia::Taipei
                .with_ymd_and_hms(2026, 2, 28, 7, 30, 0)
                .unwrap()
                .to_utc()
        );
        assert_eq!(b[2], c.day_begins(day("2026-03-03")));
    }
}
