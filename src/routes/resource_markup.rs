//! The `/resource` page's large blocks written by hand as HTML: the status matrix (a row per
//! tool), the tool list of the filter form and the charts (OU ring per workcenter group, OU
//! heatmap). Through the template engine these cost several milliseconds with 500 tools (a
//! loop, seven cells, an escape and a time-zone conversion per tool); written here into one
//! string they cost a small fraction of it, and the page stays complete without script.
//!
//! Every text that comes from the data is escaped by [`esc`]; the chart markup is the charts
//! module's own (which escapes its labels). The charts block is also what
//! `GET /api/resource/status/charts` answers, so the page's live redraw swaps in the same
//! markup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use chrono::{DateTime, Offset, TimeZone, Utc};

use crate::charts::{Category, Chart, ChartText, Heatmap, Item, Ring};
use crate::equipment::aggregate::{Counted, Matrix, ou_grid};
use crate::equipment::{E10_STATES, EquipmentSnapshot, StatusFilter, ToolSet};
use crate::i18n::{self, Lang};
use crate::routes::resource_params::to_pairs;
use crate::timefmt::{format_decimal, group_thousands};

/// Appends `text` escaped for element content and double-quoted attributes.
pub fn esc(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// `2026-12-06 14:05:09` in `zone`, as the templates' `|when` writes it.
pub fn plant_time(out: &mut String, t: DateTime<Utc>, zone: chrono_tz::Tz) {
    let offset = zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    let local = t.timestamp_micros() + i64::from(offset.local_minus_utc()) * 1_000_000;
    match crate::timefmt::Stamp::new(local, b' ', false) {
        Some(stamp) => out.push_str(stamp.as_str()),
        None => {
            let local = t.naive_utc() + offset;
            out.push_str(&local.format("%Y-%m-%d %H:%M:%S").to_string());
        }
    }
}

/// `/resource?…` links of the matrix: the page's filters with the node's replaced, then the
/// state (the same as `resource_page::href(filter, [node…, ("state", s)])`, the node's part
/// encoded once for its six cells).
struct Links {
    pairs: Vec<(&'static str, String)>,
}

impl Links {
    fn new(filter: &StatusFilter) -> Self {
        Self {
            pairs: to_pairs(filter),
        }
    }

    /// The query of a node (`set`), without the state; empty when no filter remains.
    fn node(&self, set: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            if name != &"state" && !set.iter().any(|(n, _)| n == name) {
                query.append_pair(name, value);
            }
        }
        for (name, value) in set {
            query.append_pair(name, value);
        }
        query.finish()
    }
}

/// The `<span>` cells of one summary row: a count per state, a link where it filters.
fn cells(out: &mut String, counted: &Counted, node: Option<&str>) {
    for state in E10_STATES {
        let count = counted.counts.get(state);
        out.push_str("<span data-mcell=\"");
        out.push_str(state);
        out.push_str("\">");
        match node {
            Some(query) if count > 0 => {
                out.push_str("<a href=\"/resource?");
                esc(out, query);
                if !query.is_empty() {
                    out.push_str("&amp;");
                }
                out.push_str("state=");
                out.push_str(state);
                out.push_str("\">");
                out.push_str(&group_thousands(count as i64));
                out.push_str("</a>");
            }
            _ => out.push_str(&group_thousands(count as i64)),
        }
        out.push_str("</span>");
    }
    out.push_str("<span>");
    out.push_str(&group_thousands(counted.total as i64));
    out.push_str("</span><span>");
    match counted.ou_pct {
        Some(pct) => out.push_str(&format_decimal(pct, 1)),
        None => out.push('—'),
    }
    out.push_str("</span>");
}

/// The status matrix's groups (closed `<details>`), their families and each family's tools
/// (a row per tool: its state marked, its reason and since when), in the snapshot's order.
pub fn matrix(
    snapshot: &EquipmentSnapshot,
    set: &ToolSet,
    matrix: &Matrix<'_>,
    filter: &StatusFilter,
    lang: Lang,
    zone: chrono_tz::Tz,
) -> String {
    let t = |key: &str| i18n::t(lang, key);
    let none = t("res-none");
    let tools = &snapshot.tools;
    let mut by_node: HashMap<(Option<&str>, Option<&str>), Vec<usize>> = HashMap::new();
    for i in set.iter() {
        let tool = &tools[i];
        by_node
            .entry((tool.workcenter_group.as_deref(), tool.family.as_deref()))
            .or_default()
            .push(i);
    }
    let mut head = String::from("<thead><tr><th>");
    esc(&mut head, &t("col-tool"));
    head.push_str("</th>");
    for s in E10_STATES {
        head.push_str("<th>");
        head.push_str(s);
        head.push_str("</th>");
    }
    head.push_str("<th>");
    esc(&mut head, &t("col-reason"));
    head.push_str("</th><th>");
    esc(&mut head, &t("col-since"));
    head.push_str("</th></tr></thead>");

    let links = Links::new(filter);
    let mut out = String::with_capacity(512 + set.count() * 400);
    for g in &matrix.groups {
        out.push_str("<details class=\"res-group\" data-group=\"");
        esc(&mut out, g.group.unwrap_or_default());
        out.push_str("\"><summary class=\"res-mrow\"><span>");
        esc(&mut out, g.group.unwrap_or(&none));
        out.push_str("</span>");
        let node = g.group.map(|g| links.node(&[("workcenter_group", g)]));
        cells(&mut out, &g.counted, node.as_deref());
        out.push_str("</summary>");
        for f in &g.families {
            out.push_str("<details class=\"res-family\" data-family=\"");
            esc(&mut out, f.family.unwrap_or_default());
            out.push_str("\"><summary class=\"res-mrow\"><span>");
            esc(&mut out, f.family.unwrap_or(&none));
            out.push_str("</span>");
            let node = match (g.group, f.family) {
                (Some(group), Some(family)) => {
                    Some(links.node(&[("workcenter_group", group), ("family", family)]))
                }
                _ => None,
            };
            cells(&mut out, &f.counted, node.as_deref());
            out.push_str("</summary><table class=\"res-tools\">");
            out.push_str(&head);
            out.push_str("<tbody>");
            for &i in by_node
                .get(&(g.group, f.family))
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                tool_row(&mut out, &tools[i], zone);
            }
            out.push_str("</tbody></table></details>");
        }
        out.push_str("</details>");
    }
    if matrix.groups.is_empty() {
        out.push_str("<p class=\"muted\">");
        esc(&mut out, &t("res-no-data"));
        out.push_str("</p>");
    }
    out
}

