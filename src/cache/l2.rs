//! The WIP dataset in Redis (L2): its keys, its wire form, the publication and the refresh
//! lock.
//!
//! Keys, under `REDIS_KEY_PREFIX`:
//! - `<prefix>:wip:data`: the snapshot — version, stamp, the pre-serialized summary and matrix,
//!   the route, and the compact lot table (dictionaries and fixed-width lots, see [`encode`]);
//! - `<prefix>:wip:meta`: a hash `version`, `stamp`, `computed_at`, `lots`, cheap to compare;
//! - `<prefix>:wip:lock`: the refresh lock, a random token set with `NX PX`;
//! - channel `<prefix>:wip:updated`: a publication's version.
//!
//! A publication is one `MULTI` transaction: the data is written under a staging key and
//! `RENAME`d over the live one, then the meta hash is replaced and the notice published, so a
//! reader never sees a meta that names data not yet there. Both keys expire after three check
//! intervals unless a live updater extends them.

use std::time::Duration;

use bytes::{BufMut, Bytes};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lots::{Codes, Dict, Field, Lot, LotTable, Micros, NONE, Status, WorkcenterMeta};
use super::wip::{Assembly, Source, WipSnapshot};
use crate::config::NonQualityReasons;
use crate::db::reference::PackageInfo;
use crate::db::wip::Freshness;
use crate::json::RawJson;
use crate::redis::{Redis, RedisError};

/// Bumped when the wire form changes: an older form in Redis then reads as a miss.
const FORMAT: u32 = 3;

/// Releases the lock only for its owner.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

pub struct Keys {
    pub data: String,
    pub meta: String,
    pub lock: String,
    pub channel: String,
}

impl Keys {
    pub fn new(redis: &Redis) -> Self {
        Self {
            data: redis.key("wip:data"),
            meta: redis.key("wip:meta"),
            lock: redis.key("wip:lock"),
            channel: redis.key("wip:updated"),
        }
    }
}

/// What the meta hash says about the published snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub stamp: Freshness,
    pub computed_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: String,
    stamp: Freshness,
    computed_at: DateTime<Utc>,
    /// The answers exactly as served (JSON text).
    summary: String,
    matrix: String,
    workcenters: Vec<WorkcenterMeta>,
    groups: Vec<String>,
    packages: Vec<PackageInfo>,
    lots: u32,
    /// Per dictionary (the lot ids first, then one per [`Field`]): text bytes, values.
    dicts: Vec<(u32, u32)>,
}

/// Bytes of one lot in the wire form: the codes (four bytes each, whatever their column's width
/// in memory: the reader narrows them again from the dictionaries' sizes), quantity, five
/// times, priority, workcenter, status.
const LOT_BYTES: usize = Field::COUNT * 4 + 8 + 5 * 8 + 4 + 2 + 1;

/// The snapshot's wire form: `FORMAT` and the header's length (u32 little-endian each), the
/// header as JSON, then each dictionary's text and value ends, then every lot as fixed-width
/// little-endian numbers.
///
/// Written by hand rather than with a serialization crate: the table is a few flat arrays of
/// numbers, and this keeps a 200 000-lot snapshot at ~25 MB that loads in a few tens of
/// milliseconds (the JSON form was larger and took most of a second to parse).
pub fn encode(snapshot: &WipSnapshot) -> serde_json::Result<Vec<u8>> {
    let text = |raw: &RawJson| String::from_utf8_lossy(&raw.0).into_owned();
    let table = &snapshot.table;
    let dicts: Vec<&Dict> = std::iter::once(&table.ids)
        .chain(table.dicts.iter())
        .collect();
    let header = serde_json::to_vec(&Header {
        version: snapshot.version.clone(),
        stamp: snapshot.stamp,
        computed_at: snapshot.computed_at,
        summary: text(&snapshot.summary),
        matrix: text(&snapshot.matrix),
        workcenters: table.workcenters.clone(),
        groups: table.groups.clone(),
        packages: table.packages.clone(),
        lots: table.len() as u32,
        dicts: dicts
            .iter()
            .map(|d| (d.text().len() as u32, d.len() as u32))
            .collect(),
    })?;
    let body: usize = dicts.iter().map(|d| d.text().len() + d.len() * 4).sum();
    let mut out = Vec::with_capacity(8 + header.len() + body + table.len() * LOT_BYTES);
    out.put_u32_le(FORMAT);
    out.put_u32_le(header.len() as u32);
    out.extend_from_slice(&header);
    for d in &dicts {
        out.extend_from_slice(d.text().as_bytes());
        for &end in d.ends() {
            out.put_u32_le(end);
        }
    }
    for (pos, lot) in table.lots.iter().enumerate() {
        for column in &table.codes {
            out.put_u32_le(column.get(pos));
        }
        out.put_i64_le(lot.quantity);
        for t in [
            lot.track_in_at,
            lot.hold_at,
            lot.move_in_at,
            lot.started_at,
            lot.updated_at,
        ] {
            out.put_i64_le(t.0);
        }
        out.put_i32_le(lot.priority);
        out.put_u16_le(lot.workcenter);
        out.put_u8(lot.status as u8);
    }
    Ok(out)
}

