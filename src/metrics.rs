//! The figures `/metrics` shows, collected as plain samples, and their Prometheus text
//! (format 0.0.4), written by hand — a few dozen gauges and counters do not need a metrics
//! crate.
//!
//! Each worker collects its own samples ([`collect`]) and sends them to the supervisor with
//! every heartbeat; the supervisor's snapshot carries every worker's latest samples back to
//! each worker, so whichever worker answers `/metrics` shows the instance: each sample once
//! per worker (labels `worker="<slot>"`, `pid="<pid>"`) and a total (`worker="all"`) for the
//! families where a sum or a maximum means something ([`Total`]). Served in one process
//! (`WORKERS=0`) the samples carry no worker labels.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::cache::wip::SnapshotState;
use crate::db::breaker::BreakerState;
use crate::db::stats::PoolStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// How a family's per-worker samples add up to the instance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Sum,
    Max,
    /// A per-worker state or ratio: no instance total.
    None,
}

/// One metric family: its name, type, help and how workers add up.
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub total: Total,
}

const fn family(name: &'static str, kind: Kind, total: Total, help: &'static str) -> Family {
    Family {
        name,
        kind,
        help,
        total,
    }
}

use Kind::{Counter, Gauge};

/// Every family, in the order they are shown.
pub const FAMILIES: &[Family] = &[
    family(
        "mes_process_uptime_seconds",
        Gauge,
        Total::Max,
        "Seconds since this worker started serving.",
    ),
    family(
        "mes_http_requests_total",
        Counter,
        Total::Sum,
        "HTTP requests answered by this worker.",
    ),
    family(
        "mes_db_pool_size",
        Gauge,
        Total::Sum,
        "Open connections of the pool.",
    ),
    family(
        "mes_db_pool_in_use",
        Gauge,
        Total::Sum,
        "Connections lent out now.",
    ),
    family(
        "mes_db_pool_idle",
        Gauge,
        Total::Sum,
        "Open connections not in use.",
    ),
    family(
        "mes_db_pool_max",
        Gauge,
        Total::Sum,
        "Most connections the pool may open.",
    ),
    family(
        "mes_db_pool_waits_total",
        Counter,
        Total::Sum,
        "Acquires that waited 1 ms or more for a connection.",
    ),
    family(
        "mes_db_pool_wait_seconds_total",
        Counter,
        Total::Sum,
        "Time spent waiting for a connection.",
    ),
    family(
        "mes_db_calls_total",
        Counter,
        Total::Sum,
        "Database calls by outcome (succeeded, failed, rejected).",
    ),
    family(
        "mes_circuit_breaker_state",
        Gauge,
        Total::Max,
        "Database circuit breaker: 0 closed, 1 half-open, 2 open.",
    ),
    family(
        "mes_circuit_breaker_failure_rate",
        Gauge,
        Total::None,
        "Share of failed calls in the breaker's window (0 to 1).",
    ),
    family(
        "mes_circuit_breaker_opened_total",
        Counter,
        Total::Sum,
        "Transitions of the breaker to open.",
    ),
    family(
        "mes_wip_cache_state",
        Gauge,
        Total::None,
        "1 for the WIP cache's current state (empty, fresh or stale), 0 for the others.",
    ),
    family(
        "mes_wip_cache_age_seconds",
        Gauge,
        Total::Max,
        "Age of the WIP snapshot served (absent before the first load).",
    ),
    family(
        "mes_wip_cache_lots",
        Gauge,
        Total::Max,
        "Lots in the WIP snapshot served (0 before the first load).",
    ),
    family(
        "mes_wip_db_loads_total",
        Counter,
        Total::Sum,
        "WIP snapshots this worker read from the database (not from Redis): one per change across the instances sharing Redis.",
    ),
    family(
        "mes_equipment_db_reads_total",
        Counter,
        Total::Sum,
        "Equipment status syncs this worker read from the database (the read at start aside): with Redis, only the sync leader reads, once per interval across the instances.",
    ),
    family(
        "mes_redis_enabled",
        Gauge,
        Total::Max,
        "1 when REDIS_URL is configured.",
    ),
    family(
        "mes_redis_available",
        Gauge,
        Total::None,
        "1 when Redis is configured and not backing off after a failure.",
    ),
    family(
        "mes_csrf_rejections_total",
        Counter,
        Total::Sum,
        "Requests refused by the CSRF check.",
    ),
    family(
        "mes_csrf_reported_total",
        Counter,
        Total::Sum,
        "Requests failing the CSRF check that report-only mode let through.",
    ),
    family(
        "mes_event_streams_open",
        Gauge,
        Total::Sum,
        "Open event streams (/api/events and the equipment stream).",
    ),
    family(
        "mes_log_lines_dropped_total",
        Counter,
        Total::Sum,
        "Log lines the writer dropped under load (its buffer was full).",
    ),
    family(
        "mes_connection_limit_total",
        Counter,
        Total::Sum,
        "MAX_CONNECTIONS at work: connections closed at accept, requests refused on a probe-reserve connection, silent connections evicted.",
    ),
    family(
        "mes_jobs",
        Gauge,
        Total::Sum,
        "Background report jobs of this worker by state (waiting for a turn, running).",
    ),
];

