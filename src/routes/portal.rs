//! `/`: the portal page. A plain index of the reports until the template issue gives it the
//! full layout.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MES Dashboard</title></head>\
         <body><h1>MES Dashboard</h1><ul>\
         <li><a href=\"/api/wip/overview/summary\">WIP summary</a></li>\
         <li><a href=\"/api/wip/overview/matrix\">WIP by workcenter and package</a></li>\
         </ul></body></html>",
    )
}