/// Reads the wire form, every length checked: a short or damaged value is `None`, never a
/// panic.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
}

fn decode_table(header: &Header, c: &mut Cursor<'_>) -> Option<LotTable> {
    if header.dicts.len() != Field::COUNT + 1 {
        return None;
    }
    let mut dicts = Vec::with_capacity(header.dicts.len());
    for &(bytes, values) in &header.dicts {
        let text = std::str::from_utf8(c.take(bytes as usize)?)
            .ok()?
            .to_string();
        let ends = (0..values).map(|_| c.u32()).collect::<Option<Vec<u32>>>()?;
        dicts.push(Dict::from_parts(text, ends)?);
    }
    let mut dicts = dicts.into_iter();
    let ids = dicts.next()?;
    let dicts: [Dict; Field::COUNT] = dicts.collect::<Vec<_>>().try_into().ok()?;
    let n = header.lots as usize;
    if ids.len() != n || c.0.len() != n * LOT_BYTES {
        return None;
    }
    let mut lots = Vec::with_capacity(n);
    let mut codes: [Codes; Field::COUNT] =
        std::array::from_fn(|f| Codes::for_values(dicts[f].len(), n));
    for _ in 0..n {
        for (dict, column) in dicts.iter().zip(&mut codes) {
            let code = c.u32()?;
            if code != NONE && code as usize >= dict.len() {
                return None;
            }
            column.push(code);
        }
        let quantity = c.i64()?;
        let mut times = [Micros::NONE; 5];
        for t in &mut times {
            *t = Micros(c.i64()?);
        }
        let priority = i32::from_le_bytes(c.array()?);
        let workcenter = u16::from_le_bytes(c.array()?);
        let status = Status::from_u8(c.array::<1>()?[0])?;
        if workcenter as usize >= header.workcenters.len() {
            return None;
        }
        let [track_in_at, hold_at, move_in_at, started_at, updated_at] = times;
        lots.push(Lot {
            quantity,
            track_in_at,
            hold_at,
            move_in_at,
            started_at,
            updated_at,
            priority,
            workcenter,
            status,
            non_quality: false,
        });
    }
    Some(LotTable {
        lots,
        codes,
        ids,
        dicts,
        workcenters: header.workcenters.clone(),
        groups: header.groups.clone(),
        packages: header.packages.clone(),
    })
}

