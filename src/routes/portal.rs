//! `/`: the home page. Three cards, each linking to its report — WIP (lots, pieces, the status
//! donuts, RUN / QUEUE / quality hold / non-quality hold), holds (the quality and non-quality
//! Pareto of hold reasons) and key tools (`home_tools.rs`) — then the report pages the user
//! may open.
//!
//! Everything comes from the in-memory snapshots, never waiting for them: before the WIP or
//! equipment data is first loaded, its card says so and the list of reports still shows.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use minijinja::Value;
use serde::Serialize;

use super::home_tools::{KeyTools, key_tools};
use super::wip_figures::{StatusSplit, markup};
use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::cache::WipSnapshot;
use crate::cache::aggregate::HoldGroup;
use crate::charts::{ChartText, Item, Pareto};
use crate::config::NonQualityReasons;
use crate::http::AppError;
use crate::i18n::{self, Lang};
use crate::routes::catalog;
use crate::session::SessionHandle;
use crate::templates;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

#[derive(Serialize)]
struct Status {
    key: &'static str,
    label: String,
    class: &'static str,
    lots: u64,
    quantity: i64,
}

#[derive(Serialize)]
struct WipCard {
    /// The snapshot's version: the page compares it with each `wip` event's.
    version: String,
    updated_at: String,
    split: StatusSplit,
    statuses: Vec<Status>,
    donut_lots: Value,
    donut_pcs: Value,
}

#[derive(Serialize)]
struct HoldCard {
    lots: u64,
    quantity: i64,
    quality: Value,
    non_quality: Value,
}

/// Which cards the user sees: a card shows only while its report is open to the user (a
/// `dev` page is hidden from non-administrators, its card with it).
#[derive(Serialize)]
struct Cards {
    wip: bool,
    hold: bool,
    tools: bool,
}

#[derive(Serialize)]
struct Home {
    cards: Cards,
    wip: Option<WipCard>,
    hold: Option<HoldCard>,
    tools: Option<KeyTools>,
}

fn wip_card(snapshot: &WipSnapshot, lang: Lang) -> Result<WipCard, AppError> {
    let split = StatusSplit::from_raw(&snapshot.summary).map_err(AppError::internal)?;
    let (donut_lots, donut_pcs) = split.donuts(lang, "home-wip", false);
    Ok(WipCard {
        version: snapshot.version.clone(),
        updated_at: snapshot.updated_at.clone(),
        statuses: split
            .parts()
            .into_iter()
            .map(|(key, label, class, tally)| Status {
                key,
                label: i18n::t(lang, label).into_owned(),
                class,
                lots: tally.lots,
                quantity: tally.quantity,
            })
            .collect(),
        split,
        donut_lots,
        donut_pcs,
    })
}

/// The Pareto of the reasons of one hold type, by lots; a bar opens the reason's detail.
fn pareto(groups: &[&HoldGroup], id: &str, title: &str, lang: Lang) -> Value {
    let t = |key: &str| i18n::t(lang, key).into_owned();
    markup(&Pareto {
        text: ChartText {
            id,
            title,
            desc: "",
            empty: &t("home-no-holds"),
        },
        // Every reason of the type (a plant has about a dozen of each); drawn largest first.
        items: groups
            .iter()
            .map(|g| Item::new(g.key.as_str(), g.lots as f64).filter("reason", g.key.as_str()))
            .collect(),
        marker_80: true,
        category_label: &t("col-reason"),
        value_label: &t("col-lots"),
        cumulative_label: &t("home-cumulative"),
        ..Pareto::default()
    })
}

fn hold_card(snapshot: &WipSnapshot, reasons: &NonQualityReasons, lang: Lang) -> HoldCard {
    let (non_quality, quality): (Vec<&HoldGroup>, Vec<&HoldGroup>) = snapshot
        .hold
        .by_reason
        .iter()
        .partition(|g| reasons.contains(&g.key));
    HoldCard {
        lots: snapshot.hold.total.lots,
        quantity: snapshot.hold.total.quantity,
        quality: pareto(
            &quality,
            "home-pareto-quality",
            &i18n::t(lang, "home-pareto-quality"),
            lang,
        ),
        non_quality: pareto(
            &non_quality,
            "home-pareto-non-quality",
            &i18n::t(lang, "home-pareto-non-quality"),
            lang,
        ),
    }
}

async fn index(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: SessionHandle,
    lang: Lang,
) -> Result<Response, AppError> {
    let layout = catalog::open_page(&app, &session, &user, "/", lang).await?;
    let wip = app.wip.current();
    let reasons = &app.config.holds.non_quality_reasons;
    let listed = |route: &str| {
        layout
            .nav
            .iter()
            .any(|group| group.items.iter().any(|item| item.route == route))
    };
    let cards = Cards {
        wip: listed("/wip-overview"),
        hold: listed("/hold-overview"),
        tools: listed("/resource"),
    };
    let home = Home {
        wip: (cards.wip)
            .then(|| wip.as_deref().map(|s| wip_card(s, lang)))
            .flatten()
            .transpose()?,
        hold: (cards.hold)
            .then(|| wip.as_deref().map(|s| hold_card(s, reasons, lang)))
            .flatten(),
        tools: (cards.tools)
            .then(|| app.equipment.current().map(|s| key_tools(&s, lang)))
            .flatten(),
        cards,
    };
    templates::render("portal.html", &layout, &home)
}
