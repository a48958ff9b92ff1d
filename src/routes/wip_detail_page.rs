//! The `/wip-detail?workcenter=…` page (PRODUCT §3): one workcenter's lots with a column per
//! step, its status cards, sorting and paging — the first page rendered here from the WIP
//! snapshot (the same answer `GET /api/wip/detail/{workcenter}` gives, so the page shows
//! without script), later pages fetched by `static/js/pages/wip_detail.js`.
//!
//! Every control is a link to the page with other parameters (a card toggles the status
//! filter, a header sorts, the pager pages): without script they reload the page, with it the
//! script fetches the API with the same parameters and keeps the URL in step.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::wip_detail::{
    DEFAULT_PAGE_SIZE, DetailLot, DetailPage, DetailQuery, MAX_PAGE_SIZE, find_workcenter,
};
use super::wip_params::{FILTERS, Params};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::query::SortKey;
use crate::http::AppError;
use crate::i18n::{self, Lang};
use crate::routes::catalog;
use crate::routes::wip::{served, validate_id};
use crate::session::SessionHandle;
use crate::templates;
use crate::timefmt::iso8601;

pub fn router() -> Router<AppState> {
    Router::new().route("/wip-detail", get(page))
}

const ROUTE: &str = "/wip-detail";

/// The page's parameters beside the filters (`lang` is taken out by the edge).
const OWN: [&str; 6] = ["workcenter", "page", "page_size", "sort", "dir", "kiosk"];

/// Every parameter of the page, in the order its links write them.
const KEYS: [&str; 17] = [
    "workcenter",
    FILTERS[0],
    FILTERS[1],
    FILTERS[2],
    FILTERS[3],
    FILTERS[4],
    FILTERS[5],
    FILTERS[6],
    FILTERS[7],
    FILTERS[8],
    FILTERS[9],
    FILTERS[10],
    "page",
    "page_size",
    "sort",
    "dir",
    "kiosk",
];

/// The columns a header click sorts by: the five lot columns, and the step columns (route
/// order of the lots' steps).
const SORTABLE: [(&str, SortKey); 6] = [
    ("lot", SortKey::LotId),
    ("type", SortKey::Type),
    ("tool", SortKey::Equipment),
    ("status", SortKey::Status),
    ("package", SortKey::Package),
    ("step", SortKey::Step),
];

/// The status cards: their key in the answer's `cards`, the filter each sets, its label.
const CARDS: [(&str, &str, &str, &str); 4] = [
    ("run", "RUN", "", "wipdt-card-run"),
    ("queue", "QUEUE", "", "wipdt-card-queue"),
    ("quality_hold", "HOLD", "quality", "wipdt-card-quality-hold"),
    (
        "non_quality_hold",
        "HOLD",
        "non-quality",
        "wipdt-card-non-quality-hold",
    ),
];

/// The lot panel's sections and their fields (as `GET /api/wip/lot/{id}` names them).
const PANEL: [(&str, &[&str]); 5] = [
    (
        "basic",
        &[
            "lot_id",
            "status",
            "hold_type",
            "quantity",
            "priority",
            "lot_type",
            "work_order",
            "wafer_lot",
        ],
    ),
    (
        "product",
        &["product", "package_id", "product_line", "function", "bop"],
    ),
    (
        "process",
        &[
            "workflow",
            "workcenter_id",
            "workcenter_name",
            "workcenter_group",
            "step",
            "equipment_id",
            "move_in_at",
            "track_in_at",
            "started_at",
            "updated_at",
        ],
    ),
    (
        "hold",
        &["hold_reason", "hold_at", "hold_by", "hold_department"],
    ),
    ("remarks", &["hold_comment", "future_hold_comment"]),
];

/// The page's parameters as given (empty values dropped), to write links from.
struct Link<'q> {
    pairs: Vec<(&'static str, &'q str)>,
}

