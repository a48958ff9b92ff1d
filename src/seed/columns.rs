//! How each generated row maps onto the columns of its table, for both writers.

use chrono::{DateTime, Utc};

use super::rows::{
    HoldEventRow, JobRow, JobTransactionRow, LotRow, PackageRow, StateSpan, StepRow, ToolRow,
    WorkcenterRow,
};

/// One column value of a row to write.
pub(super) enum Val<'a> {
    Text(Option<&'a str>),
    Int(i64),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

/// A row of one table, as the writer sees it.
pub(super) trait Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [&'static str];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>);
}

fn text(s: &str) -> Val<'_> {
    Val::Text(Some(s))
}

fn opt(s: Option<&str>) -> Val<'_> {
    Val::Text(s)
}

impl Row for WorkcenterRow {
    const TABLE: &'static str = "workcenters";
    const COLUMNS: &'static [&'static str] = &[
        "workcenter_id",
        "name",
        "sequence",
        "workcenter_group",
        "group_sequence",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(self.id),
            text(self.name),
            Val::Int(self.sequence),
            text(self.group),
            Val::Int(self.group_sequence),
        ]);
    }
}

impl Row for StepRow {
    const TABLE: &'static str = "workcenter_steps";
    const COLUMNS: &'static [&'static str] = &["workcenter_id", "step", "name", "sequence"];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(self.workcenter_id),
            text(self.step),
            text(self.name),
            Val::Int(self.sequence),
        ]);
    }
}

impl Row for PackageRow {
    const TABLE: &'static str = "packages";
    const COLUMNS: &'static [&'static str] = &["package_id", "family"];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([text(self.id), text(self.family)]);
    }
}

impl Row for ToolRow {
    const TABLE: &'static str = "equipment";
    const COLUMNS: &'static [&'static str] = &[
        "equipment_id",
        "workcenter_id",
        "model",
        "e10_state",
        "state_reason",
        "state_since",
        "updated_at",
        "family",
        "location",
        "package_group",
        "vendor",
        "is_production",
        "is_key",
        "is_monitored",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.equipment_id),
            text(self.workcenter_id),
            text(self.model),
            text(self.e10_state),
            opt(self.state_reason),
            Val::Time(Some(self.state_since)),
            Val::Time(Some(self.state_since)),
            text(self.family),
            text(self.location),
            text(self.package_group),
            text(self.vendor),
            Val::Bool(self.is_production),
            Val::Bool(self.is_key),
            Val::Bool(self.is_monitored),
        ]);
    }
}

impl Row for StateSpan {
    const TABLE: &'static str = "equipment_state_history";
    const COLUMNS: &'static [&'static str] = &[
        "equipment_id",
        "e10_state",
        "state_reason",
        "started_at",
        "ended_at",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.equipment_id),
            text(self.e10_state),
            opt(self.state_reason),
            Val::Time(Some(self.started_at)),
            Val::Time(self.ended_at),
        ]);
    }
}

impl Row for LotRow {
    const TABLE: &'static str = "lots";
    const COLUMNS: &'static [&'static str] = &[
        "lot_id",
        "product",
        "package_id",
        "workcenter_id",
        "step",
        "status",
        "quantity",
        "priority",
        "equipment_id",
        "track_in_at",
        "hold_reason",
        "hold_at",
        "hold_by",
        "started_at",
        "updated_at",
        "work_order",
        "lot_type",
        "bop",
        "workflow",
        "function",
        "wafer_lot",
        "move_in_at",
        "hold_department",
        "hold_comment",
        "future_hold_comment",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.lot_id),
            text(&self.product),
            text(self.package_id),
            text(self.workcenter_id),
            text(&self.step),
            text(self.status),
            Val::Int(self.quantity),
            Val::Int(self.priority),
            opt(self.equipment_id.as_deref()),
            Val::Time(self.track_in_at),
            opt(self.hold_reason),
            Val::Time(self.hold_at),
            opt(self.hold_by),
            Val::Time(Some(self.started_at)),
            Val::Time(Some(self.updated_at)),
            text(&self.work_order),
            text(self.lot_type),
            text(&self.bop),
            text(&self.workflow),
            text(self.function),
            text(&self.wafer_lot),
            Val::Time(Some(self.move_in_at)),
            opt(self.hold_department),
            opt(self.hold_comment),
            opt(self.future_hold_comment.as_deref()),
        ]);
    }
}

impl Row for HoldEventRow {
    const TABLE: &'static str = "hold_events";
    const COLUMNS: &'static [&'static str] = &[
        "lot_id",
        "product",
        "package_id",
        "workcenter_id",
        "step",
        "quantity",
        "hold_reason",
        "hold_at",
        "hold_by",
        "hold_department",
        "hold_comment",
        "future_hold",
        "future_hold_comment",
        "release_at",
        "release_by",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.lot_id),
            text(&self.product),
            text(self.package_id),
            text(self.workcenter_id),
            text(&self.step),
            Val::Int(self.quantity),
            opt(self.hold_reason),
            Val::Time(Some(self.hold_at)),
            text(self.hold_by),
            text(self.hold_department),
            opt(self.hold_comment),
            Val::Bool(self.future_hold),
            opt(self.future_hold_comment.as_deref()),
            Val::Time(self.release_at),
            opt(self.release_by),
        ]);
    }
}

impl Row for JobRow {
    const TABLE: &'static str = "maintenance_jobs";
    const COLUMNS: &'static [&'static str] = &[
        "job_id",
        "job_order",
        "status",
        "stage",
        "equipment_id",
        "model",
        "created_at",
        "completed_at",
        "symptom_code",
        "cause_code",
        "repair_code",
        "technician",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.job_id),
            text(&self.job_order),
            text(self.status),
            text(self.stage),
            text(&self.equipment_id),
            text(self.model),
            Val::Time(Some(self.created_at)),
            Val::Time(self.completed_at),
            text(self.symptom_code),
            opt(self.cause_code),
            opt(self.repair_code),
            opt(self.technician),
        ]);
    }
}

impl Row for JobTransactionRow {
    const TABLE: &'static str = "maintenance_job_transactions";
    const COLUMNS: &'static [&'static str] = &[
        "job_id",
        "changed_at",
        "status",
        "stage",
        "changed_by",
        "note",
    ];
    fn values<'a>(&'a self, out: &mut Vec<Val<'a>>) {
        out.extend([
            text(&self.job_id),
            Val::Time(Some(self.changed_at)),
            text(self.status),
            text(self.stage),
            text(self.changed_by),
            opt(self.note.as_deref()),
        ]);
    }
}
