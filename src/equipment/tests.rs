use chrono::{TimeZone, Utc};

use super::aggregate::{Layout, summarize};
use super::jobs::OpenJob;
use super::*;
use crate::db::wip::Workcenter;

fn matrix<'a>(tools: &[ToolStatus], layout: &'a Layout) -> aggregate::Matrix<'a> {
    layout.matrix(0..tools.len())
}

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
        workcenter_group: Some(format!("G-{wc}").into()),
        family: Some(format!("F-{wc}").into()),
        location: Some(if id.ends_with('1') { "F1" } else { "F2" }.into()),
        package_group: Some("QFN".into()),
        vendor: None,
        production: state != "NST",
        key: id.starts_with("WB"),
        monitored: false,
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
fn avail_counts_every_tool_and_ou_only_scheduled_ones() {
    let s = summarize(&fleet());
    assert_eq!(s.total, 5);
    assert_eq!((s.by_state.prd, s.by_state.udt, s.by_state.nst), (2, 1, 1));
    // AVAIL: (PRD 2 + SBY 0 + EGT 1) / all 5 tools, NST included.
    assert_eq!(s.availability_pct, Some(60.0));
    // OU: PRD 2 / (PRD 2 + SBY 0 + UDT 1 + SDT 0 + EGT 1).
    assert_eq!(s.ou_pct, Some(50.0));
    assert_eq!((s.lots_on_tools, s.track_in_quantity), (3, 300));
    assert_eq!(summarize(&[]).availability_pct, None);
    // Only NST: AVAIL 0 %, OU undefined.
    let idle = summarize(&[tool("A", "WB", "NST", &[])]);
    assert_eq!((idle.availability_pct, idle.ou_pct), (Some(0.0), None));
}

#[test]
fn matrix_rows_follow_the_route_and_unknown_workcenters_come_last() {
    let tools = fleet();
    let layout = Layout::build(&tools, &[wc("DB"), wc("WB"), wc("MD")]);
    let m = matrix(&tools, &layout);
    let rows: Vec<_> = m.rows.iter().map(|r| r.workcenter.as_str()).collect();
    assert_eq!(rows, ["DB", "WB", "MD", "XX"]);
    assert_eq!(
        (m.rows[0].counted.counts.prd, m.rows[0].counted.counts.nst),
        (1, 1)
    );
    assert_eq!(m.rows[2].counted.total, 0);
    assert_eq!(m.rows[2].counted.availability_pct, None);
    assert_eq!(m.total, 5);
    // The hierarchy: groups in order of first appearance, families under them.
    let groups: Vec<_> = m.groups.iter().map(|g| g.group.unwrap()).collect();
    assert_eq!(groups, ["G-WB", "G-DB", "G-XX"]);
    assert_eq!(m.groups[1].families[0].family, Some("F-DB"));
    assert_eq!(m.groups[1].counted.counts.nst, 1);
    assert_eq!(m.groups[1].counted.availability_pct, Some(50.0));
    assert_eq!(m.totals.total(), 5);
    let value = serde_json::to_value(&m).unwrap();
    assert_eq!(value["states"][0], "PRD");
    assert_eq!(value["rows"][1]["counts"]["UDT"], 1);
    assert_eq!(value["groups"][0]["families"][0]["total"], 2);
}

#[test]
fn status_answers_are_precomputed_and_filtered_by_bytes() {
    let snap = EquipmentSnapshot::build(fleet(), vec![wc("DB"), wc("WB")], vec![]).unwrap();
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
        ..StatusFilter::default()
    };
    let answer = json(&snap.status_for(&wb_prd));
    assert_eq!(answer["count"], 1);
    assert_eq!(answer["tools"][0]["equipment_id"], "WB-001");
    let none = StatusFilter {
        workcenter: Some("ZZ".into()),
        ..StatusFilter::default()
    };
    assert_eq!(
        json(&snap.status_for(&none)),
        serde_json::json!({"count": 0, "tools": []})
    );
}