impl<'q> Link<'q> {
    fn read(params: &'q Params<'_>) -> Self {
        let pairs = KEYS
            .iter()
            .filter_map(|&k| {
                params
                    .get(k)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| (k, v))
            })
            .collect();
        Self { pairs }
    }

    fn get(&self, key: &str) -> Option<&'q str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The page with `changes` applied (`None` removes a parameter); page 1 is not written.
    fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for key in KEYS {
            let value = match changes.iter().find(|(k, _)| *k == key) {
                Some((_, v)) => *v,
                None => self.get(key),
            };
            let first_page = key == "page" && value == Some("1");
            if let Some(v) = value.filter(|v| !v.is_empty() && !first_page) {
                out.append_pair(key, v);
            }
        }
        format!("{ROUTE}?{}", out.finish())
    }

    /// The filters and the order as the API takes them, without the paging (a CSV export
    /// holds every matching lot).
    fn api_query(&self, extra: &[(&str, &str)]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if FILTERS.contains(k) || matches!(*k, "sort" | "dir") {
                out.append_pair(k, v);
            }
        }
        for (k, v) in extra {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

#[derive(Serialize)]
struct Card {
    key: &'static str,
    status: &'static str,
    hold_type: &'static str,
    label: String,
    lots: u64,
    quantity: i64,
    active: bool,
    href: String,
}

#[derive(Serialize)]
struct SortLink {
    key: &'static str,
    href: String,
    /// `ascending` / `descending` on the sorted column (its `aria-sort`), else `none`.
    aria: &'static str,
}

#[derive(Serialize)]
struct Chip {
    param: &'static str,
    label: String,
    value: String,
    href: String,
}

#[derive(Serialize)]
struct PanelSection {
    key: &'static str,
    title: String,
    fields: Vec<(&'static str, String)>,
}

/// What the page's script reads from its JSON block.
#[derive(Serialize)]
struct ScriptConfig<'a> {
    api: String,
    lot_api: &'static str,
    csv: String,
    route: &'static str,
    keys: &'static [&'static str],
    api_keys: Vec<&'static str>,
    cards: Vec<(&'static str, &'static str, &'static str)>,
    sortable: Vec<(&'static str, &'static str)>,
    version: &'a str,
    updated_at: String,
    default_page_size: usize,
    max_page_size: usize,
    text: ScriptText,
}

#[derive(Serialize)]
struct ScriptText {
    quality: String,
    non_quality: String,
    page_of: String,
    total: String,
    empty: String,
    lot_gone: String,
    loading: String,
    failed: String,
    quantity: String,
    remove_filter: String,
    no_filters: String,
    /// Each filter parameter's name on the page.
    filters: std::collections::BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct PageContext<'a> {
    detail: DetailPage<'a>,
    /// The page's lots (the detail's own are written only by the API).
    lots: Vec<DetailLot<'a>>,
    cards: Vec<Card>,
    /// By column.
    sorts: std::collections::BTreeMap<&'static str, SortLink>,
    chips: Vec<Chip>,
    prev: Option<String>,
    next: Option<String>,
    page_sizes: Vec<usize>,
    csv: String,
    overview: String,
    updated_at: String,
    panel: Vec<PanelSection>,
    hold_labels: [String; 2],
    config: ScriptConfig<'a>,
}

/// The literal `{name}` in a message, for the script to fill (as `api.js` does).
fn slot(name: &'static str) -> (&'static str, i18n::FluentValue<'static>) {
    (name, i18n::FluentValue::from(format!("{{{name}}}")))
}

async fn page(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = Params::parse(query.as_deref(), true, &OWN)?;
    let workcenter = params
        .get("workcenter")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| {
            AppError::validation(
                "workcenter is required: /wip-detail?workcenter=<id> (the WIP overview's matrix \
                 links to each)",
            )
        })?;
    validate_id("workcenter", workcenter)?;
    let detail_query = DetailQuery::read(&params)?;
    if params
        .get("kiosk")
        .is_some_and(|k| !matches!(k, "" | "0" | "1"))
    {
        return Err(AppError::validation("kiosk must be 1 or 0"));
    }
    let layout = catalog::open_page(&app, &session, &user, ROUTE, lang).await?;
    let served = served(&app).await?;
    let snapshot = &served.snapshot;
    let wc = find_workcenter(snapshot, workcenter)?;
    let found = snapshot.detail(
        wc,
        &detail_query.filter,
        detail_query.sort,
        detail_query.ordered(),
    );
    let mut detail = DetailPage::new(snapshot, wc, &detail_query, &found);
    let lots = std::mem::take(&mut detail.lots);
    let link = Link::read(&params);
    let t = |key: &str| i18n::t(lang, key).into_owned();

    let status = link.get("status").unwrap_or_default();
    let hold_type = link.get("hold_type").unwrap_or_default();
    let cards = CARDS
        .iter()
        .map(|&(key, card_status, card_hold, label)| {
            let tally = match key {
                "run" => detail.cards.run,
                "queue" => detail.cards.queue,
                "quality_hold" => detail.cards.quality_hold,
                _ => detail.cards.non_quality_hold,
            };
            let active = status.eq_ignore_ascii_case(card_status) && hold_type == card_hold;
            let href = if active {
                link.with(&[("status", None), ("hold_type", None), ("page", None)])
            } else {
                link.with(&[
                    ("status", Some(card_status)),
                    ("hold_type", Some(card_hold)),
                    ("page", None),
                ])
            };
            Card {
                key,
                status: card_status,
                hold_type: card_hold,
                label: t(label),
                lots: tally.lots,
                quantity: tally.quantity,
                active,
                href,
            }
        })
        .collect();

    let sorted = detail_query.sort;
    let sorts = SORTABLE
        .iter()
        .map(|&(column, key)| {
            let current = sorted.key == key;
            let dir = if current && !sorted.descending {
                "desc"
            } else {
                "asc"
            };
            let link = SortLink {
                key: key.as_str(),
                href: link.with(&[
                    ("sort", Some(key.as_str())),
                    ("dir", Some(dir)),
                    ("page", None),
                ]),
                aria: match (current, sorted.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            };
            (column, link)
        })
        .collect();

    let chips = FILTERS
        .iter()
        .filter_map(|&name| {
            let value = link.get(name)?;
            Some(Chip {
                param: name,
                label: filter_label(lang, name),
                value: value.to_string(),
                href: link.with(&[(name, None), ("page", None)]),
            })
        })
        .collect();

    let page_no = detail.page;
    let pages = detail.pages;
    let page_text = |n: usize| n.to_string();
    let prev = (page_no > 1).then(|| {
        let p = page_text(page_no.min(pages.max(1) + 1) - 1);
        link.with(&[("page", Some(&p))])
    });
    let next = (page_no < pages).then(|| link.with(&[("page", Some(&page_text(page_no + 1)))]));
    let mut page_sizes = vec![50, DEFAULT_PAGE_SIZE, 200, MAX_PAGE_SIZE];
    if !page_sizes.contains(&detail.page_size) {
        page_sizes.push(detail.page_size);
        page_sizes.sort_unstable();
    }

    let api = format!("/api/wip/detail/{}", detail.workcenter);
    // The CSV holds every matching lot: paging does not apply to it.
    let csv = format!("{api}?{}", link.api_query(&[("format", "csv")]));
    let mut overview = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &link.pairs {
        if FILTERS.contains(k) && !matches!(*k, "status" | "hold_type") {
            overview.append_pair(k, v);
        }
    }
    let overview = format!("/wip-overview?{}", overview.finish());
    let updated_at = iso8601(snapshot.computed_at);

    let panel = PANEL
        .iter()
        .map(|&(key, fields)| PanelSection {
            key,
            title: t(&format!("wipdt-panel-{key}")),
            fields: fields
                .iter()
                .map(|&f| (f, t(&format!("wipdt-field-{}", f.replace('_', "-")))))
                .collect(),
        })
        .collect();

    let fill = |key: &str, slots: &[&'static str]| {
        i18n::t_args(lang, key, &i18n::args(slots.iter().map(|&s| slot(s))))
    };
    let config = ScriptConfig {
        api: api.clone(),
        lot_api: "/api/wip/lot/",
        csv: csv.clone(),
        route: ROUTE,
        keys: &KEYS,
        api_keys: FILTERS
            .iter()
            .chain(&DetailQuery::PARAMS)
            .copied()
            .collect(),
        cards: CARDS.iter().map(|&(k, s, h, _)| (k, s, h)).collect(),
        sortable: SORTABLE.iter().map(|&(c, k)| (c, k.as_str())).collect(),
        version: &snapshot.version,
        updated_at: updated_at.clone(),
        default_page_size: DEFAULT_PAGE_SIZE,
        max_page_size: MAX_PAGE_SIZE,
        text: ScriptText {
            quality: t("wipdt-hold-quality"),
            non_quality: t("wipdt-hold-non-quality"),
            page_of: fill("wipdt-page-of", &["page", "pages"]),
            total: fill("wipdt-total", &["lots", "quantity"]),
            empty: t("wipdt-empty"),
            lot_gone: t("wipdt-lot-gone"),
            loading: t("wipdt-loading"),
            failed: fill("wipdt-failed", &["message"]),
            quantity: fill("wip-quantity", &["qty"]),
            remove_filter: t("wipdt-remove-filter"),
            no_filters: t("wipdt-no-filters"),
            filters: FILTERS
                .iter()
                .map(|&f| (f, filter_label(lang, f)))
                .collect(),
        },
    };
    let context = PageContext {
        hold_labels: [config.text.quality.clone(), config.text.non_quality.clone()],
        detail,
        lots,
        cards,
        sorts,
        chips,
        prev,
        next,
        page_sizes,
        csv,
        overview,
        updated_at,
        panel,
        config,
    };
    templates::render("wip_detail.html", &layout, &context)
}

/// A filter parameter's name on the page.
fn filter_label(lang: Lang, param: &str) -> String {
    i18n::t(lang, &format!("wipdt-filter-{}", param.replace('_', "-"))).into_owned()
}
