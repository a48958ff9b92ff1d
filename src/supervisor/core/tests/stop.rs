//! SIGTERM / SIGINT: drain, deadlines, a second signal.

use super::*;

#[test]
fn sigterm_drains_every_worker_and_exits_clean_once_they_are_gone() {
    let (mut sim, workers) = Sim::started(config(2));
    let fx = sim.send(Event::Stop("SIGTERM"));
    assert_eq!(fx.notified(), [Notify::Stopping]);
    assert!(fx.0.iter().any(|e| matches!(e, Effect::CloseListener)));
    assert_eq!(fx.signalled(Kill::Term), workers);
    assert!(sim.core.outcome().is_none());
    assert!(
        sim.send(Event::Reload).spawned().is_empty(),
        "no reload now"
    );
    sim.exit(workers[0], "exited with status 0", true);
    assert!(sim.core.outcome().is_none());
    sim.exit(workers[1], "exited with status 0", true);
    assert_eq!(sim.core.outcome(), Some(Ok(true)));
}

#[test]
fn a_worker_that_does_not_drain_in_time_is_killed_and_the_stop_is_unclean() {
    let (mut sim, workers) = Sim::started(config(1));
    sim.send(Event::Stop("SIGTERM"));
    // GRACEFUL_TIMEOUT 30 s + 7 hooks × 5 s + 2 s.
    assert!(
        sim.pass(Duration::from_secs(66))
            .signalled(Kill::Kill)
            .is_empty()
    );
    let fx = sim.pass(Duration::from_secs(1));
    assert_eq!(fx.signalled(Kill::Kill), workers);
    sim.exit(workers[0], "killed by signal 9", false);
    assert_eq!(sim.core.outcome(), Some(Ok(false)));
}

#[test]
fn a_second_stop_signal_kills_every_worker_at_once() {
    let (mut sim, workers) = Sim::started(config(2));
    sim.send(Event::Stop("SIGTERM"));
    let fx = sim.send(Event::Stop("SIGINT"));
    assert_eq!(fx.signalled(Kill::Kill), workers);
    for w in workers {
        sim.exit(w, "killed by signal 9", false);
    }
    assert_eq!(sim.core.outcome(), Some(Ok(false)));
}
