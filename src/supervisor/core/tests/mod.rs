//! The core driven as the shell drives it, with a clock the tests move and workers that are
//! only names: reloads, a crash loop, a hung worker, a recycle, restart requests refused and
//! overridden, stops — no process, no socket, no sleep.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

mod reload;
mod restart;
mod stop;
mod watchdog;

use super::*;
use crate::config::supervisor::{AuditSettings, PolicySettings};
use crate::supervisor::audit::{AuditAction, Phase};
use crate::supervisor::history::{Action, Decision};
use crate::supervisor::policy::{self, PolicyState, PolicyStatus};
use crate::supervisor::protocol::WorkerState;

pub(super) fn config(workers: usize) -> Config {
    Config {
        supervisor: SupervisorSettings {
            workers,
            worker_timeout: Duration::from_secs(30),
            ready_timeout: Duration::from_secs(60),
            kill_grace: Duration::from_secs(5),
            max_requests: 0,
            max_requests_jitter: 0,
            policy: PolicySettings::default(),
            runtime_dir: std::path::PathBuf::new(),
            audit: AuditSettings::default(),
        },
        graceful_timeout: Duration::from_secs(30),
        hook_timeout: Duration::from_secs(5),
        systemd_watchdog: None,
        supervisor_pid: 4242,
        seed: 7,
    }
}

/// Shutdown hooks every simulated worker reports.
const HOOKS: usize = 7;

/// The shell's part, played by the test.
struct Sim {
    core: Core,
    now: Now,
    next_pid: u32,
    /// When set, every spawn fails with this error.
    spawn_error: Option<String>,
    pids: BTreeMap<WorkerId, u32>,
    /// Workers that said ready and beat every second (until they exit or hang).
    beating: BTreeSet<WorkerId>,
    /// Requests each worker reports in its heartbeat.
    requests: BTreeMap<WorkerId, u64>,
}

/// The effects of one or more events, in order.
#[derive(Debug, Default)]
struct Effects(Vec<Effect>);

impl Sim {
    fn new(config: Config) -> Self {
        let now = Now {
            mono: Instant::now(),
            wall: "2026-11-25T08:00:00Z".parse().unwrap(),
        };
        Self {
            core: Core::new(config, Vec::new(), now),
            now,
            next_pid: 1000,
            spawn_error: None,
            pids: BTreeMap::new(),
            beating: BTreeSet::new(),
            requests: BTreeMap::new(),
        }
    }

    /// A supervisor whose first generation serves; returns it and its workers by slot.
    fn started(config: Config) -> (Self, Vec<WorkerId>) {
        let mut sim = Self::new(config);
        let workers = sim.send(Event::Start).spawned_ids();
        for &w in &workers {
            sim.ready(w);
        }
        assert_eq!(sim.core.generation, 1);
        assert_eq!(sim.serving(), workers);
        (sim, workers)
    }

