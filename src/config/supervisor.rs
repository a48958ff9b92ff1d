//! Supervisor settings: worker processes, watchdog, reload, restart policy (DESIGN §2, §5).

use std::path::PathBuf;
use std::time::Duration;

use super::Mode;
use super::env::Reader;

#[derive(Debug, Clone)]
pub struct SupervisorSettings {
    /// `WORKERS`: worker processes sharing the listening socket; 0 serves in-process (one
    /// process, no supervisor: development and tests).
    pub workers: usize,
    /// `WORKER_TIMEOUT`: a worker whose heartbeat is silent this long is killed and replaced.
    pub worker_timeout: Duration,
    /// `WORKER_READY_TIMEOUT`: bound on a new worker's start-up (build the app, report ready).
    pub ready_timeout: Duration,
    /// `WORKER_KILL_GRACE_SECONDS`: after SIGTERM to a hung worker, SIGKILL follows this late.
    pub kill_grace: Duration,
    /// `WORKER_MAX_REQUESTS`: recycle a worker after this many requests (0: never).
    pub max_requests: u64,
    /// `WORKER_MAX_REQUESTS_JITTER`: a random 0..=jitter is added per worker so workers do not
    /// all recycle at once.
    pub max_requests_jitter: u64,
    /// The restart policy.
    pub policy: PolicySettings,
    /// `WATCHDOG_RUNTIME_DIR`: pid file, restart history and the file audit log.
    pub runtime_dir: PathBuf,
    /// The audit writer's bounds.
    pub audit: AuditSettings,
}

/// The supervisor's audit writer: how long it waits for the database before a record goes to
/// the file audit log, and how it copies those records back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSettings {
    /// `SUPERVISOR_AUDIT_DB_TIMEOUT`: bound on one database write (connect, acquire and insert);
    /// past it the record goes to the file.
    pub db_timeout: Duration,
    /// `SUPERVISOR_AUDIT_RETRY_INTERVAL`: while the file holds records the database has not
    /// taken yet, how often the writer tries to copy them in.
    pub retry_interval: Duration,
    /// `SUPERVISOR_AUDIT_FLUSH_TIMEOUT`: at exit, bound on writing the records still queued.
    pub flush_timeout: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            db_timeout: Duration::from_secs(5),
            retry_interval: Duration::from_secs(15),
            flush_timeout: Duration::from_secs(10),
        }
    }
}

/// The restart policy (DESIGN §5): cooldown, retry budget in a window, guarded mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySettings {
    /// `WORKER_RESTART_COOLDOWN`: minimum time between two restarts.
    pub cooldown: Duration,
    /// `WORKER_RESTART_RETRY_BUDGET`: restarts allowed within the window before churn.
    pub retry_budget: u32,
    /// `WORKER_RESTART_WINDOW_SECONDS`: the window the budget counts in.
    pub window: Duration,
    /// `WORKER_GUARDED_MODE_ENABLED`: when churn is exceeded, manual restarts are blocked until
    /// an admin overrides with acknowledgement and a reason.
    pub guarded_mode: bool,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(60),
            retry_budget: 3,
            window: Duration::from_secs(600),
            guarded_mode: true,
        }
    }
}

pub(super) fn read(r: &mut Reader<'_>, _mode: Mode) -> SupervisorSettings {
    let defaults = PolicySettings::default();
    let policy = PolicySettings {
        cooldown: r.seconds("WORKER_RESTART_COOLDOWN", 60, 0, 86_400),
        retry_budget: r.int("WORKER_RESTART_RETRY_BUDGET", 3, 1, 1_000) as u32,
        window: r.seconds("WORKER_RESTART_WINDOW_SECONDS", 600, 1, 7 * 86_400),
        guarded_mode: r.bool("WORKER_GUARDED_MODE_ENABLED", defaults.guarded_mode),
    };
    // The runtime directory follows DATA_DIR unless set (DATA_DIR itself is validated by the
    // database section; read here without a second diagnostic).
    let data_dir = r
        .untrimmed("DATA_DIR")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(super::default_data_dir);
    let runtime_dir = r
        .optional("WATCHDOG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join("runtime"));
    SupervisorSettings {
        workers: r.int("WORKERS", 2, 0, 64) as usize,
        worker_timeout: r.seconds("WORKER_TIMEOUT", 30, 2, 3_600),
        ready_timeout: r.seconds("WORKER_READY_TIMEOUT", 60, 1, 3_600),
        kill_grace: r.seconds("WORKER_KILL_GRACE_SECONDS", 5, 1, 300),
        max_requests: r.int("WORKER_MAX_REQUESTS", 0, 0, u64::from(u32::MAX)),
        max_requests_jitter: r.int("WORKER_MAX_REQUESTS_JITTER", 0, 0, u64::from(u32::MAX)),
        policy,
        runtime_dir,
        audit: AuditSettings {
            db_timeout: r.seconds("SUPERVISOR_AUDIT_DB_TIMEOUT", 5, 1, 300),
            retry_interval: r.seconds("SUPERVISOR_AUDIT_RETRY_INTERVAL", 15, 1, 3_600),
            flush_timeout: r.seconds("SUPERVISOR_AUDIT_FLUSH_TIMEOUT", 10, 1, 600),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{EnvSource, Settings};

    #[test]
    fn defaults_follow_the_design_and_bad_values_name_their_variable() {
        let (s, diag) = Settings::from_source(&EnvSource::from_pairs([("DATA_DIR", "/srv/mes")]));
        assert!(!diag.has_errors(), "{diag}");
        let sup = s.supervisor;
        assert_eq!(sup.workers, 2);
        assert_eq!(sup.worker_timeout.as_secs(), 30);
        assert_eq!(sup.policy, super::PolicySettings::default());
        assert_eq!(sup.audit, super::AuditSettings::default());
        assert_eq!(sup.runtime_dir, std::path::Path::new("/srv/mes/runtime"));

        let (_, diag) = Settings::from_source(&EnvSource::from_pairs([
            ("WORKERS", "-1"),
            ("WORKER_RESTART_RETRY_BUDGET", "0"),
            ("WORKER_GUARDED_MODE_ENABLED", "maybe"),
        ]));
        let vars: Vec<_> = diag.errors().map(|d| d.variable.as_str()).collect();
        assert_eq!(
            vars,
            [
                "WORKER_RESTART_RETRY_BUDGET",
                "WORKER_GUARDED_MODE_ENABLED",
                "WORKERS"
            ]
        );
    }
}
