//! `/wip-overview` and `GET /api/wip/overview/content`: the WIP overview page — totals, the
//! status donuts and cards, the workcenter × package matrix, the bars by package and by
//! workcenter — rendered on the server from the in-memory WIP snapshot under the filters of
//! the URL (the same parameters as the WIP APIs, [`super::wip_params::FILTERS`]).
//!
//! The content block is one template (`wip_overview_content.html`): the page includes it, and
//! the content API answers it alone (in the envelope, with the snapshot's version) so the
//! page's script swaps it in on a `wip` live event or a filter change without a reload.
//!
//! What is counted under which filters: the totals, the donuts and the status cards count
//! under every filter but `status` / `hold_type` (so each card shows what choosing it gives);
//! the matrix and the bars count under all of them (the RUN / QUEUE cards filter the matrix).
//! Without filters everything is read from the snapshot's ready answers; with filters it is
//! computed from its indexes, as the filtered APIs do.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use minijinja::Value;
use serde::Serialize;

use super::wip::served;
use super::wip_figures::{StatusSplit, markup};
use super::wip_params::{FILTERS, Params};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::CacheState;
use crate::cache::aggregate::{Matrix, Tally};
use crate::cache::filter::WipFilter;
use crate::cache::lots::Status;
use crate::cache::wip::Served;
use crate::charts::{Bar, ChartText, Item, Orientation};
use crate::http::{AppError, Meta, RawApiResponse};
use crate::i18n::{self, Lang};
use crate::json::RawJson;
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates::{self, Layout};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wip-overview", get(page))
        .route("/api/wip/overview/content", get(content))
}

/// The page's parameters beside the filters: the language switch and the wall-screen mode
/// (read elsewhere; accepted here so that they are not unknown).
const PAGE_EXTRA: [&str; 2] = ["lang", "kiosk"];

/// The filter panel's fields, in panel order: (parameter, catalogue key of its label).
const PANEL: [(&str, &str); 9] = [
    ("workorder", "wipov-filter-workorder"),
    ("lotid", "wipov-filter-lotid"),
    ("package", "wipov-filter-package"),
    ("type", "wipov-filter-type"),
    ("product", "wipov-filter-product"),
    ("workflow", "wipov-filter-workflow"),
    ("bop", "wipov-filter-bop"),
    ("function", "wipov-filter-function"),
    ("workcenter_group", "wipov-filter-workcenter-group"),
];

