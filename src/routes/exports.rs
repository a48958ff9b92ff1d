//! CSV files of the WIP list APIs (`GET /api/wip/detail/{workcenter}` and
//! `GET /api/hold-overview/lots` with `?format=csv`): the handler selects and orders the lot
//! positions with its filters, and the export streams those lots from the snapshot it holds
//! (`http/csv.rs` writes the file: byte-order mark, localized header row, formula defusing).

use axum::response::Response;

use crate::app::AppState;
use crate::cache::lots::Field;
use crate::cache::wip::Served;
use crate::http::csv::{self, Cell, CsvFile};
use crate::i18n::Lang;

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

/// The held lots at `positions`, in that order (oldest hold first).
pub fn hold_lots(app: &AppState, lang: Lang, served: &Served, positions: Vec<u32>) -> Response {
    let snapshot = served.snapshot.clone();
    let mut next = positions.into_iter();
    let file = CsvFile {
        report: "hold_lots".into(),
        lang,
        time_zone: app.config.pages.time_zone,
        max_rows: app.config.pages.csv_export_max_rows,
        columns: &[
            "col-lot",
            "col-product",
            "col-package",
            "col-workcenter",
            "col-step",
            "col-quantity",
            "col-priority",
            "col-reason",
            "hold-col-since",
            "hold-col-by",
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
            table.workcenter_of(p).workcenter_id.as_str().into(),
            text(Field::Step).into(),
            lot.quantity.into(),
            i64::from(lot.priority).into(),
            text(Field::HoldReason).into(),
            lot.hold_at.get().into(),
            text(Field::HoldBy).into(),
        ]);
        true
    })
}
