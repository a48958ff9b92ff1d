//! The direction of dependencies, checked on the source text: routes → domain (cache,
//! equipment, session, health, auth, jobs, hold_history) → db → config. The domain and data code never names the
//! HTTP layer (`crate::http`) or the web framework (`axum`), so it can be reasoned about and
//! tested without either; configuration never names `crate::auth` (it is read before anything
//! else exists). A new `use` that breaks a rule fails this test, naming the file and the line.
//!
//! Comments are not code: a doc comment may say where the HTTP side of a thing lives.

use std::path::{Path, PathBuf};

/// (folder under `src/`, paths it must not name).
const RULES: &[(&str, &[&str])] = &[
    ("db", &["crate::http", "axum"]),
    ("cache", &["crate::http", "axum"]),
    ("equipment", &["crate::http", "axum"]),
    ("session", &["crate::http", "axum"]),
    ("health", &["crate::http", "axum"]),
    ("redis", &["crate::http", "axum"]),
    ("jobs", &["crate::http", "axum"]),
    ("hold_history", &["crate::http", "axum"]),
    ("config", &["crate::http", "axum", "crate::auth"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The line without its `//` comment (a `//` inside a string literal is rare enough in these
/// folders to ignore).
fn code_of(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `code` names `path` (`crate::http`, `axum`): as a whole path prefix, or as a
/// member of a `crate::{…}` group (`use crate::{auth::User, …}`).
fn names(code: &str, path: &str) -> bool {
    let whole = code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        !before.is_some_and(|c| is_ident_char(c) || c == ':') && !after.is_some_and(is_ident_char)
    });
    let grouped = path.strip_prefix("crate::").is_some_and(|member| {
        code.split("crate::{").skip(1).any(|group| {
            group
                .split(|c: char| !is_ident_char(c) && c != ':')
                .any(|token| token == member || token.starts_with(&format!("{member}::")))
        })
    });
    whole || grouped
}

/// Every place in `files` that names one of `forbidden`, as `file:line: text` (a group
/// spread over several lines is reported at its `crate::{` line).
fn violations(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let lines: Vec<&str> = text.lines().map(code_of).collect();
        let code = lines.join("\n");
        for path in forbidden.iter().filter(|path| names(&code, path)) {
            let mut at: Vec<usize> = (0..lines.len())
                .filter(|&n| names(lines[n], path))
                .collect();
            if at.is_empty() {
                at = (0..lines.len())
                    .filter(|&n| lines[n].contains("crate::{"))
                    .collect();
            }
            for n in at {
                found.push(format!(
                    "{}:{}: names {path}: {}",
                    file.display(),
                    n + 1,
                    text.lines().nth(n).unwrap_or("").trim()
                ));
            }
        }
    }
    found
}

#[test]
fn domain_data_and_configuration_code_do_not_depend_on_the_layers_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (folder, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
        assert!(!files.is_empty(), "src/{folder} has no Rust files");
        broken.extend(violations(&files, forbidden));
    }
    assert!(
        broken.is_empty(),
        "dependencies must point routes → domain → db → config:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_check_sees_every_way_of_naming_a_module() {
    for bad in [
        "use crate::http::AppError;",
        "use crate::http;",
        "fn f() -> crate::http::Meta {",
        "use crate::{db, http::envelope};",
        "use crate::{\n    http::AppError,",
        "use axum::http::HeaderMap;",
        "impl axum::response::IntoResponse for X {}",
    ] {
        let path = if bad.contains("axum") {
            "axum"
        } else {
            "crate::http"
        };
        assert!(names(code_of(bad), path), "{bad}");
    }
    for fine in [
        "use crate::db::DbError;",
        "use crate::http_client;",
        "let axumish = 1;",
        "// the HTTP side lives in crate::http",
        "use crate::{db, httpx};",
        "use mycrate::http::X;",
    ] {
        let path = if fine.contains("axum") {
            "axum"
        } else {
            "crate::http"
        };
        assert!(!names(code_of(fine), path), "{fine}");
    }
}
