//! Static files (CSS, JavaScript, the favicon), embedded in the binary from `static/` and
//! served under content-hashed names (PRODUCT §1: everything from the binary, no CDN).
//!
//! `css/app.css` is served as `/static/css/app.3f2a9c1e.css`: the eight hex digits are the
//! start of the file's SHA-256, so a changed file gets a new URL and every URL can be cached
//! for a year as immutable. Templates get the URL through the `asset("css/app.css")` function
//! (see [`crate::templates`]); a name that is not in [`FILES`] is a template error, caught by
//! the test that renders every page. The HTTP side is `routes/assets.rs`.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Every static file, embedded at compile time (path under `static/`, bytes). A test checks
/// the list against the folder so a new file cannot be forgotten.
pub const FILES: &[(&str, &[u8])] = &[
    ("css/app.css", include_bytes!("../static/css/app.css")),
    ("css/charts.css", include_bytes!("../static/css/charts.css")),
    ("favicon.svg", include_bytes!("../static/favicon.svg")),
    ("js/api.js", include_bytes!("../static/js/api.js")),
    ("js/live.js", include_bytes!("../static/js/live.js")),
    ("js/jobs.js", include_bytes!("../static/js/jobs.js")),
    (
        "js/pages/error.js",
        include_bytes!("../static/js/pages/error.js"),
    ),
    (
        "js/pages/qc_gate.js",
        include_bytes!("../static/js/pages/qc_gate.js"),
    ),
    (
        "js/pages/home.js",
        include_bytes!("../static/js/pages/home.js"),
    ),
    (
        "js/pages/hold_history.js",
        include_bytes!("../static/js/pages/hold_history.js"),
    ),
    (
        "js/pages/hold.js",
        include_bytes!("../static/js/pages/hold.js"),
    ),
    (
        "js/pages/job_query.js",
        include_bytes!("../static/js/pages/job_query.js"),
    ),
    (
        "js/pages/resource.js",
        include_bytes!("../static/js/pages/resource.js"),
    ),
    (
        "js/pages/resource_history.js",
        include_bytes!("../static/js/pages/resource_history.js"),
    ),
    (
        "js/pages/wip_detail.js",
        include_bytes!("../static/js/pages/wip_detail.js"),
    ),
    (
        "js/pages/wip_overview.js",
        include_bytes!("../static/js/pages/wip_overview.js"),
    ),
];

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path under `static/`: `css/app.css`.
    pub path: &'static str,
    /// The URL it is served at: `/static/css/app.3f2a9c1e.css`.
    pub url: String,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// A strong validator: the quoted start of the SHA-256.
    pub etag: String,
}

struct Table {
    assets: Vec<Asset>,
    /// Source path → index.
    by_path: HashMap<&'static str, usize>,
    /// URL → index.
    by_url: HashMap<String, usize>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let assets: Vec<Asset> = FILES
        .iter()
        .map(|(path, bytes)| {
            let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
            let hex: String = digest.as_ref()[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let short = &hex[..8];
            let url = match path.rsplit_once('.') {
                Some((stem, ext)) => format!("/static/{stem}.{short}.{ext}"),
                None => format!("/static/{path}.{short}"),
            };
            Asset {
                path,
                url,
                bytes,
                content_type: content_type(path),
                etag: format!("\"{hex}\""),
            }
        })
        .collect();
    let by_path = assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.path, i))
        .collect();
    let by_url = assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.url.clone(), i))
        .collect();
    Table {
        assets,
        by_path,
        by_url,
    }
});

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The file at `path` under `static/` (`css/app.css`).
pub fn by_path(path: &str) -> Option<&'static Asset> {
    TABLE.by_path.get(path).map(|&i| &TABLE.assets[i])
}

/// The file served at `url` (`/static/css/app.3f2a9c1e.css`); an unhashed or stale name is
/// not found.
pub fn by_url(url: &str) -> Option<&'static Asset> {
    TABLE.by_url.get(url).map(|&i| &TABLE.assets[i])
}

/// The hashed URL of `path`, for templates.
pub fn url(path: &str) -> Option<&'static str> {
    by_path(path).map(|a| a.url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_static_is_listed_and_has_a_hashed_url() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let rel = path.strip_prefix(&root).unwrap();
                    on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(
            on_disk, listed,
            "every file in static/ must be listed in FILES"
        );

        let app = by_path("js/api.js").unwrap();
        let (stem, rest) = app.url.rsplit_once("/api.").unwrap();
        assert_eq!(stem, "/static/js");
        let (hash, ext) = rest.split_once('.').unwrap();
        assert_eq!(ext, "js");
        assert!(hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(app.etag.starts_with(&format!("\"{hash}")));
        assert_eq!(by_url(&app.url).unwrap().path, "js/api.js");
        assert!(
            by_url("/static/js/api.js").is_none(),
            "unhashed names are unknown"
        );
        assert_eq!(app.content_type, "text/javascript; charset=utf-8");
    }
}
