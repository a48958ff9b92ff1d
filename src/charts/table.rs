//! The text equivalent of a chart: an HTML table of its data for screen readers (and for
//! anyone who copies the numbers), hidden visually by the `visually-hidden` class.

use std::fmt::Write;

use super::svg::Esc;

pub(crate) struct Table {
    out: String,
    columns: usize,
    rows: usize,
}

impl Table {
    /// `heads` are the column headings, the first one over the row headings.
    pub fn new(caption: &str, heads: &[&str]) -> Table {
        let mut out = String::with_capacity(1024);
        let _ = write!(
            out,
            r#"<table class="chart-table visually-hidden"><caption>{}</caption><thead><tr>"#,
            Esc(caption)
        );
        for head in heads {
            let _ = write!(out, r#"<th scope="col">{}</th>"#, Esc(head));
        }
        out.push_str("</tr></thead><tbody>");
        Table {
            out,
            columns: heads.len().max(1),
            rows: 0,
        }
    }

    pub fn row(&mut self, head: &str, cells: &[String]) {
        let _ = write!(self.out, r#"<tr><th scope="row">{}</th>"#, Esc(head));
        for cell in cells {
            let _ = write!(self.out, "<td>{}</td>", Esc(cell));
        }
        self.out.push_str("</tr>");
        self.rows += 1;
    }

    /// Closes the table; with no rows, one row carries the caller's empty-state text.
    pub fn finish(mut self, empty: &str) -> String {
        if self.rows == 0 {
            let _ = write!(
                self.out,
                r#"<tr><td colspan="{}">{}</td></tr>"#,
                self.columns,
                Esc(empty)
            );
        }
        self.out.push_str("</tbody></table>");
        self.out
    }
}
