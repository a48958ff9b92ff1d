//! The WIP dataset in Redis (L2): its keys, its wire form, the publication and the refresh
//! lock.
//!
//! Keys, under `REDIS_KEY_PREFIX`:
//! - `<prefix>:wip:data`: the snapshot — version, stamp, the pre-serialized summary and matrix,
//!   and every lot as a compact JSON array;
//! - `<prefix>:wip:meta`: a hash `version`, `stamp`, `computed_at`, `lots`, cheap to compare;
//! - `<prefix>:wip:lock`: the refresh lock, a random token set with `NX PX`;
//! - channel `<prefix>:wip:updated`: a publication's version.
//!
//! A publication is one `MULTI` transaction: the data is written under a staging key and
//! `RENAME`d over the live one, then the meta hash is replaced and the notice published, so a
//! reader never sees a meta that names data not yet there. Both keys expire after three check
//! intervals unless a live updater extends them.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wip::{Assembly, Source, WipSnapshot};
use crate::db::wip::{Freshness, LotDetail, Workcenter};
use crate::json::RawJson;
use crate::redis::{Redis, RedisError};

/// Bumped when the wire form changes: an older form in Redis then reads as a miss.
const FORMAT: u32 = 2;

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

/// One lot as an array: the lot list is most of the payload, and field names would double it.
#[derive(Serialize, Deserialize)]
struct LotWire(
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

impl From<&LotDetail> for LotWire {
    fn from(l: &LotDetail) -> Self {
        Self(
            l.lot_id.clone(),
            l.product.clone(),
            l.package_id.clone(),
            l.workcenter_id.clone(),
            l.workcenter_name.clone(),
            l.step.clone(),
            l.status.clone(),
            l.quantity,
            l.priority,
            l.equipment_id.clone(),
            l.track_in_at,
            l.hold_reason.clone(),
            l.hold_at,
            l.hold_by.clone(),
            l.started_at,
            l.updated_at,
        )
    }
}

impl From<LotWire> for LotDetail {
    fn from(w: LotWire) -> Self {
        Self {
            lot_id: w.0,
            product: w.1,
            package_id: w.2,
            workcenter_id: w.3,
            workcenter_name: w.4,
            step: w.5,
            status: w.6,
            quantity: w.7,
            priority: w.8,
            equipment_id: w.9,
            track_in_at: w.10,
            hold_reason: w.11,
            hold_at: w.12,
            hold_by: w.13,
            started_at: w.14,
            updated_at: w.15,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    format: u32,
    version: String,
    stamp: Freshness,
    computed_at: DateTime<Utc>,
    /// The answers exactly as served (JSON text).
    summary: String,
    matrix: String,
    /// The reference workcenters in route order (the per-workcenter index starts from them).
    workcenters: Vec<Workcenter>,
    lots: Vec<LotWire>,
}

/// The snapshot's wire form.
pub fn encode(snapshot: &WipSnapshot) -> serde_json::Result<Vec<u8>> {
    let text = |raw: &RawJson| String::from_utf8_lossy(&raw.0).into_owned();
    serde_json::to_vec(&Wire {
        format: FORMAT,
        version: snapshot.version.clone(),
        stamp: snapshot.stamp,
        computed_at: snapshot.computed_at,
        summary: text(&snapshot.summary),
        matrix: text(&snapshot.matrix),
        workcenters: snapshot.workcenters.clone(),
        lots: snapshot.lots.iter().map(LotWire::from).collect(),
    })
}

/// A snapshot from its wire form; `None` for another format or a damaged value.
pub fn decode(bytes: &[u8]) -> Option<WipSnapshot> {
    let wire: Wire = serde_json::from_slice(bytes).ok()?;
    if wire.format != FORMAT {
        return None;
    }
    // Ages count from now: the other process's monotonic clock is not ours, and the wall
    // clock age would go negative under skew. `computed_at` still says when it was computed.
    let age = (Utc::now() - wire.computed_at).to_std().unwrap_or_default();
    let computed_instant = std::time::Instant::now()
        .checked_sub(age)
        .unwrap_or_else(std::time::Instant::now);
    let mut lots: Vec<LotDetail> = wire.lots.into_iter().map(LotDetail::from).collect();
    // Published sorted; sorting again costs one pass when it is, and keeps lookups right.
    lots.sort_unstable_by(|a, b| a.lot_id.cmp(&b.lot_id));
    WipSnapshot::assemble(Assembly {
        summary: RawJson(Bytes::from(wire.summary)),
        matrix: RawJson(Bytes::from(wire.matrix)),
        lots,
        workcenters: wire.workcenters,
        stamp: wire.stamp,
        version: wire.version,
        computed_at: wire.computed_at,
        computed_instant,
        source: Source::Redis,
    })
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
pub async fn load(redis: &Redis, keys: &Keys) -> Result<Option<WipSnapshot>, RedisError> {
    let bytes: Option<Vec<u8>> = redis.run(redis::cmd("GET").arg(&keys.data)).await?;
    Ok(bytes.as_deref().and_then(decode))
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
    let answer: Option<String> = redis
        .run(
            redis::cmd("SET")
                .arg(&keys.lock)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64),
        )
        .await?;
    Ok(answer.is_some())
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
    use crate::db::wip::Workcenter;

    #[test]
    fn a_snapshot_survives_its_wire_form() {
        let now = Utc::now();
        let lot = LotDetail {
            lot_id: "GA1".into(),
            product: "P1".into(),
            package_id: "QFN".into(),
            workcenter_id: "DB".into(),
            workcenter_name: Some("Die bond".into()),
            step: "S1".into(),
            status: "HOLD".into(),
            quantity: 25,
            priority: 1,
            equipment_id: None,
            track_in_at: Some(now),
            hold_reason: Some("QA \"check\"".into()),
            hold_at: Some(now),
            hold_by: Some("eve".into()),
            started_at: now,
            updated_at: now,
        };
        let wc = Workcenter {
            workcenter_id: "DB".into(),
            name: "Die bond".into(),
            sequence: 1,
        };
        let stamp = Freshness {
            latest: Some(now),
            lots: 1,
        };
        let snapshot = WipSnapshot::build(vec![lot], &[wc], &["QFN".into()], stamp).unwrap();

        let back = decode(&encode(&snapshot).unwrap()).expect("decodes");

        assert_eq!(back.summary.0, snapshot.summary.0);
        assert_eq!(back.matrix.0, snapshot.matrix.0);
        assert_eq!(back.version, snapshot.version);
        assert_eq!(back.stamp, snapshot.stamp);
        assert_eq!(back.source, Source::Redis);
        assert_eq!(back.hold_figures.0, snapshot.hold_figures.0);
        assert_eq!(back.hold_summary.0, snapshot.hold_summary.0);
        let wc = back.index.workcenter("DB").expect("the index is rebuilt");
        assert_eq!(
            (wc.name.as_str(), wc.lots.as_slice()),
            ("Die bond", &[0][..])
        );
        assert_eq!(back.index.held, [0]);
        let got = back.lot("GA1").expect("the lot");
        assert_eq!(got.hold_reason.as_deref(), Some("QA \"check\""));
        assert_eq!(got.track_in_at, Some(now));
        assert!(decode(b"{\"format\":99}").is_none());
        assert!(decode(b"not json").is_none());
    }
}
