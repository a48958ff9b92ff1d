//! Manual restart requests against the policy: cooldown, blocked, overrides.

use super::*;

#[test]
fn a_restart_in_cooldown_is_refused_with_the_time_left() {
    let (mut sim, _) = Sim::started(config(1));
    let fx = sim.request(ManualRequest::default());
    assert_eq!(fx.reply().decision, Decision::Allowed);
    sim.ready(fx.spawned_ids()[0]);
    sim.pass(Duration::from_secs(20));

    let fx = sim.request(ManualRequest::default());
    let reply = fx.reply();
    assert_eq!(reply.decision, Decision::RejectedCooldown);
    assert_eq!(reply.retry_after, Some(40));
    assert!(fx.spawned().is_empty());
    assert_eq!(fx.audits(), [(AuditAction::Restart, Phase::Rejected)]);
    let entry = sim.last();
    assert_eq!(
        (entry.requested_by.as_str(), entry.ip.as_deref()),
        ("admin.lee", Some("10.0.0.5"))
    );
    assert_eq!(entry.success, Some(false), "a refusal is complete at once");
}

#[test]
fn a_restart_while_blocked_is_refused_and_an_acknowledged_override_reloads() {
    let (mut sim, _) = Sim::started(config(1));
    for _ in 0..3 {
        sim.reload();
        sim.pass(Duration::from_secs(61));
    }
    assert_eq!(sim.policy().state, PolicyState::Blocked);

    let fx = sim.request(ManualRequest::default());
    let reply = fx.reply();
    assert_eq!(reply.decision, Decision::RejectedBlocked);
    assert!(
        reply.message.contains("override_acknowledged"),
        "{}",
        reply.message
    );
    assert!(fx.spawned().is_empty());
    assert_eq!(fx.audits(), [(AuditAction::Restart, Phase::Rejected)]);
    // The refusal is on disk before the answer goes out.
    let saved = fx.position(|e| matches!(e, Effect::SaveHistory(_)));
    let replied = fx.position(|e| matches!(e, Effect::Reply { .. }));
    assert!(saved < replied);
    assert_eq!(reply.entry.decision, Decision::RejectedBlocked);

    let fx = sim.request(override_with("pool leak after the failover"));
    let reply = fx.reply();
    assert_eq!(reply.decision, Decision::AllowedOverride);
    assert_eq!(fx.spawned().len(), 1);
    assert_eq!(fx.spawned()[0].1, 5);
    assert_eq!(fx.audits(), [(AuditAction::Restart, Phase::Requested)]);
    assert!(reply.entry.manual_override);
    assert_eq!(
        reply.entry.reason.as_deref(),
        Some("pool leak after the failover")
    );
    assert_eq!(reply.policy.state, PolicyState::Blocked, "still churning");
    let fx = sim.ready(fx.spawned_ids()[0]);
    assert_eq!(fx.audits(), [(AuditAction::Restart, Phase::Completed)]);
    assert_eq!(sim.core.generation, 5);
}

#[test]
fn while_blocked_only_an_acknowledged_override_is_judged_on_its_reason() {
    let (mut sim, _) = Sim::started(config(1));
    for _ in 0..3 {
        sim.reload();
    }
    assert_eq!(sim.policy().state, PolicyState::Blocked);
    let cases = [
        (ManualRequest::default(), Decision::RejectedBlocked),
        (
            ManualRequest {
                manual_override: true,
                ..ManualRequest::default()
            },
            Decision::RejectedBlocked,
        ),
        (
            ManualRequest {
                manual_override: true,
                override_reason: Some("pool leak".into()),
                ..ManualRequest::default()
            },
            Decision::RejectedBlocked,
        ),
        (
            ManualRequest {
                override_reason: None,
                ..override_with("")
            },
            Decision::RejectedReasonRequired,
        ),
        (
            override_with(&"x".repeat(policy::MAX_REASON_CHARS + 1)),
            Decision::RejectedReasonRequired,
        ),
    ];
    for (request, decision) in cases {
        let fx = sim.request(request.clone());
        assert_eq!(fx.reply().decision, decision, "{request:?}");
        assert!(fx.spawned().is_empty(), "{request:?}");
        assert_eq!(sim.last().decision, decision);
    }
    let reason = "x".repeat(policy::MAX_REASON_CHARS);
    let fx = sim.request(override_with(&reason));
    assert_eq!(fx.reply().decision, Decision::AllowedOverride);
    assert_eq!(fx.spawned().len(), 1);
}
