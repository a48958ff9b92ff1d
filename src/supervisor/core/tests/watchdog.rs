//! Single workers: crashes and their back-off, hangs, recycles; the systemd ping and the
//! snapshots a tick sends.

use super::*;

#[test]
fn a_crash_loop_backs_off_and_counts_as_churn() {
    let (mut sim, workers) = Sim::started(config(2));
    let fx = sim.crash(workers[0]);
    assert!(
        fx.spawned().is_empty(),
        "replaced after the back-off, not at once"
    );
    let entry = sim.last();
    assert_eq!(
        (entry.source, entry.action),
        (Source::Auto, Action::Replace)
    );
    assert_eq!(
        entry.reason.as_deref(),
        Some("worker pid 1001 killed by signal 9")
    );

    // Each replacement dies before it is ready: the waits double.
    let mut waits = Vec::new();
    for _ in 0..3 {
        let started = sim.now.mono;
        let replacement = loop {
            let spawned = sim.pass(Duration::from_millis(500)).spawned();
            if let Some(&(w, generation, slot)) = spawned.first() {
                assert_eq!((generation, slot), (1, 0));
                break w;
            }
        };
        waits.push(sim.now.mono.duration_since(started).as_secs());
        sim.crash(replacement);
    }
    assert_eq!(waits, [1, 2, 4]);
    assert_eq!(
        sim.serving(),
        [workers[1]],
        "the other worker serves throughout"
    );

    // The fourth replacement serves.
    let fx = sim.pass(Duration::from_secs(8));
    let fourth = fx.spawned_ids()[0];
    let fx = sim.ready(fourth);
    assert_eq!(fx.audits(), [(AuditAction::Replace, Phase::Completed)]);
    assert_eq!(sim.serving(), [fourth, workers[1]]);
    let outcomes: Vec<Option<bool>> = sim.history().iter().map(|e| e.success).collect();
    assert_eq!(
        outcomes,
        [Some(false), Some(false), Some(false), Some(true)]
    );

    // Four replacements in the window: churn, and manual restarts are blocked.
    let policy = sim.policy();
    assert!(policy.churn_exceeded);
    assert_eq!(policy.state, PolicyState::Blocked);

    // A worker that served 30 s before crashing starts the back-off over.
    sim.pass(Duration::from_secs(31));
    sim.crash(fourth);
    assert!(sim.pass(Duration::from_millis(500)).spawned().is_empty());
    assert_eq!(sim.pass(Duration::from_millis(500)).spawned().len(), 1);
}

#[test]
fn a_hung_worker_is_stopped_killed_and_replaced_while_the_other_serves() {
    let (mut sim, workers) = Sim::started(config(2));
    let (hung, other) = (workers[0], workers[1]);
    sim.beating.remove(&hung);

    let fx = sim.pass(Duration::from_secs(30));
    assert!(
        fx.signalled(Kill::Term).is_empty(),
        "not past WORKER_TIMEOUT"
    );
    let fx = sim.pass(Duration::from_millis(500));
    assert_eq!(fx.signalled(Kill::Term), [hung]);
    let replacement = fx.spawned();
    assert_eq!(replacement.len(), 1);
    assert_eq!((replacement[0].1, replacement[0].2), (1, 0), "its slot");
    let entry = sim.last();
    assert_eq!(
        (entry.source, entry.action),
        (Source::Watchdog, Action::Replace)
    );
    assert_eq!(
        entry.reason.as_deref(),
        Some("WORKER TIMEOUT (pid 1001): no heartbeat for 30 s")
    );
    assert_eq!(fx.audits(), [(AuditAction::Replace, Phase::Requested)]);

    let fx = sim.pass(Duration::from_secs(5));
    assert_eq!(
        fx.signalled(Kill::Kill),
        [hung],
        "SIGKILL after WORKER_KILL_GRACE_SECONDS"
    );
    let fx = sim.ready(replacement[0].0);
    assert!(fx.signalled(Kill::Term).is_empty());
    assert_eq!(sim.last().success, Some(true));
    let fx = sim.exit(hung, "killed by signal 9", false);
    assert!(
        fx.spawned().is_empty(),
        "a stopped worker's exit is no crash"
    );
    assert_eq!(sim.serving(), [replacement[0].0, other]);
    assert_eq!(sim.core.workers[&other].state, WorkerState::Serving);
}

#[test]
fn a_worker_past_max_requests_is_recycled_and_not_counted_as_churn() {
    let mut cfg = config(1);
    cfg.supervisor.max_requests = 100;
    let (mut sim, workers) = Sim::started(cfg);
    let old = workers[0];
    sim.requests.insert(old, 99);
    assert!(sim.pass(Duration::from_secs(1)).spawned().is_empty());
    sim.requests.insert(old, 100);
    let fx = sim.pass(Duration::from_secs(1));
    let new = fx.spawned_ids();
    assert_eq!(new.len(), 1);
    assert_eq!(fx.audits(), [(AuditAction::Recycle, Phase::Requested)]);
    assert!(
        fx.signalled(Kill::Term).is_empty(),
        "the old one serves until its replacement is ready"
    );
    let entry = sim.last();
    assert_eq!(
        (entry.source, entry.action),
        (Source::Auto, Action::Recycle)
    );
    assert_eq!(
        entry.reason.as_deref(),
        Some("worker pid 1001 served 100 requests (WORKER_MAX_REQUESTS)")
    );
    // Further heartbeats while the replacement starts do not start another.
    assert!(sim.pass(Duration::from_secs(3)).spawned().is_empty());

    let fx = sim.ready(new[0]);
    assert_eq!(fx.signalled(Kill::Term), [old]);
    assert_eq!(fx.audits(), [(AuditAction::Recycle, Phase::Completed)]);
    let policy = sim.policy();
    assert_eq!(policy.attempts_in_window, 0);
    assert_eq!(policy.state, PolicyState::Allowed);
}

#[test]
fn the_recycle_jitter_is_drawn_per_worker_within_its_bound() {
    let mut cfg = config(8);
    cfg.supervisor.max_requests = 100;
    cfg.supervisor.max_requests_jitter = 50;
    let (sim, workers) = Sim::started(cfg);
    let limits: BTreeSet<u64> = workers
        .iter()
        .map(|w| sim.core.workers[w].recycle_after.unwrap())
        .collect();
    assert!(limits.iter().all(|l| (100..=150).contains(l)), "{limits:?}");
    assert!(limits.len() > 1, "workers do not all recycle together");
}

#[test]
fn systemd_is_pinged_at_half_its_watchdog_period() {
    let cfg = Config {
        systemd_watchdog: Some(Duration::from_secs(2)),
        ..config(1)
    };
    let (mut sim, _) = Sim::started(cfg);
    let pings = sim
        .pass(Duration::from_secs(3))
        .notified()
        .into_iter()
        .filter(|n| *n == Notify::Watchdog)
        .count();
    assert_eq!(pings, 3);
}

#[test]
fn heartbeats_alone_send_no_snapshot_and_ticks_do() {
    let (mut sim, workers) = Sim::started(config(1));
    let fx = sim.send(Event::Heartbeat {
        worker: workers[0],
        requests: 5,
        metrics: Vec::new(),
    });
    assert!(fx.0.is_empty(), "{fx:?}");
    let fx = sim.send(Event::Tick);
    assert_eq!(fx.snapshot().workers[0].requests_served, 5);
}