/// One sample: its family, its labels (`key="value",…`, our own fixed words: no escaping
/// needed) and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub labels: String,
    pub value: f64,
}

/// Builds samples.
#[derive(Default)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    pub fn add(&mut self, name: &str, labels: &str, value: impl Into<f64>) {
        self.0.push(Sample {
            name: name.to_owned(),
            labels: labels.to_owned(),
            value: value.into(),
        });
    }
}

/// This worker's samples.
pub fn collect(app: &App) -> Vec<Sample> {
    let mut s = Samples::default();
    let uptime = (chrono::Utc::now() - app.started_at)
        .num_milliseconds()
        .max(0) as f64
        / 1000.0;
    s.add("mes_process_uptime_seconds", "", uptime);
    s.add("mes_http_requests_total", "", app_requests() as f64);

    let stats: Vec<PoolStats> = app.db.pools().iter().map(|p| p.stats()).collect();
    for p in &stats {
        let pool = format!("pool=\"{}\"", p.name);
        s.add("mes_db_pool_size", &pool, p.size);
        s.add("mes_db_pool_in_use", &pool, p.in_use);
        s.add("mes_db_pool_idle", &pool, p.idle);
        s.add("mes_db_pool_max", &pool, p.max);
        s.add("mes_db_pool_waits_total", &pool, p.waits as f64);
        s.add("mes_db_pool_wait_seconds_total", &pool, p.waited_seconds);
        for (outcome, n) in [
            ("succeeded", p.calls.succeeded),
            ("failed", p.calls.failed),
            ("rejected", p.calls.rejected),
        ] {
            let labels = format!("{pool},outcome=\"{outcome}\"");
            s.add("mes_db_calls_total", &labels, n as f64);
        }
    }

    let breaker = app.db.breaker.status();
    let state: u8 = match breaker.state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    };
    s.add("mes_circuit_breaker_state", "", state);
    s.add("mes_circuit_breaker_failure_rate", "", breaker.failure_rate);
    s.add(
        "mes_circuit_breaker_opened_total",
        "",
        breaker.times_opened as f64,
    );

    let cache = app.wip.status();
    for each in SnapshotState::ALL {
        let labels = format!("state=\"{}\"", each.as_str());
        s.add(
            "mes_wip_cache_state",
            &labels,
            u8::from(cache.state == each),
        );
    }
    if let Some(age) = cache.age_seconds {
        s.add("mes_wip_cache_age_seconds", "", age as f64);
    }
    s.add("mes_wip_cache_lots", "", cache.lots.unwrap_or(0) as f64);
    s.add("mes_wip_db_loads_total", "", cache.db_loads as f64);
    s.add(
        "mes_equipment_db_reads_total",
        "",
        app.equipment.db_reads() as f64,
    );

    let redis = app.redis.status();
    s.add("mes_redis_enabled", "", u8::from(redis.enabled));
    s.add("mes_redis_available", "", u8::from(redis.available));

    let csrf = &app.csrf_stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    s.add("mes_csrf_rejections_total", "", load(&csrf.rejected) as f64);
    s.add("mes_csrf_reported_total", "", load(&csrf.reported) as f64);
    s.add("mes_event_streams_open", "", app.streams.open() as f64);
    s.add(
        "mes_log_lines_dropped_total",
        "",
        crate::telemetry::dropped_log_lines() as f64,
    );
    let (closed, refused, evicted) = crate::http::server::connection_limit_counts();
    s.add(
        "mes_connection_limit_total",
        "action=\"closed\"",
        closed as f64,
    );
    s.add(
        "mes_connection_limit_total",
        "action=\"refused\"",
        refused as f64,
    );
    s.add(
        "mes_connection_limit_total",
        "action=\"evicted\"",
        evicted as f64,
    );
    let (waiting, running) = app.jobs.load();
    s.add("mes_jobs", "state=\"waiting\"", waiting);
    s.add("mes_jobs", "state=\"running\"", running as f64);
    s.0
}

fn app_requests() -> u64 {
    crate::http::server::requests_served()
}