    /// Handles `event` as the shell does, answering spawns at once; returns every effect.
    fn send(&mut self, event: Event) -> Effects {
        let mut all = Vec::new();
        let mut queue = VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            for effect in self.core.handle(event, self.now) {
                if let Effect::Spawn { worker, .. } = effect {
                    queue.push_back(match &self.spawn_error {
                        Some(error) => Event::SpawnFailed {
                            worker,
                            error: error.clone(),
                        },
                        None => {
                            self.next_pid += 1;
                            self.pids.insert(worker, self.next_pid);
                            Event::Spawned {
                                worker,
                                pid: self.next_pid,
                            }
                        }
                    });
                }
                all.push(effect);
            }
        }
        Effects(all)
    }

    /// Lets `by` pass in half-second ticks; every beating worker beats each second.
    fn pass(&mut self, by: Duration) -> Effects {
        let mut all = Effects::default();
        let steps = by.as_millis() / 500;
        for step in 1..=steps {
            self.now = self.now.after(Duration::from_millis(500));
            if step % 2 == 0 {
                for w in self.beating.clone() {
                    let requests = self.requests.get(&w).copied().unwrap_or(0);
                    all.0.extend(
                        self.send(Event::Heartbeat {
                            worker: w,
                            requests,
                            metrics: Vec::new(),
                        })
                        .0,
                    );
                }
            }
            all.0.extend(self.send(Event::Tick).0);
        }
        all
    }

    fn ready(&mut self, w: WorkerId) -> Effects {
        self.beating.insert(w);
        self.send(Event::Ready {
            worker: w,
            hooks: HOOKS,
        })
    }

    fn exit(&mut self, w: WorkerId, how: &str, clean: bool) -> Effects {
        self.beating.remove(&w);
        self.send(Event::Exited {
            worker: w,
            how: how.into(),
            clean,
        })
    }

    fn crash(&mut self, w: WorkerId) -> Effects {
        self.exit(w, "killed by signal 9", false)
    }

    fn request(&mut self, request: ManualRequest) -> Effects {
        let via = self.serving()[0];
        self.send(Event::RestartRequest {
            worker: via,
            request_id: 9,
            request,
            requested_by: "admin.lee".into(),
            ip: Some("10.0.0.5".into()),
        })
    }

    /// The serving workers, by slot.
    fn serving(&self) -> Vec<WorkerId> {
        self.core.slots.iter().filter_map(|s| s.current).collect()
    }

    fn history(&self) -> &[HistoryEntry] {
        self.core.history.entries()
    }

    fn last(&self) -> &HistoryEntry {
        self.history().last().expect("a history entry")
    }

    fn policy(&self) -> PolicyStatus {
        policy::status(
            &self.core.config.supervisor.policy,
            self.history(),
            self.now.wall,
        )
    }

    /// Reloads by SIGHUP, makes the new generation ready and lets the old one exit; returns
    /// the new workers.
    fn reload(&mut self) -> Vec<WorkerId> {
        let new = self.send(Event::Reload).spawned_ids();
        let mut drained = Vec::new();
        for &w in &new {
            drained.extend(self.ready(w).signalled(Kill::Term));
        }
        for w in drained {
            self.exit(w, "exited with status 0", true);
        }
        assert_eq!(self.serving(), new);
        new
    }
}

impl Effects {
    /// `(worker, generation, slot)` of every spawn.
    fn spawned(&self) -> Vec<(WorkerId, u64, usize)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Spawn {
                    worker,
                    generation,
                    slot,
                } => Some((*worker, *generation, *slot)),
                _ => None,
            })
            .collect()
    }

    fn spawned_ids(&self) -> Vec<WorkerId> {
        self.spawned().into_iter().map(|s| s.0).collect()
    }

    fn signalled(&self, kill: Kill) -> Vec<WorkerId> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Signal { worker, signal } if *signal == kill => Some(*worker),
                _ => None,
            })
            .collect()
    }

    fn audits(&self) -> Vec<(AuditAction, Phase)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Audit(r) => Some((r.action, r.phase)),
                _ => None,
            })
            .collect()
    }

    fn notified(&self) -> Vec<Notify> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Notify(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn reply(&self) -> &RestartReply {
        self.0
            .iter()
            .find_map(|e| match e {
                Effect::Reply { reply, .. } => Some(&**reply),
                _ => None,
            })
            .expect("a reply")
    }

    fn snapshot(&self) -> &Snapshot {
        self.0
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::Snapshot(s) => Some(&**s),
                _ => None,
            })
            .expect("a snapshot")
    }

    fn position(&self, what: impl Fn(&Effect) -> bool) -> usize {
        self.0.iter().position(what).expect("the effect")
    }
}

fn override_with(reason: &str) -> ManualRequest {
    ManualRequest {
        manual_override: true,
        override_acknowledged: true,
        override_reason: Some(reason.into()),
    }
}
