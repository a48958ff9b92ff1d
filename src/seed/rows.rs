//! The rows of a generated factory, one struct per report table, as they are inserted.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct WorkcenterRow {
    pub id: &'static str,
    pub name: &'static str,
    pub sequence: i64,
    pub group: &'static str,
    pub group_sequence: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub workcenter_id: &'static str,
    pub step: &'static str,
    pub name: &'static str,
    pub sequence: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageRow {
    pub id: &'static str,
    pub family: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    pub lot_id: String,
    pub product: String,
    pub package_id: &'static str,
    pub workcenter_id: &'static str,
    pub step: String,
    pub status: &'static str,
    pub quantity: i64,
    pub priority: i64,
    pub equipment_id: Option<String>,
    pub track_in_at: Option<DateTime<Utc>>,
    pub hold_reason: Option<&'static str>,
    pub hold_at: Option<DateTime<Utc>>,
    pub hold_by: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub work_order: String,
    pub lot_type: &'static str,
    pub bop: String,
    pub workflow: String,
    pub function: &'static str,
    pub wafer_lot: String,
    pub move_in_at: DateTime<Utc>,
    pub hold_department: Option<&'static str>,
    pub hold_comment: Option<&'static str>,
    pub future_hold_comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolRow {
    pub equipment_id: String,
    pub workcenter_id: &'static str,
    pub model: &'static str,
    pub e10_state: &'static str,
    pub state_reason: Option<&'static str>,
    pub state_since: DateTime<Utc>,
    pub family: &'static str,
    pub location: &'static str,
    pub package_group: &'static str,
    pub vendor: &'static str,
    pub is_production: bool,
    pub is_key: bool,
    pub is_monitored: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateSpan {
    pub equipment_id: String,
    pub e10_state: &'static str,
    pub state_reason: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One hold of a lot and its release (none while it is on hold).
#[derive(Debug, Clone, PartialEq)]
pub struct HoldEventRow {
    pub lot_id: String,
    pub product: String,
    pub package_id: &'static str,
    pub workcenter_id: &'static str,
    pub step: String,
    pub quantity: i64,
    pub hold_reason: Option<&'static str>,
    pub hold_at: DateTime<Utc>,
    pub hold_by: &'static str,
    pub hold_department: &'static str,
    pub hold_comment: Option<&'static str>,
    pub future_hold: bool,
    pub future_hold_comment: Option<String>,
    pub release_at: Option<DateTime<Utc>>,
    pub release_by: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub job_id: String,
    pub job_order: String,
    pub status: &'static str,
    pub stage: &'static str,
    pub equipment_id: String,
    pub model: &'static str,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub symptom_code: &'static str,
    pub cause_code: Option<&'static str>,
    pub repair_code: Option<&'static str>,
    pub technician: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobTransactionRow {
    pub job_id: String,
    pub changed_at: DateTime<Utc>,
    pub status: &'static str,
    pub stage: &'static str,
    pub changed_by: &'static str,
    pub note: Option<String>,
}
