//! CSV rows of list APIs whose handlers are busy elsewhere (the WIP detail is being reworked
//! on its own): the handler makes one call here with the rows it selected, and the export
//! streams them from the snapshot (`http/csv.rs` does the file).

use axum::response::Response;

use crate::app::AppState;
use crate::cache::wip::Served;
use crate::http::csv::{self, Cell, CsvFile};
use crate::i18n::Lang;

/// `GET /api/wip/detail/{workcenter}?format=csv`: the lots `ids` names (those the request's
/// filters selected, every page of them), in that order.
pub fn wip_detail<'a>(
    app: &AppState,
    lang: Lang,
    served: &Served,
    workcenter: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Response {
    let snapshot = served.snapshot.clone();
    // The snapshot's lots are sorted by id: a position is a binary search away.
    let positions: Vec<u32> = ids
        .filter_map(|id| {
            snapshot
                .lots
                .binary_search_by(|l| l.lot_id.as_str().cmp(id))
                .ok()
        })
        .map(|p| p as u32)
        .collect();
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
        let l = &snapshot.lots[p as usize];
        write(&[
            l.lot_id.as_str().into(),
            l.product.as_str().into(),
            l.package_id.as_str().into(),
            l.step.as_str().into(),
            l.status.as_str().into(),
            l.quantity.into(),
            l.priority.into(),
            l.equipment_id.as_deref().into(),
            l.track_in_at.into(),
            l.hold_reason.as_deref().into(),
        ]);
        true
    })
}
