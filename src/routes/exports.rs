//! CSV files of the WIP list APIs (`GET /api/wip/detail/{workcenter}` and
//! the held-lot lists of `/api/hold-overview/lots` and `/api/hold-detail/lots`, with `?format=csv`): the handler selects and orders the lot
//! positions with its filters, and the export streams those lots from the snapshot it holds
//! (`http/csv.rs` writes the file: byte-order mark, localized header row, formula defusing).

use axum::response::Response;

use crate::app::AppState;
use crate::cache::lots::{Field, Micros};
use crate::cache::wip::Served;
use crate::http::csv::{self, Cell, CsvFile};
use crate::i18n::Lang;
use crate::routes::hold_params;

/// The lots at `positions` of the workcenter's detail, in that order (every page).
pub fn wip_detail(
    app: &AppState,
    lang: Lang,
    served: &Served,
    workcenter: &str,
    positions: Vec<u32>,
) -> Response {
    let snapshot = served.snapshot.clone();
    let mut next = positions.into_iter();
    let file = CsvFile {
        report: format!("wip_detail_{workcenter}"),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "col-lot",
            "col-product",
            "col-package",
            "col-step",
            "col-status",
            "col-quantity",
            "col-priority",
            "col-tool",
            "col-track-in",
            "col-reason",
        ],
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(p) = next.next() else { return false };
        let table = &snapshot.table;
        let lot = &table.lots[p as usize];
        let text = |f| table.text(p, f);
        write(&[
            table.lot_id(p).into(),
            text(Field::Product).into(),
            text(Field::Package).into(),
            text(Field::Step).into(),
            lot.status.as_str().into(),
            lot.quantity.into(),
            i64::from(lot.priority).into(),
            text(Field::Equipment).into(),
            lot.track_in_at.get().into(),
            text(Field::HoldReason).into(),
        ]);
        true
    })
}

/// The held lots at `positions`, in that order, with the 15 columns of the hold overview's
/// table and the hold type; ages and durations measured at `now`.
pub fn held_lots(
    app: &AppState,
    lang: Lang,
    served: &Served,
    report: &str,
    positions: Vec<u32>,
    now: Micros,
) -> Response {
    let snapshot = served.snapshot.clone();
    let mut next = positions.into_iter();
    let file = CsvFile {
        report: report.to_string(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: hold_params::CSV_COLUMNS,
    };
    csv::respond(file, move |write: &mut dyn FnMut(&[Cell<'_>])| {
        let Some(p) = next.next() else { return false };
        hold_params::csv_row(&snapshot.table, p, now, write);
        true
    })
}
