//! Generations: the first start, SIGHUP reloads, coalescing, failed reloads.

use super::*;

#[test]
fn the_first_generation_serves_and_every_worker_sees_it() {
    let mut sim = Sim::new(config(2));
    let fx = sim.send(Event::Start);
    assert_eq!(fx.spawned().len(), 2);
    assert_eq!(
        fx.spawned().iter().map(|s| (s.1, s.2)).collect::<Vec<_>>(),
        [(1, 0), (1, 1)]
    );
    assert!(fx.audits().is_empty(), "the first start is not a restart");
    let workers = fx.spawned_ids();
    sim.ready(workers[0]);
    let fx = sim.ready(workers[1]);
    assert_eq!(
        fx.notified(),
        [Notify::Ready("generation 1: 2/2 workers serving".into())]
    );
    let snapshot = fx.snapshot();
    assert_eq!(snapshot.supervisor_pid, 4242);
    assert_eq!(snapshot.generation, 1);
    let pids: Vec<u32> = snapshot.workers.iter().map(|w| w.pid).collect();
    assert_eq!(pids, [1001, 1002]);
    assert!(
        snapshot
            .workers
            .iter()
            .all(|w| w.state == WorkerState::Serving)
    );
    assert!(sim.history().is_empty());
    assert_eq!(sim.policy().state, PolicyState::Allowed);
}

#[test]
fn a_sighup_reload_drains_the_old_generation_only_once_the_new_one_is_ready() {
    let (mut sim, old) = Sim::started(config(2));
    let fx = sim.send(Event::Reload);
    let new = fx.spawned_ids();
    assert_eq!(
        fx.spawned().iter().map(|s| (s.1, s.2)).collect::<Vec<_>>(),
        [(2, 0), (2, 1)]
    );
    assert!(matches!(fx.0[0], Effect::SaveHistory(_)), "saved first");
    assert_eq!(fx.audits(), [(AuditAction::Reload, Phase::Requested)]);
    assert_eq!(
        fx.notified(),
        [Notify::Reloading("reloading: starting generation 2".into())]
    );
    assert!(fx.signalled(Kill::Term).is_empty());

    let fx = sim.ready(new[0]);
    assert!(fx.signalled(Kill::Term).is_empty(), "half a generation");
    assert!(fx.snapshot().reload_in_progress);
    let fx = sim.ready(new[1]);
    assert_eq!(fx.signalled(Kill::Term), old, "the old generation drains");
    assert_eq!(fx.snapshot().generation, 2);
    assert!(!fx.snapshot().reload_in_progress);
    assert_eq!(fx.audits(), [(AuditAction::Reload, Phase::Completed)]);
    assert_eq!(
        fx.notified(),
        [Notify::Ready("generation 2: 2/2 workers serving".into())]
    );
    let entry = sim.last();
    assert_eq!(
        (entry.source, entry.success, entry.generation),
        (Source::Signal, Some(true), Some(2))
    );
    assert_eq!(
        entry.outcome.as_deref(),
        Some("generation 2 serving; generation 1 draining")
    );

    // The old workers drain and exit: nothing replaces them.
    for w in old {
        let fx = sim.exit(w, "exited with status 0", true);
        assert!(fx.spawned().is_empty());
    }
    assert_eq!(sim.serving(), new);
    assert_eq!(sim.core.workers.len(), 2);
}

#[test]
fn signals_during_a_reload_coalesce_into_one_more() {
    let (mut sim, _) = Sim::started(config(1));
    let second = sim.send(Event::Reload).spawned_ids();
    let fx = sim.send(Event::Reload);
    assert!(fx.spawned().is_empty(), "queued behind the running reload");
    assert_eq!(fx.audits(), [(AuditAction::Reload, Phase::Requested)]);
    let fx = sim.send(Event::Reload);
    assert!(fx.audits().is_empty(), "coalesced with the queued one");
    assert_eq!(sim.history().len(), 2);

    let fx = sim.ready(second[0]);
    assert_eq!(
        fx.spawned().iter().map(|s| s.1).collect::<Vec<_>>(),
        [3],
        "the queued reload starts once generation 2 serves"
    );
    sim.ready(fx.spawned_ids()[0]);
    assert_eq!(sim.core.generation, 3);
    assert!(sim.history().iter().all(|e| e.success == Some(true)));
}

#[test]
fn a_new_generation_that_fails_leaves_the_old_one_serving() {
    let (mut sim, old) = Sim::started(config(2));

    // 1. A new worker exits before it is ready: its sibling is stopped, generation 1 serves.
    let new = sim.send(Event::Reload).spawned_ids();
    let fx = sim.exit(new[0], "exited with status 3", false);
    assert_eq!(fx.signalled(Kill::Term), [new[1]]);
    assert_eq!(sim.core.generation, 1);
    let error = sim.core.last_reload_error.clone().unwrap();
    assert!(error.contains("exited with status 3"), "{error}");
    assert!(fx.snapshot().last_reload_error.is_some());
    assert_eq!(sim.last().success, Some(false));
    assert_eq!(fx.audits(), [(AuditAction::Reload, Phase::Failed)]);
    assert_eq!(
        fx.notified(),
        [Notify::Ready(
            "generation 1: 2/2 workers serving (the last reload failed)".into()
        )]
    );
    sim.exit(new[1], "exited with status 0", true);

    // 2. A generation never ready: stopped at WORKER_READY_TIMEOUT, killed after the grace.
    let fx = sim.send(Event::Reload);
    assert_eq!(fx.spawned()[0].1, 3, "failed generations are not reused");
    let fx = sim.pass(Duration::from_secs(59));
    assert!(fx.signalled(Kill::Term).is_empty());
    let fx = sim.pass(Duration::from_secs(1));
    assert_eq!(fx.signalled(Kill::Term).len(), 2);
    let outcome = sim.last().outcome.clone().unwrap();
    assert!(outcome.contains("WORKER_READY_TIMEOUT (60 s)"), "{outcome}");
    let fx = sim.pass(Duration::from_secs(5));
    assert_eq!(fx.signalled(Kill::Kill).len(), 2);

    // 3. The binary cannot be started at all.
    sim.spawn_error = Some("cannot start bin/mes-dashboard: No such file".into());
    sim.send(Event::Reload);
    assert!(
        sim.core
            .last_reload_error
            .as_ref()
            .is_some_and(|e| e.contains("No such file"))
    );
    assert_eq!(sim.serving(), old, "generation 1 served throughout");
    assert!(
        old.iter()
            .all(|w| sim.core.workers[w].state == WorkerState::Serving)
    );
    assert_eq!(sim.core.generation, 1);
}

#[test]
fn the_first_generation_failing_stops_the_supervisor_with_an_error() {
    let mut sim = Sim::new(config(2));
    sim.spawn_error = Some("cannot start bin/mes-dashboard: No such file".into());
    sim.send(Event::Start);
    let outcome = sim.core.outcome().expect("done");
    let error = outcome.unwrap_err();
    assert!(error.contains("the first workers did not start"), "{error}");

    // Or one of its workers exits before it is ready.
    let mut sim = Sim::new(config(1));
    let first = sim.send(Event::Start).spawned_ids()[0];
    sim.exit(first, "exited with status 78", false);
    let error = sim.core.outcome().expect("done").unwrap_err();
    assert!(error.contains("exited with status 78"), "{error}");
}