/// One worker's samples, as the supervisor last heard them.
pub struct WorkerSamples<'a> {
    pub slot: usize,
    pub pid: u32,
    pub samples: &'a [Sample],
}

/// The exposition of one process (no worker labels).
pub fn render_process(samples: &[Sample]) -> String {
    let mut out = String::with_capacity(4096);
    for family in FAMILIES {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.name == family.name).collect();
        if mine.is_empty() {
            continue;
        }
        header(&mut out, family);
        for s in mine {
            line(&mut out, &s.name, &s.labels, s.value);
        }
    }
    out
}

/// The exposition of the instance: each worker's samples with its labels, then the totals.
pub fn render_instance(workers: &[WorkerSamples<'_>]) -> String {
    let mut out = String::with_capacity(4096 * (workers.len() + 1));
    for family in FAMILIES {
        let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
        let mut any = false;
        for w in workers {
            for s in w.samples.iter().filter(|s| s.name == family.name) {
                if !any {
                    header(&mut out, family);
                    any = true;
                }
                let who = format!("worker=\"{}\",pid=\"{}\"", w.slot, w.pid);
                let labels = if s.labels.is_empty() {
                    who
                } else {
                    format!("{},{who}", s.labels)
                };
                line(&mut out, family.name, &labels, s.value);
                let total = totals
                    .entry(s.labels.as_str())
                    .or_insert(match family.total {
                        Total::Max => f64::MIN,
                        _ => 0.0,
                    });
                match family.total {
                    Total::Sum => *total += s.value,
                    Total::Max => *total = total.max(s.value),
                    Total::None => {}
                }
            }
        }
        if family.total != Total::None {
            for (labels, value) in totals {
                let labels = if labels.is_empty() {
                    "worker=\"all\"".to_owned()
                } else {
                    format!("{labels},worker=\"all\"")
                };
                line(&mut out, family.name, &labels, value);
            }
        }
    }
    out
}

fn header(out: &mut String, family: &Family) {
    let kind = match family.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
    };
    let _ = writeln!(
        out,
        "# HELP {} {}\n# TYPE {} {kind}",
        family.name, family.help, family.name
    );
}

fn line(out: &mut String, name: &str, labels: &str, value: f64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, labels: &str, value: f64) -> Sample {
        Sample {
            name: name.into(),
            labels: labels.into(),
            value,
        }
    }

    #[test]
    fn every_family_has_a_unique_name_and_every_collected_sample_a_family() {
        let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len());
    }

    #[test]
    fn the_instance_shows_each_worker_and_totals_by_each_familys_rule() {
        let one = [
            sample("mes_http_requests_total", "", 10.0),
            sample("mes_db_pool_in_use", "pool=\"request\"", 2.0),
            sample("mes_circuit_breaker_state", "", 0.0),
            sample("mes_circuit_breaker_failure_rate", "", 0.25),
        ];
        let two = [
            sample("mes_http_requests_total", "", 5.0),
            sample("mes_db_pool_in_use", "pool=\"request\"", 1.0),
            sample("mes_circuit_breaker_state", "", 2.0),
            sample("mes_circuit_breaker_failure_rate", "", 0.5),
        ];
        let text = render_instance(&[
            WorkerSamples {
                slot: 0,
                pid: 101,
                samples: &one,
            },
            WorkerSamples {
                slot: 1,
                pid: 102,
                samples: &two,
            },
        ]);
        for expected in [
            "# TYPE mes_http_requests_total counter",
            "mes_http_requests_total{worker=\"0\",pid=\"101\"} 10",
            "mes_http_requests_total{worker=\"1\",pid=\"102\"} 5",
            "mes_http_requests_total{worker=\"all\"} 15",
            "mes_db_pool_in_use{pool=\"request\",worker=\"all\"} 3",
            "mes_db_pool_in_use{pool=\"request\",worker=\"1\",pid=\"102\"} 1",
            "mes_circuit_breaker_state{worker=\"all\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == expected),
                "{expected} missing:\n{text}"
            );
        }
        assert!(
            !text.contains("mes_circuit_breaker_failure_rate{worker=\"all\"}"),
            "a ratio has no total:\n{text}"
        );
        assert_eq!(text.matches("# TYPE mes_http_requests_total").count(), 1);
    }

    #[test]
    fn one_process_shows_its_samples_without_worker_labels() {
        let text = render_process(&[
            sample("mes_http_requests_total", "", 3.0),
            sample("mes_db_pool_max", "pool=\"health\"", 1.0),
        ]);
        assert!(text.contains("\nmes_http_requests_total 3\n"), "{text}");
        assert!(
            text.contains("mes_db_pool_max{pool=\"health\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("worker="), "{text}");
    }
}
