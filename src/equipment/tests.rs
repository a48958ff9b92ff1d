use chrono::{TimeZone, Utc};

use super::aggregate::{matrix, summarize};
use super::*;
use crate::db::wip::Workcenter;

fn tool(id: &str, wc: &str, state: &str, lots: &[&str]) -> ToolStatus {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
    ToolStatus {
        equipment_id: id.into(),
        workcenter_id: wc.into(),
        model: "M1".into(),
        e10_state: state.into(),
        state_reason: None,
        state_since: at,
        lots: lots.iter().map(|l| l.to_string()).collect(),
        track_in_quantity: 100 * lots.len() as i64,
        last_track_in_at: (!lots.is_empty()).then_some(at),
        updated_at: at,
    }
}

fn wc(id: &str) -> Workcenter {
    Workcenter {
        workcenter_id: id.into(),
        name: format!("{id} name"),
        sequence: 0,
    }
}

fn fleet() -> Vec<ToolStatus> {
    vec![
        tool("WB-002", "WB", "UDT", &[]),
        tool("DB-001", "DB", "PRD", &["L1", "L2"]),
        tool("WB-001", "WB", "PRD", &["L3"]),
        tool("DB-002", "DB", "NST", &[]),
        tool("XX-001", "XX", "EGT", &[]),
    ]
}

fn json(raw: &crate::json::RawJson) -> serde_json::Value {
    serde_json::from_slice(&raw.0).unwrap()
}

#[test]
fn summary_counts_states_and_excludes_non_scheduled_tools_from_the_ratios() {
    let s = summarize(&fleet());
    assert_eq!(s.total, 5);
    assert_eq!((s.by_state.prd, s.by_state.udt, s.by_state.nst), (2, 1, 1));
    // Scheduled: 4 (NST excluded); up: PRD 2 + EGT 1; productive: 2.
    assert_eq!(s.availability_pct, Some(75.0));
    assert_eq!(s.utilization_pct, Some(50.0));
    assert_eq!((s.lots_on_tools, s.track_in_quantity), (3, 300));
    assert_eq!(summarize(&[]).availability_pct, None);
}

#[test]
fn matrix_rows_follow_the_route_and_unknown_workcenters_come_last() {
    let m = matrix(&fleet(), &[wc("DB"), wc("WB"), wc("MD")]);
    let rows: Vec<_> = m.rows.iter().map(|r| r.workcenter.as_str()).collect();
    assert_eq!(rows, ["DB", "WB", "MD", "XX"]);
    assert_eq!((m.rows[0].counts.prd, m.rows[0].counts.nst), (1, 1));
    assert_eq!(m.rows[2].total, 0);
    assert_eq!(m.rows[2].availability_pct, None);
    assert_eq!(m.total, 5);
    assert_eq!(m.totals.total(), 5);
    let value = serde_json::to_value(&m).unwrap();
    assert_eq!(value["states"][0], "PRD");
    assert_eq!(value["rows"][1]["counts"]["UDT"], 1);
}

#[test]
fn status_answers_are_precomputed_and_filtered_by_bytes() {
    let snap = EquipmentSnapshot::build(fleet(), vec![wc("DB"), wc("WB")]).unwrap();
    let all = json(&snap.status);
    assert_eq!(all["count"], 5);
    let ids: Vec<_> = all["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["equipment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["DB-001", "DB-002", "WB-001", "WB-002", "XX-001"]);
    assert_eq!(all["tools"][0]["lots"], serde_json::json!(["L1", "L2"]));

    let wb_prd = StatusFilter {
        workcenter: Some("WB".into()),
        states: vec!["PRD".into()],
    };
    let answer = json(&snap.status_for(&wb_prd));
    assert_eq!(answer["count"], 1);
    assert_eq!(answer["tools"][0]["equipment_id"], "WB-001");
    let none = StatusFilter {
        workcenter: Some("ZZ".into()),
        states: vec![],
    };
    assert_eq!(
        json(&snap.status_for(&none)),
        serde_json::json!({"count": 0, "tools": []})
    );
}

#[test]
fn a_diff_lists_changed_new_and_removed_tools_only() {
    let before = EquipmentSnapshot::build(fleet(), vec![]).unwrap();
    let mut tools = fleet();
    tools.retain(|t| t.equipment_id != "XX-001");
    tools[0].e10_state = "SBY".into(); // WB-002
    tools.push(tool("MD-001", "MD", "SBY", &[]));
    let after = EquipmentSnapshot::build(tools, vec![]).unwrap();
    let change = before.diff(&after);
    let changed: Vec<_> = change
        .changed
        .iter()
        .map(|t| t.equipment_id.as_str())
        .collect();
    assert_eq!(changed.len(), 2);
    assert!(changed.contains(&"WB-002") && changed.contains(&"MD-001"));
    assert_eq!(change.removed, ["XX-001"]);
    assert!(after.diff(&after).is_empty());

    let patched = before.patched(&change).unwrap();
    assert!(patched.diff(&after).is_empty());
}

#[tokio::test]
async fn only_changes_reach_the_streams_and_remote_changes_are_applied_once() {
    let status = EquipmentStatus::new();
    let mut events = status.subscribe();
    let first = EquipmentSnapshot::build(fleet(), vec![]).unwrap();
    assert_eq!(status.apply(first), Applied::First);
    let same = EquipmentSnapshot::build(fleet(), vec![]).unwrap();
    assert_eq!(status.apply(same), Applied::Unchanged);
    assert!(
        events.try_recv().is_err(),
        "nothing pushed without a change"
    );

    let mut tools = fleet();
    tools[1].e10_state = "UDT".into(); // DB-001
    tools[1].state_reason = Some("Vacuum fault".into());
    let Applied::Changed(change) = status.apply(EquipmentSnapshot::build(tools, vec![]).unwrap())
    else {
        panic!("a change");
    };
    let event = events.try_recv().unwrap();
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["changed"][0]["equipment_id"], "DB-001");
    assert_eq!(data["changed"][0]["e10_state"], "UDT");
    assert_eq!(data["summary"]["by_state"]["UDT"], 2);
    assert_eq!(event.seq, 1);

    // The same change published by another process is no news here.
    assert_eq!(status.apply_remote(&change).unwrap(), None);
    assert!(events.try_recv().is_err());
    // A different one is applied and pushed.
    let mut remote = change.clone();
    remote.changed[0].e10_state = "SBY".into();
    assert!(status.apply_remote(&remote).unwrap().is_some());
    assert_eq!(
        status.current().unwrap().tool("DB-001").unwrap().e10_state,
        "SBY"
    );
    assert_eq!(events.try_recv().unwrap().seq, 2);
}