#[test]
fn a_diff_lists_changed_new_and_removed_tools_only() {
    let before = EquipmentSnapshot::build(fleet(), vec![], vec![]).unwrap();
    let mut tools = fleet();
    tools.retain(|t| t.equipment_id != "XX-001");
    tools[0].e10_state = "SBY".into(); // WB-002
    tools.push(tool("MD-001", "MD", "SBY", &[]));
    let after = EquipmentSnapshot::build(tools, vec![], vec![]).unwrap();
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
    let first = EquipmentSnapshot::build(fleet(), vec![], vec![]).unwrap();
    assert_eq!(status.apply(first), Applied::First);
    let same = EquipmentSnapshot::build(fleet(), vec![], vec![]).unwrap();
    assert_eq!(status.apply(same), Applied::Unchanged);
    assert!(
        events.try_recv().is_err(),
        "nothing pushed without a change"
    );

    let mut tools = fleet();
    tools[1].e10_state = "UDT".into(); // DB-001
    tools[1].state_reason = Some("Vacuum fault".into());
    let Applied::Changed(change) =
        status.apply(EquipmentSnapshot::build(tools, vec![], vec![]).unwrap())
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

/// Every combination of up to two attribute filters: the indexes admit exactly the tools a
/// plain scan admits, and the filtered summary counts those tools.
#[test]
fn indexed_filters_agree_with_a_scan_in_every_combination() {
    let mut tools = fleet();
    tools[4].workcenter_group = None; // XX-001: no group
    let snap = EquipmentSnapshot::build(tools.clone(), vec![wc("DB"), wc("WB")], vec![]).unwrap();
    let choices: Vec<(Field, Vec<String>)> = vec![
        (Field::WorkcenterGroup, vec!["G-WB".into()]),
        (Field::WorkcenterGroup, vec!["G-WB".into(), "G-DB".into()]),
        (Field::Location, vec!["F1".into()]),
        (Field::Family, vec!["F-DB".into(), "nope".into()]),
        (Field::Tool, vec!["WB-002".into(), "XX-001".into()]),
        (Field::PackageGroup, vec!["QFN".into()]),
        (Field::Production, vec!["false".into()]),
        (Field::Key, vec!["true".into()]),
        (Field::Monitored, vec!["true".into(), "false".into()]),
    ];
    let mut filters = vec![StatusFilter::default()];
    for a in &choices {
        filters.push(StatusFilter {
            fields: vec![a.clone()],
            ..StatusFilter::default()
        });
        for b in &choices {
            if a.0 != b.0 {
                filters.push(StatusFilter {
                    fields: vec![a.clone(), b.clone()],
                    states: vec!["PRD".into(), "UDT".into()],
                    ..StatusFilter::default()
                });
            }
        }
    }
    for filter in &filters {
        let scanned: Vec<&str> = snap
            .tools
            .iter()
            .filter(|t| filter.admits(t))
            .map(|t| t.equipment_id.as_str())
            .collect();
        let answer = json(&snap.status_for(filter));
        let listed: Vec<&str> = answer["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["equipment_id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, scanned, "{filter:?}");
        let summary = json(&snap.summary_for(filter).unwrap());
        assert_eq!(summary["total"], scanned.len(), "{filter:?}");
        let matrix = json(&snap.matrix_for(filter).unwrap());
        assert_eq!(matrix["total"], scanned.len(), "{filter:?}");
    }
    // Without a group the tool is still counted, under a group of none.
    let m = json(&snap.matrix);
    assert!(
        m["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"].is_null())
    );
}

