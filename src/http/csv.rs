//! CSV export, one piece for every list API (PRODUCT §1): `?format=csv` or `Accept: text/csv`
//! turns the list into a file.
//!
//! - `text/csv; charset=utf-8` with a byte-order mark, so Excel opens Chinese correctly;
//! - the header row in the request's language (catalogue keys, `locales/*/pages.ftl`);
//! - every matching row — a list's paging parameters do not apply — up to
//!   `CSV_EXPORT_MAX_ROWS`; past it the file ends with one line that says it was cut there;
//! - streamed: rows are written in chunks of [`CHUNK_ROWS`] as the client reads, from an
//!   iterator that holds the snapshot it reads from (no copy of the rows is made first);
//! - `Content-Disposition: attachment; filename="<report>_<YYYYMMDD-HHMM>.csv"` in the plant's
//!   time zone (report names are ASCII, so no `filename*` is needed);
//! - formula injection defused: a text cell starting with `=`, `+`, `-`, `@` (or a tab or a
//!   carriage return) gets a leading `'`.
//!
//! Quoting is the `csv` crate's. A list route opts in with [`negotiate`] as a route layer (it
//! takes `format` out of the query before the route's own query parser sees it) and calls
//! [`respond`] when its handler is given [`Export::Csv`].

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::http::AppError;
use crate::i18n::{self, Lang};

/// Rows written per chunk of the body.
pub const CHUNK_ROWS: usize = 500;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the client asked the list for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Export {
    /// The JSON envelope (the default).
    #[default]
    Json,
    Csv,
}

impl<S: Send + Sync> FromRequestParts<S> for Export {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Export>()
            .copied()
            .unwrap_or_default())
    }
}

/// The route layer of a list API (`axum::middleware::from_fn(csv::negotiate)`): reads
/// `format` (`csv` or `json`; anything else is a 400 naming it) and `Accept: text/csv`,
/// removes `format` from the query and leaves the choice in the request's extensions.
pub async fn negotiate(
    mut req: Request,
    next: axum::middleware::Next,
) -> Result<Response, AppError> {
    let accepts_csv = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")));
    let mut export = if accepts_csv {
        Export::Csv
    } else {
        Export::Json
    };
    if let Some(query) = req.uri().query()
        && query.split('&').any(|p| p.starts_with("format="))
    {
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.strip_prefix("format=") {
                Some("csv") => export = Export::Csv,
                Some("json") => export = Export::Json,
                Some(_) => {
                    return Err(AppError::validation(
                        "format: must be csv or json (or send Accept: text/csv)",
                    ));
                }
                None => kept.push(pair),
            }
        }
        *req.uri_mut() = with_query(req.uri(), &kept.join("&"))?;
    }
    req.extensions_mut().insert(export);
    Ok(next.run(req).await)
}

fn with_query(uri: &Uri, query: &str) -> Result<Uri, AppError> {
    let path_and_query = if query.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{query}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().map_err(AppError::internal)?);
    Uri::from_parts(parts).map_err(AppError::internal)
}

/// One cell of a row.
#[derive(Debug, Clone)]
pub enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    /// Written in the plant's time zone, `YYYY-MM-DD HH:MM:SS` (Excel reads it as a time).
    Time(DateTime<Utc>),
    Empty,
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Self {
        Cell::Text(s)
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<i64> for Cell<'_> {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<Option<DateTime<Utc>>> for Cell<'_> {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(Cell::Empty, Cell::Time)
    }
}

/// A text cell as it may go into a spreadsheet: one that a spreadsheet would read as a formula
/// gets a leading `'`.
pub fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// What [`respond`] needs besides the rows.
pub struct CsvFile {
    /// The report's name in the file name: ASCII letters, digits, `_` and `-`.
    pub report: String,
    pub lang: Lang,
    pub time_zone: chrono_tz::Tz,
    pub max_rows: usize,
    /// Catalogue keys of the header row.
    pub columns: &'static [&'static str],
}