fn tool_row(out: &mut String, tool: &crate::equipment::ToolStatus, zone: chrono_tz::Tz) {
    out.push_str("<tr data-tool=\"");
    esc(out, &tool.equipment_id);
    out.push_str("\" data-state=\"");
    esc(out, &tool.e10_state);
    out.push_str("\"><td>");
    esc(out, &tool.equipment_id);
    out.push_str("</td>");
    for s in E10_STATES {
        out.push_str("<td data-tcell=\"");
        out.push_str(s);
        if s == tool.e10_state {
            out.push_str("\" class=\"state state-");
            out.push_str(s);
            out.push_str("\">");
            out.push_str(s);
            out.push_str("</td>");
        } else {
            out.push_str("\"></td>");
        }
    }
    out.push_str("<td data-reason>");
    esc(out, tool.state_reason.as_deref().unwrap_or_default());
    out.push_str("</td><td class=\"muted\" data-since>");
    plant_time(out, tool.state_since, zone);
    out.push_str("</td></tr>");
}

/// The `<option>`s of the tool field's `<datalist>`.
pub fn tool_options(ids: &[&str]) -> String {
    let mut out = String::with_capacity(ids.len() * 28);
    for id in ids {
        out.push_str("<option value=\"");
        esc(&mut out, id);
        out.push_str("\"></option>");
    }
    out
}

fn pct_or_nan(p: Option<f64>) -> f64 {
    p.unwrap_or(f64::NAN)
}

