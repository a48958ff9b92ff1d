//! The SVG writer every chart shares: the root element with its accessible name, escaped text,
//! safe numbers, and the one way a data shape is written (class, hover title, filters).
//!
//! Written by hand rather than with an XML crate: the output is a few element kinds, and what
//! matters here (escaping, no `style`, no NaN, the accessibility attributes) is policy a
//! generic writer would not enforce anyway.

use std::fmt::{self, Display, Write};

use super::model::{ChartText, Filters};

/// A coordinate or size: at most two decimals, never `NaN` or `inf` (written as 0).
#[derive(Clone, Copy)]
pub(crate) struct N(pub f64);

impl Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0.is_finite() {
            (self.0 * 100.0).round() / 100.0
        } else {
            0.0
        };
        if v == 0.0 {
            return f.write_str("0");
        }
        let text = format!("{v:.2}");
        f.write_str(text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// Text for element content or a double-quoted attribute: `& < > " '` as entities, and the
/// control characters XML 1.0 forbids dropped (they would make the document ill-formed).
pub(crate) struct Esc<'s>(pub &'s str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' | '\r' => f.write_char(c)?,
                c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Approximate width of a label in user units at the label font size (11 px in charts.css):
/// a wide (CJK, full-width) character counts as one em, any other as 0.6 em.
pub(crate) fn text_width(text: &str) -> f64 {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> f64 {
    let wide = matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide { 11.0 } else { 6.6 }
}

/// The label cut to `max_width` with an ellipsis; the full text stays in the shape's title.
pub(crate) fn truncate(label: &str, max_width: f64) -> std::borrow::Cow<'_, str> {
    if text_width(label) <= max_width {
        return label.into();
    }
    let mut width = char_width('…');
    let mut out = String::new();
    for c in label.chars() {
        width += char_width(c);
        if width > max_width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out.into()
}

/// `id` restricted to `[A-Za-z0-9_-]` so it needs no escaping and is a valid fragment.
fn clean_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() { "chart".into() } else { id }
}

/// A filter name as the tail of a `data-filter-` attribute: lower-case `[a-z0-9_-]` only.
fn clean_filter_name(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = c.to_ascii_lowercase();
            (c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_').then_some(c)
        })
        .collect()
}

/// One SVG document under construction.
pub(crate) struct Doc {
    out: String,
    id: String,
}

impl Doc {
    /// Opens `<svg>` with a fixed internal coordinate system (`width × height`) scaled to the
    /// container's width. A chart with clickable shapes is a `group` rather than an `img`: an
    /// `img` makes its children presentational, which would hide the buttons from assistive
    /// technology.
    pub fn open(kind: &str, text: &ChartText, width: f64, height: f64, interactive: bool) -> Doc {
        let id = clean_id(text.id);
        let mut out = String::with_capacity(4096);
        let role = if interactive { "group" } else { "img" };
        let described = if text.desc.is_empty() {
            String::new()
        } else {
            format!(" {id}-desc")
        };
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-kind-{kind}" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="{role}" aria-labelledby="{id}-title{described}"><title id="{id}-title">{title}</title>"#,
            w = N(width),
            h = N(height),
            title = Esc(text.title),
        );
        if !text.desc.is_empty() {
            let _ = write!(out, r#"<desc id="{id}-desc">{}</desc>"#, Esc(text.desc));
        }
        Doc { out, id }
    }

    /// The whole chart replaced by the caller's empty-state text.
    pub fn empty(kind: &str, text: &ChartText, width: f64, height: f64) -> String {
        let mut doc = Doc::open(kind, text, width, height, false);
        doc.text(
            width / 2.0,
            height / 2.0,
            "chart-empty",
            "middle",
            text.empty,
        );
        doc.finish()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }

    /// Raw markup the chart composed itself from `N` numbers and constant names only.
    pub fn raw(&mut self, markup: fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(markup);
    }

    pub fn text(&mut self, x: f64, y: f64, class: &str, anchor: &str, content: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" class="{}" text-anchor="{anchor}">{}</text>"#,
            N(x),
            N(y),
            Esc(class),
            Esc(content)
        );
    }

    /// A label cut to `max_width`; when cut, the full text is its title (shown on hover).
    pub fn label(&mut self, x: f64, y: f64, class: &str, anchor: &str, full: &str, max_width: f64) {
        let shown = truncate(full, max_width);
        if matches!(shown, std::borrow::Cow::Borrowed(_)) {
            self.text(x, y, class, anchor, full);
        } else {
            let _ = write!(
                self.out,
                r#"<text x="{}" y="{}" class="{}" text-anchor="{anchor}"><title>{}</title>{}</text>"#,
                N(x),
                N(y),
                Esc(class),
                Esc(full),
                Esc(&shown)
            );
        }
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), class: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}"/>"#,
            N(x1),
            N(y1),
            N(x2),
            N(y2),
            Esc(class)
        );
    }

    /// A data shape: `<tag geometry class=…>` with its own hover `<title>` ("label: value")
    /// and, when it has filters, the clickable class, `data-filter-*`, focus and button role.
    pub fn mark(
        &mut self,
        tag: &str,
        geometry: fmt::Arguments<'_>,
        class: &str,
        title: &str,
        filters: &[&Filters],
    ) {
        let clickable = filters.iter().any(|f| !f.is_empty());
        let _ = write!(self.out, "<{tag} ");
        let _ = self.out.write_fmt(geometry);
        let _ = write!(self.out, r#" class="chart-mark {}"#, Esc(class));
        if clickable {
            self.out
                .push_str(r#" chart-link" tabindex="0" role="button"#);
        }
        self.out.push('"');
        // The first pair of a name wins: a repeated attribute would make the XML ill-formed.
        let mut written: Vec<String> = Vec::new();
        for (name, value) in filters.iter().flat_map(|f| f.iter()) {
            let name = clean_filter_name(name);
            if !name.is_empty() && !written.contains(&name) {
                let _ = write!(self.out, r#" data-filter-{name}="{}""#, Esc(value));
                written.push(name);
            }
        }
        let _ = write!(self.out, "><title>{}</title></{tag}>", Esc(title));
    }
}

/// "label: value", the hover text of every shape.
pub(crate) fn hover(label: &str, value: &str) -> String {
    format!("{label}: {value}")
}