/// The filters of a request as given (non-empty values, in [`FILTERS`] order), for the links
/// the content builds: each keeps the others.
struct Given(Vec<(&'static str, String)>);

impl Given {
    fn of(params: &Params) -> Self {
        Self(
            FILTERS
                .iter()
                .filter_map(|&name| {
                    let value = params.get(name)?.trim();
                    (!value.is_empty()).then(|| (name, value.to_string()))
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `path?first…&the given filters but those named in first and in drop`.
    fn href(&self, path: &str, first: &[(&str, &str)], drop: &[&str]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in first {
            query.append_pair(name, value);
        }
        for (name, value) in &self.0 {
            if !drop.contains(name) && !first.iter().any(|(n, _)| n == name) {
                query.append_pair(name, value);
            }
        }
        let query = query.finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }
}

/// A status card: RUN and QUEUE toggle the matrix's status filter, the holds open the hold
/// overview of their type.
#[derive(Serialize)]
struct Card {
    key: &'static str,
    label: String,
    class: &'static str,
    lots: u64,
    quantity: i64,
    href: String,
    /// Filters this page (the script follows it in place) rather than opening another.
    in_page: bool,
    active: bool,
}

#[derive(Serialize)]
struct Cell {
    package: String,
    lots: u64,
    quantity: i64,
    href: String,
}

#[derive(Serialize)]
struct Row {
    workcenter: String,
    name: String,
    href: String,
    cells: Vec<Cell>,
    total: Tally,
}

#[derive(Serialize)]
struct MatrixView {
    /// The packages with lots under the filters, in column order.
    packages: Vec<String>,
    /// The workcenters with lots, in route order.
    rows: Vec<Row>,
    package_totals: Vec<Tally>,
    total: Tally,
}

/// Everything the content block shows.
#[derive(Serialize)]
pub struct Content {
    version: String,
    updated_at: String,
    stale: bool,
    split: StatusSplit,
    cards: Vec<Card>,
    donut_lots: Value,
    donut_pcs: Value,
    /// The matrix's status filter in words, with the link that removes it.
    status_note: Option<String>,
    clear_status_href: String,
    matrix: MatrixView,
    bar_package: Value,
    bar_workcenter: Value,
}

fn build(
    served: &Served,
    params: &Params,
    filter: &WipFilter,
    lang: Lang,
) -> Result<Content, AppError> {
    let snapshot = &served.snapshot;
    let given = Given::of(params);
    let t = |key: &str| i18n::t(lang, key).into_owned();

    let unstatused = filter.without_status();
    let split = if unstatused.is_empty() {
        StatusSplit::from_raw(&snapshot.summary).map_err(AppError::internal)?
    } else {
        StatusSplit::from_summary(&snapshot.filtered_summary(&unstatused))
    };
    let matrix: Matrix = if filter.is_empty() {
        serde_json::from_slice(&snapshot.matrix.0).map_err(AppError::internal)?
    } else {
        snapshot.filtered_matrix(filter)
    };

    let only = |status: Status| filter.statuses == [status] && filter.hold_type.is_none();
    let cards = split
        .parts()
        .into_iter()
        .map(|(key, label, class, tally)| {
            let (href, in_page, active) = match key {
                "RUN" | "QUEUE" => {
                    let status = if key == "RUN" {
                        Status::Run
                    } else {
                        Status::Queue
                    };
                    let active = only(status);
                    let href = if active {
                        given.href("/wip-overview", &[], &["status", "hold_type"])
                    } else {
                        given.href("/wip-overview", &[("status", key)], &["hold_type"])
                    };
                    (href, true, active)
                }
                hold => (format!("/hold-overview?hold_type={hold}"), false, false),
            };
            Card {
                key,
                label: t(label),
                class,
                lots: tally.lots,
                quantity: tally.quantity,
                href,
                in_page,
                active,
            }
        })
        .collect();
    let (donut_lots, donut_pcs) = split.donuts(lang, "wipov", true);

    let status_note = (!filter.statuses.is_empty() || filter.hold_type.is_some()).then(|| {
        let mut words: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| t(&format!("wip-status-{}", s.as_str())))
            .collect();
        if let Some(hold) = filter.hold_type {
            words.push(t(match hold {
                crate::config::HoldType::Quality => "wipov-quality-hold",
                crate::config::HoldType::NonQuality => "wipov-non-quality-hold",
            }));
        }
        i18n::t_args(
            lang,
            "wipov-status-note",
            &i18n::args([("status", words.join(", "))]),
        )
    });

    let view = matrix_view(&matrix, &given);
    let bar_package = markup(&Bar {
        text: ChartText {
            id: "wipov-bar-package",
            title: &t("wipov-bar-package"),
            desc: "",
            empty: &t("wipov-empty"),
        },
        items: view
            .packages
            .iter()
            .zip(&view.package_totals)
            .map(|(p, total)| {
                Item::new(p.as_str(), total.quantity as f64).filter("package", p.as_str())
            })
            .collect(),
        orientation: Orientation::Vertical,
        value_labels: true,
        category_label: &t("col-package"),
        value_label: &t("wipov-pcs-axis"),
        ..Bar::default()
    });
    let bar_workcenter = markup(&Bar {
        text: ChartText {
            id: "wipov-bar-workcenter",
            title: &t("wipov-bar-workcenter"),
            desc: "",
            empty: &t("wipov-empty"),
        },
        items: view
            .rows
            .iter()
            .map(|r| {
                Item::new(r.name.as_str(), r.total.quantity as f64)
                    .filter("workcenter", r.workcenter.as_str())
            })
            .collect(),
        orientation: Orientation::Horizontal,
        value_labels: true,
        category_label: &t("col-workcenter"),
        value_label: &t("wipov-pcs-axis"),
        ..Bar::default()
    });

    Ok(Content {
        version: snapshot.version.clone(),
        updated_at: snapshot.updated_at.clone(),
        stale: served.state == CacheState::Stale,
        split,
        cards,
        donut_lots,
        donut_pcs,
        status_note,
        clear_status_href: given.href("/wip-overview", &[], &["status", "hold_type"]),
        matrix: view,
        bar_package,
        bar_workcenter,
    })
}

/// The matrix without empty rows and columns, each cell and row linking to the workcenter's
/// detail with the page's other filters.
fn matrix_view(matrix: &Matrix, given: &Given) -> MatrixView {
    let packages: Vec<&String> = matrix
        .packages
        .iter()
        .filter(|p| matrix.package_totals.get(*p).is_some_and(|t| t.lots > 0))
        .collect();
    let rows = matrix
        .rows
        .iter()
        .filter(|r| r.total.lots > 0)
        .map(|r| {
            let wc = r.workcenter.as_str();
            Row {
                workcenter: r.workcenter.clone(),
                name: r.name.clone(),
                href: given.href("/wip-detail", &[("workcenter", wc)], &[]),
                cells: packages
                    .iter()
                    .map(|p| {
                        let tally = r.cells.get(*p).copied().unwrap_or_default();
                        Cell {
                            package: (*p).clone(),
                            lots: tally.lots,
                            quantity: tally.quantity,
                            href: if tally.lots > 0 {
                                given.href(
                                    "/wip-detail",
                                    &[("workcenter", wc), ("package", p.as_str())],
                                    &[],
                                )
                            } else {
                                String::new()
                            },
                        }
                    })
                    .collect(),
                total: r.total,
            }
        })
        .collect();
    MatrixView {
        package_totals: packages
            .iter()
            .map(|p| matrix.package_totals.get(*p).copied().unwrap_or_default())
            .collect(),
        packages: packages.into_iter().cloned().collect(),
        rows,
        total: matrix.total,
    }
}

/// One field of the filter panel.
#[derive(Serialize)]
struct Field {
    name: &'static str,
    label: String,
    value: String,
}

/// What the page's script reads from its JSON block.
#[derive(Serialize)]
struct Script {
    version: String,
    filters: &'static [&'static str],
    fields: Vec<&'static str>,
    /// Fields matched on part of the value (no comma list).
    partial: [&'static str; 2],
}

#[derive(Serialize)]
struct PageView {
    #[serde(flatten)]
    content: Content,
    fields: Vec<Field>,
    script: Script,
}

async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    // A bad parameter is the 400 page before anything else is read.
    let params = Params::parse(query.as_deref(), true, &PAGE_EXTRA)?;
    let filter = params.filter()?;
    let layout = catalog::open_page(&app, &session, &user, "/wip-overview", lang).await?;
    let served = served(&app).await?;
    let content = build(&served, &params, &filter, lang)?;
    let given = Given::of(&params);
    let fields = PANEL
        .iter()
        .map(|&(name, label)| Field {
            name,
            label: i18n::t(lang, label).into_owned(),
            value: given.get(name).unwrap_or_default().to_string(),
        })
        .collect();
    let script = Script {
        version: content.version.clone(),
        filters: &FILTERS,
        fields: PANEL.iter().map(|(name, _)| *name).collect(),
        partial: ["workorder", "lotid"],
    };
    templates::render(
        "wip_overview.html",
        &layout,
        &PageView {
            content,
            fields,
            script,
        },
    )
}

/// The page's content block alone, rendered for the filters given, with the version of the
/// snapshot it shows: `{version, updated_at, html}`.
async fn content(
    State(app): State<AppState>,
    _user: CurrentUser,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<RawApiResponse, AppError> {
    let params = Params::parse(query.as_deref(), true, &[])?;
    let filter = params.filter()?;
    let served = served(&app).await?;
    let content = build(&served, &params, &filter, lang)?;
    let layout = Layout::bare("", lang, app.config.pages.time_zone.name());
    let html = templates::render_string("wip_overview_content.html", &layout, &content)?;
    #[derive(Serialize)]
    struct Answer<'a> {
        version: &'a str,
        updated_at: &'a str,
        html: String,
    }
    let data = RawJson::from_value(&Answer {
        version: &content.version,
        updated_at: &content.updated_at,
        html,
    })
    .map_err(AppError::internal)?;
    Ok(RawApiResponse {
        data,
        meta: Meta::cached(served.freshness(), &app.db.breaker),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_other_filters_and_put_their_own_first() {
        let params = Params::parse(
            Some("package=QFN,SOP&status=RUN&lotid=GA%201&lang=en"),
            true,
            &PAGE_EXTRA,
        )
        .unwrap();
        let given = Given::of(&params);
        assert_eq!(
            given.href(
                "/wip-detail",
                &[("workcenter", "DB"), ("package", "QFN")],
                &[]
            ),
            "/wip-detail?workcenter=DB&package=QFN&lotid=GA+1&status=RUN"
        );
        assert_eq!(
            given.href("/wip-overview", &[], &["status", "hold_type"]),
            "/wip-overview?lotid=GA+1&package=QFN%2CSOP"
        );
        let none = Given::of(&Params::parse(None, true, &[]).unwrap());
        assert_eq!(
            none.href("/wip-overview", &[], &["status"]),
            "/wip-overview"
        );
    }
}