#[test]
fn options_list_the_values_the_other_filters_leave() {
    let snap = EquipmentSnapshot::build(fleet(), vec![wc("DB"), wc("WB")], vec![]).unwrap();
    let filter = StatusFilter {
        fields: vec![
            (Field::WorkcenterGroup, vec!["G-WB".into()]),
            (Field::Location, vec!["F1".into()]),
        ],
        ..StatusFilter::default()
    };
    let options = snap.indexes().options(&snap.tools, &filter);
    let of = |field: Field| -> Vec<(String, usize)> {
        options
            .iter()
            .find(|(f, _)| *f == field)
            .unwrap()
            .1
            .iter()
            .map(|v| (v.value.to_string(), v.tools))
            .collect()
    };
    // Groups of the tools at F1 (DB-001, WB-001, XX-001), in route order.
    assert_eq!(
        of(Field::WorkcenterGroup),
        [
            ("G-DB".to_string(), 1),
            ("G-WB".to_string(), 1),
            ("G-XX".to_string(), 1)
        ]
    );
    // Locations of the group G-WB's tools: both.
    assert_eq!(
        of(Field::Location),
        [("F1".to_string(), 1), ("F2".to_string(), 1)]
    );
    // Tools: those both filters admit.
    assert_eq!(of(Field::Tool), [("WB-001".to_string(), 1)]);
}

fn job(id: &str, tool: &str, minutes_ago: i64) -> OpenJob {
    OpenJob {
        job_id: id.into(),
        job_order: None,
        status: "OPEN".into(),
        stage: None,
        equipment_id: tool.into(),
        model: None,
        created_at: Utc::now() - chrono::Duration::minutes(minutes_ago),
        symptom_code: None,
        technician: None,
    }
}

#[test]
fn open_jobs_come_longest_first_and_follow_their_tool_through_the_filters() {
    let jobs = vec![
        job("J3", "WB-002", 5),
        job("J1", "DB-001", 50),
        job("J2", "GONE-1", 20),
    ];
    let snap = EquipmentSnapshot::build(fleet(), vec![wc("DB"), wc("WB")], jobs).unwrap();
    let all = json(&snap.jobs_answer(&snap.jobs_for(&StatusFilter::default()), 2));
    assert_eq!(all["count"], 3);
    let ids: Vec<_> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].clone())
        .collect();
    assert_eq!(ids, ["J1", "J2"], "longest open first, limited");
    let wb = StatusFilter {
        fields: vec![(Field::WorkcenterGroup, vec!["G-WB".into()])],
        ..StatusFilter::default()
    };
    let answer = json(&snap.jobs_answer(&snap.jobs_for(&wb), 10));
    assert_eq!(answer["count"], 1);
    assert_eq!(answer["jobs"][0]["job_id"], "J3");
    let wb_002 = snap.indexes().position("WB-002").unwrap();
    assert_eq!(
        snap.open_job_of(wb_002).map(|j| j.job_id.as_str()),
        Some("J3")
    );
    let stored: Vec<OpenJob> = serde_json::from_slice(&snap.jobs_json()).unwrap();
    assert_eq!(stored, snap.open_jobs);
}

#[test]
fn a_tool_stored_without_attributes_still_reads() {
    let old = r#"{"equipment_id":"A","workcenter_id":"WB","model":"M","e10_state":"PRD","state_reason":null,"state_since":"2026-11-01T08:00:00Z","lots":[],"track_in_quantity":0,"last_track_in_at":null,"updated_at":"2026-11-01T08:00:00Z"}"#;
    let tool: ToolStatus = serde_json::from_str(old).unwrap();
    assert!(tool.production && !tool.key && tool.family.is_none());
}

#[test]
fn tool_sets_count_and_iterate_their_members() {
    for len in [0, 1, 63, 64, 65, 130] {
        let full = ToolSet::full(len);
        assert_eq!(full.count(), len);
        assert_eq!(
            full.iter().collect::<Vec<_>>(),
            (0..len).collect::<Vec<_>>()
        );
    }
    let mut set = ToolSet::empty(130);
    for i in [0, 64, 129, 200] {
        set.insert(i);
    }
    assert_eq!(set.iter().collect::<Vec<_>>(), [0, 64, 129]);
    assert!(set.contains(129) && !set.contains(1) && !set.contains(200));
}