/// A snapshot from its wire form; `None` for another format or a damaged value.
pub fn decode(bytes: &[u8], reasons: &NonQualityReasons) -> Option<WipSnapshot> {
    let mut c = Cursor(bytes);
    if c.u32()? != FORMAT {
        return None;
    }
    let header_len = c.u32()? as usize;
    let header: Header = serde_json::from_slice(c.take(header_len)?).ok()?;
    let table = decode_table(&header, &mut c)?;
    // Ages count from now: the other process's monotonic clock is not ours, and the wall
    // clock age would go negative under skew. `computed_at` still says when it was computed.
    let age = (Utc::now() - header.computed_at)
        .to_std()
        .unwrap_or_default();
    let computed_instant = std::time::Instant::now()
        .checked_sub(age)
        .unwrap_or_else(std::time::Instant::now);
    WipSnapshot::assemble(
        Assembly {
            summary: RawJson(Bytes::from(header.summary)),
            matrix: RawJson(Bytes::from(header.matrix)),
            table,
            stamp: header.stamp,
            version: header.version,
            computed_at: header.computed_at,
            computed_instant,
            source: Source::Redis,
        },
        reasons,
    )
    .ok()
}

/// The published version and stamp, `None` when nothing (readable) is published.
pub async fn published(redis: &Redis, keys: &Keys) -> Result<Option<Published>, RedisError> {
    let fields: Vec<Option<String>> = redis
        .run(
            redis::cmd("HMGET")
                .arg(&keys.meta)
                .arg("version")
                .arg("stamp")
                .arg("computed_at"),
        )
        .await?;
    let (Some(Some(version)), Some(Some(stamp))) = (fields.first(), fields.get(1)) else {
        return Ok(None);
    };
    let computed_at = fields
        .get(2)
        .and_then(|f| f.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(serde_json::from_str(stamp).ok().map(|stamp| Published {
        version: version.clone(),
        stamp,
        computed_at,
    }))
}

/// The published snapshot, `None` when missing or unreadable.
pub async fn load(
    redis: &Redis,
    keys: &Keys,
    reasons: &NonQualityReasons,
) -> Result<Option<WipSnapshot>, RedisError> {
    let bytes: Option<Vec<u8>> = redis.run(redis::cmd("GET").arg(&keys.data)).await?;
    Ok(bytes.as_deref().and_then(|b| decode(b, reasons)))
}

/// Publishes `snapshot` in one transaction and notifies every listener.
pub async fn publish(
    redis: &Redis,
    keys: &Keys,
    snapshot: &WipSnapshot,
    ttl: Duration,
) -> Result<(), RedisError> {
    let payload = encode(snapshot).map_err(|e| RedisError::Command(e.to_string()))?;
    let stamp = serde_json::to_string(&snapshot.stamp).unwrap_or_default();
    let staging = format!("{}:staging:{}", keys.data, snapshot.version);
    let ttl_ms = ttl.as_millis() as u64;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg(&staging)
        .arg(payload)
        .arg("PX")
        .arg(ttl_ms)
        .ignore()
        .cmd("RENAME")
        .arg(&staging)
        .arg(&keys.data)
        .ignore()
        .cmd("DEL")
        .arg(&keys.meta)
        .ignore()
        .cmd("HSET")
        .arg(&keys.meta)
        .arg("version")
        .arg(&snapshot.version)
        .arg("stamp")
        .arg(stamp)
        .arg("computed_at")
        .arg(crate::timefmt::iso8601(snapshot.computed_at))
        .arg("lots")
        .arg(snapshot.lot_count())
        .ignore()
        .cmd("PEXPIRE")
        .arg(&keys.meta)
        .arg(ttl_ms)
        .ignore()
        .cmd("PUBLISH")
        .arg(&keys.channel)
        .arg(&snapshot.version)
        .ignore();
    redis.pipe::<()>(&pipe).await
}

/// Extends the published keys' lifetime (the data did not change).
pub async fn extend(redis: &Redis, keys: &Keys, ttl: Duration) -> Result<(), RedisError> {
    let ttl_ms = ttl.as_millis() as u64;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("PEXPIRE")
        .arg(&keys.data)
        .arg(ttl_ms)
        .ignore()
        .cmd("PEXPIRE")
        .arg(&keys.meta)
        .arg(ttl_ms)
        .ignore();
    redis.pipe::<()>(&pipe).await
}

/// Tries to take the refresh lock with `token`; true when taken.
pub async fn try_lock(
    redis: &Redis,
    keys: &Keys,
    token: &str,
    ttl: Duration,
) -> Result<bool, RedisError> {
    redis.try_lock(&keys.lock, token, ttl).await
}

/// Releases the lock if `token` still holds it (it may have expired and been taken since).
pub async fn unlock(redis: &Redis, keys: &Keys, token: &str) -> Result<bool, RedisError> {
    let deleted: i64 = redis
        .run(
            redis::cmd("EVAL")
                .arg(RELEASE)
                .arg(1)
                .arg(&keys.lock)
                .arg(token),
        )
        .await?;
    Ok(deleted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::lots::LotTableBuilder;
    use crate::db::lots::LotRecord;
    use crate::db::reference::{WorkcenterInfo, WorkcenterStep};

    fn snapshot() -> WipSnapshot {
        let now = Utc::now();
        let lot = LotRecord {
            product: "P1".into(),
            package_id: "QFN".into(),
            quantity: 25,
            priority: 1,
            track_in_at: Some(now),
            hold_reason: Some("QA \"check\"".into()),
            hold_at: Some(now),
            hold_by: Some("eve".into()),
            work_order: Some("WO1".into()),
            lot_type: Some("量產".into()),
            workflow: Some("WF".into()),
            wafer_lot: Some("W1.01".into()),
            move_in_at: Some(now),
            hold_department: Some("品保部".into()),
            ..LotRecord::for_tests("GA1", "DB", "S1", "HOLD", now)
        };
        let route = [WorkcenterInfo {
            workcenter_id: "DB".into(),
            name: "Die bond".into(),
            sequence: 1,
            workcenter_group: Some("前段".into()),
            group_sequence: Some(1),
        }];
        let steps = [WorkcenterStep {
            workcenter_id: "DB".into(),
            step: "S1".into(),
            name: Some("黏晶".into()),
            sequence: 1,
        }];
        let packages = vec![PackageInfo {
            package_id: "QFN".into(),
            family: "QFN".into(),
        }];
        let mut b = LotTableBuilder::new(&route, &steps, packages);
        b.push(lot.clone());
        let mut other = lot;
        other.lot_id = "GA0".into();
        other.status = "RUN".into();
        other.equipment_id = Some("DB-01".into());
        b.push(other);
        let stamp = Freshness {
            latest: Some(now),
            lots: 2,
        };
        WipSnapshot::build(b.finish(), &NonQualityReasons::demo(), stamp).unwrap()
    }

    #[test]
    fn a_snapshot_survives_its_wire_form() {
        let snapshot = snapshot();
        let reasons = NonQualityReasons::demo();

        let bytes = encode(&snapshot).unwrap();
        let back = decode(&bytes, &reasons).expect("decodes");

        assert_eq!(back.summary.0, snapshot.summary.0);
        assert_eq!(back.matrix.0, snapshot.matrix.0);
        assert_eq!(back.filter_options.0, snapshot.filter_options.0);
        assert_eq!(back.version, snapshot.version);
        assert_eq!(back.stamp, snapshot.stamp);
        assert_eq!(back.source, Source::Redis);
        assert_eq!(back.hold_figures.0, snapshot.hold_figures.0);
        assert_eq!(back.hold_summary.0, snapshot.hold_summary.0);
        assert_eq!(back.table, snapshot.table, "every lot and dictionary");
        let db = back.workcenter("DB").expect("the index is rebuilt");
        assert_eq!(back.index.workcenters[db as usize].lots, [0, 1]);
        assert_eq!(back.index.held, [1]);
        let got = back.lot("GA1").expect("the lot");
        assert_eq!(
            back.table.text(got, Field::HoldReason),
            Some("QA \"check\"")
        );
        assert!(decode(b"\x63\0\0\0", &reasons).is_none());
        assert!(decode(b"not json", &reasons).is_none());
        // Every truncation is refused, never a panic.
        for cut in [0, 4, 9, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], &reasons).is_none(), "cut at {cut}");
        }
        // A code past its dictionary is refused.
        let mut bad = bytes.clone();
        let at = bad.len() - LOT_BYTES;
        bad[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(decode(&bad, &reasons).is_none());
    }
}