/// The charts block: a card of OU rings (one per workcenter group, `data-ring` = the group)
/// and a card with the OU heatmap workcenter × package group, of the tools in `set`.
pub fn charts(
    snapshot: &EquipmentSnapshot,
    set: &ToolSet,
    matrix: &Matrix<'_>,
    lang: Lang,
) -> String {
    let t = |key: &str| i18n::t(lang, key).into_owned();
    let empty = t("res-no-data");
    let col_group = t("res-col-group");
    let ou_label = t("res-ou");
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<div class=\"card res-rings\"><h2>");
    esc(&mut out, &t("res-rings-title"));
    out.push_str("</h2><div class=\"res-ring-row\">");
    for (n, g) in matrix.groups.iter().enumerate() {
        let label = g.group.map(str::to_string).unwrap_or_else(|| t("res-none"));
        let id = format!("ring-{n}");
        let title = i18n::t_args(
            lang,
            "res-ring-title",
            &i18n::args([("group", label.as_str())]),
        );
        let mut item = Item::new(label.clone(), pct_or_nan(g.counted.ou_pct));
        if let Some(group) = g.group {
            item = item.filter("workcenter_group", group);
        }
        let ring = Ring {
            text: ChartText {
                id: &id,
                title: &title,
                desc: "",
                empty: &empty,
            },
            item,
            category_label: &col_group,
            value_label: &ou_label,
            ..Ring::default()
        };
        out.push_str("<div class=\"res-ring\" data-ring=\"");
        esc(&mut out, g.group.unwrap_or_default());
        out.push_str("\">");
        out.push_str(&ring.svg());
        out.push_str(&ring.table());
        out.push_str("</div>");
    }
    if matrix.groups.is_empty() {
        out.push_str("<p class=\"muted\">");
        esc(&mut out, &empty);
        out.push_str("</p>");
    }
    out.push_str("</div></div><div class=\"card res-heatmap\"><h2>");
    let heat_title = t("res-heatmap-title");
    esc(&mut out, &heat_title);
    out.push_str("</h2>");
    let grid = ou_grid(&snapshot.tools, snapshot.layout(), set.iter());
    if grid.rows.is_empty() || grid.columns.is_empty() {
        out.push_str("<p class=\"muted\">");
        esc(&mut out, &empty);
        out.push_str("</p>");
    } else {
        let row_label = t("col-workcenter");
        let map = Heatmap {
            text: ChartText {
                id: "ou-heatmap",
                title: &heat_title,
                desc: "",
                empty: &empty,
            },
            rows: grid
                .rows
                .iter()
                .map(|(id, name)| Category::new(*name).filter("workcenter", *id))
                .collect(),
            columns: grid
                .columns
                .iter()
                .map(|c| Category::new(*c).filter("package_group", *c))
                .collect(),
            values: grid
                .values
                .iter()
                .map(|r| r.iter().map(|v| pct_or_nan(*v)).collect())
                .collect(),
            range: Some((0.0, 100.0)),
            cell_labels: true,
            row_label: &row_label,
            format: crate::charts::Format::Percent,
        };
        out.push_str(&map.svg());
        out.push_str(&map.table());
    }
    out.push_str("</div>");
    out
}

/// The charts block of `filter`'s tools (what the page shows and the content API answers).
pub fn charts_of(snapshot: &Arc<EquipmentSnapshot>, filter: &StatusFilter, lang: Lang) -> String {
    if filter.is_empty() {
        // The fleet's charts do not depend on the zone: any zone's memo has them.
        return unfiltered(snapshot, lang, chrono_tz::UTC).charts.clone();
    }
    let set = snapshot.select(filter);
    let matrix = snapshot.layout().matrix(set.iter());
    charts(snapshot, &set, &matrix, lang)
}

/// The page's two large blocks for the whole fleet.
pub struct Blocks {
    pub charts: String,
    pub matrix: String,
}

/// The blocks written for the current snapshot: (snapshot, language, zone, blocks). The
/// `Weak` keeps the snapshot's allocation, so its address is not reused while it is a key.
type Memo = Vec<(Weak<EquipmentSnapshot>, Lang, chrono_tz::Tz, Arc<Blocks>)>;
static UNFILTERED: Mutex<Memo> = Mutex::new(Vec::new());

/// The charts and the matrix of the whole fleet for `snapshot`, written once per snapshot,
/// language and zone and shared. Most views of `/resource` (and every live chart redraw of an
/// unfiltered page) ask for the whole fleet, and the snapshot changes only when a tool does;
/// these two blocks were 60 % of the page's instructions (callgrind, 500 tools: charts 38 %,
/// matrix 21 % of 6.6 M per page).
pub fn unfiltered(
    snapshot: &Arc<EquipmentSnapshot>,
    lang: Lang,
    zone: chrono_tz::Tz,
) -> Arc<Blocks> {
    let key = Arc::as_ptr(snapshot);
    let lock = || UNFILTERED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((.., blocks)) = lock()
        .iter()
        .find(|(s, l, z, _)| std::ptr::eq(s.as_ptr(), key) && *l == lang && *z == zone)
    {
        return blocks.clone();
    }
    // Written outside the lock: two requests may both write them once.
    let all = StatusFilter::default();
    let set = snapshot.select(&all);
    let counted = snapshot.layout().matrix(set.iter());
    let blocks = Arc::new(Blocks {
        charts: charts(snapshot, &set, &counted, lang),
        matrix: matrix(snapshot, &set, &counted, &all, lang, zone),
    });
    let mut memo = lock();
    memo.retain(|(s, ..)| std::ptr::eq(s.as_ptr(), key));
    memo.push((Arc::downgrade(snapshot), lang, zone, blocks.clone()));
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        let mut out = String::new();
        esc(&mut out, "a<b>&\"c\"'d' 中文");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; 中文");
    }

    #[test]
    fn plant_times_read_as_the_templates_write_them() {
        let t = DateTime::from_timestamp(1_765_000_123, 456_000_000).unwrap();
        for zone in [chrono_tz::Tz::Asia__Taipei, chrono_tz::Tz::Europe__Berlin] {
            let mut out = String::new();
            plant_time(&mut out, t, zone);
            let want = crate::timefmt::plant_time(&crate::timefmt::iso8601(t), zone).unwrap();
            assert_eq!(out, want);
        }
    }
}