/// The rows of an export: [`Rows::write_next`] writes the next row through `cells` and says
/// whether there was one. The implementor owns what it reads (an `Arc` of the snapshot and
/// the positions of the matching rows).
pub trait Rows: Send + 'static {
    fn write_next(&mut self, cells: &mut dyn FnMut(&[Cell<'_>])) -> bool;
}

/// Any `FnMut` that writes one row (or returns false at the end) is a [`Rows`].
impl<F> Rows for F
where
    F: FnMut(&mut dyn FnMut(&[Cell<'_>])) -> bool + Send + 'static,
{
    fn write_next(&mut self, cells: &mut dyn FnMut(&[Cell<'_>])) -> bool {
        self(cells)
    }
}

struct Stream<R> {
    rows: R,
    file: CsvFile,
    written: usize,
    /// The BOM and header are out.
    started: bool,
    done: bool,
}

impl<R: Rows> Stream<R> {
    /// The next chunk of the body, or none at the end.
    fn chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut buffer = Vec::with_capacity(64 * 1024);
        let first = !self.started;
        if first {
            buffer.extend_from_slice(BOM);
        }
        let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(buffer);
        if first {
            self.started = true;
            let header: Vec<String> = self
                .file
                .columns
                .iter()
                .map(|key| i18n::t(self.file.lang, key).into_owned())
                .collect();
            let _ = writer.write_record(&header);
        }
        let zone = self.file.time_zone;
        let mut in_chunk = 0;
        let mut record: Vec<String> = Vec::with_capacity(self.file.columns.len());
        while in_chunk < CHUNK_ROWS {
            if self.written >= self.file.max_rows {
                // One more row would pass the cap: say so if there is one.
                let mut more = false;
                self.rows.write_next(&mut |_| more = true);
                if more {
                    let args = i18n::args([("max", self.file.max_rows as i64)]);
                    let note = i18n::t_args(self.file.lang, "csv-truncated", &args);
                    let _ = writer.write_record([format!("# {note}")]);
                }
                self.done = true;
                break;
            }
            let mut had = false;
            let more = self.rows.write_next(&mut |cells| {
                had = true;
                record.clear();
                record.extend(cells.iter().map(|cell| {
                    match cell {
                        Cell::Text(text) => defuse(text).into_owned(),
                        Cell::Int(n) => n.to_string(),
                        Cell::Time(t) => t
                            .with_timezone(&zone)
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string(),
                        Cell::Empty => String::new(),
                    }
                }));
            });
            if !more || !had {
                self.done = true;
                break;
            }
            let _ = writer.write_record(&record);
            self.written += 1;
            in_chunk += 1;
        }
        let bytes = writer.into_inner().unwrap_or_default();
        if bytes.is_empty() && self.done {
            return None;
        }
        Some(Bytes::from(bytes))
    }
}

/// The CSV response: headers now, rows as the client reads.
pub fn respond<R: Rows>(file: CsvFile, rows: R) -> Response {
    let stamp = crate::timefmt::file_stamp(Utc::now(), file.time_zone);
    let disposition = format!("attachment; filename=\"{}_{stamp}.csv\"", file.report);
    let state = Stream {
        rows,
        file,
        written: 0,
        started: false,
        done: false,
    };
    let body = futures_util::stream::unfold(state, |mut state| async move {
        state
            .chunk()
            .map(|bytes| (Ok::<_, Infallible>(bytes), state))
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["LOT-1", "a=b", "", "批號"] {
            assert_eq!(defuse(fine), fine);
        }
    }

    #[tokio::test]
    async fn a_file_has_a_bom_a_localized_header_quoting_and_a_note_past_the_cap() {
        use http_body_util::BodyExt;
        let data: Vec<(String, i64)> = vec![
            ("=HYPERLINK(\"x\")".into(), -5),
            ("a,b \"quoted\"\nline".into(), 7),
            ("third".into(), 1),
        ];
        let mut at = 0;
        let rows = move |write: &mut dyn FnMut(&[Cell<'_>])| {
            let Some((text, n)) = data.get(at) else {
                return false;
            };
            at += 1;
            write(&[Cell::Text(text), Cell::Int(*n), Cell::Empty]);
            true
        };
        let file = CsvFile {
            report: "test_report".into(),
            lang: Lang::ZhTw,
            time_zone: chrono_tz::Tz::Asia__Taipei,
            max_rows: 2,
            columns: &["col-lot", "col-quantity", "col-reason"],
        };
        let response = respond(file, rows);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        let disposition = response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap();
        assert!(disposition.starts_with("attachment; filename=\"test_report_"));
        assert!(disposition.ends_with(".csv\""));
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(bytes.starts_with(BOM));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(records[0], ["批號", "數量", "原因"]);
        assert_eq!(
            records[1],
            ["'=HYPERLINK(\"x\")", "-5", ""],
            "numbers stay numbers"
        );
        assert_eq!(records[2], ["a,b \"quoted\"\nline", "7", ""]);
        assert_eq!(records.len(), 4, "two rows, then the note: {records:?}");
        assert!(records[3][0].contains("CSV_EXPORT_MAX_ROWS"), "{records:?}");
    }
}
