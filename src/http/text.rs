//! Text parameters are UTF-8 without NUL, wherever they come from (query, path, form, JSON).
//!
//! PostgreSQL refuses a NUL in a text value, so one that reached a query came back as a
//! database error (500); an invalid UTF-8 sequence in a query string or form was silently
//! replaced by U+FFFD. Both are the client's mistake: 400 `VALIDATION_ERROR` naming the
//! parameter, before any handler runs. The extractors in [`super::extract`] call these.

use std::sync::LazyLock;

use memchr::memmem;
use percent_encoding::percent_decode;

use super::AppError;

/// A parameter name for a message: at most 60 printable characters.
fn printable(name: &[u8]) -> String {
    String::from_utf8_lossy(name)
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect()
}

/// Checks every name and value of an `application/x-www-form-urlencoded` text (a query string
/// or a form body); `what` names the kind ("query parameter", "form field").
pub fn check_urlencoded(raw: &[u8], what: &str) -> Result<(), AppError> {
    if !raw.contains(&b'%') && !raw.contains(&0) && std::str::from_utf8(raw).is_ok() {
        return Ok(());
    }
    for pair in raw.split(|b| *b == b'&') {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = halves.next().unwrap_or_default();
        let value = halves.next().unwrap_or_default();
        let shown = percent_decode(name).collect::<Vec<u8>>();
        for part in [name, value] {
            let decoded: Vec<u8> = percent_decode(part).collect();
            if std::str::from_utf8(&decoded).is_err() {
                return Err(AppError::validation(format!(
                    "{what} `{}`: not valid UTF-8 text",
                    printable(&shown)
                )));
            }
            if decoded.contains(&0) {
                return Err(AppError::validation(format!(
                    "{what} `{}`: contains a NUL character, which no text accepts",
                    printable(&shown)
                )));
            }
        }
    }
    Ok(())
}

/// Checks that no string (or object key) of a JSON body holds a NUL. Invalid UTF-8 is already
/// a JSON syntax error.
pub fn check_json(body: &[u8]) -> Result<(), AppError> {
    // Fast path: a NUL can only be written `\u0000` (a raw one is a syntax error). The
    // searcher is built once: `memmem::find` builds one per call, which cost more than the
    // search of a small body.
    static NUL_ESCAPE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\\u0000"));
    if NUL_ESCAPE.find(body).is_none() {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        // The typed parse reports the syntax error.
        return Ok(());
    };
    match nul_path(&value, String::new()) {
        Some(path) => Err(AppError::validation(format!(
            "JSON field `{path}`: contains a NUL character, which no text accepts"
        ))),
        None => Ok(()),
    }
}

/// The path (`a.b[2]`) of the first string or key holding a NUL.
fn nul_path(value: &serde_json::Value, here: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(if here.is_empty() {
            "(body)".into()
        } else {
            here
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{here}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if here.is_empty() {
                printable(k.as_bytes())
            } else {
                format!("{here}.{}", printable(k.as_bytes()))
            };
            if k.contains('\0') {
                Some(path)
            } else {
                nul_path(v, path)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), AppError>) -> String {
        result.expect_err("refused").public_message()
    }

    #[test]
    fn urlencoded_text_must_be_utf8_without_nul() {
        assert!(check_urlencoded(b"status=RUN&package=P%20A", "query parameter").is_ok());
        assert!(check_urlencoded("name=caf%C3%A9&x=é".as_bytes(), "query parameter").is_ok());
        let m = message(check_urlencoded(b"status=R%00N", "query parameter"));
        assert!(
            m.contains("query parameter `status`") && m.contains("NUL"),
            "{m}"
        );
        let m = message(check_urlencoded(b"a=1&package=%FF%FE", "form field"));
        assert!(
            m.contains("form field `package`") && m.contains("UTF-8"),
            "{m}"
        );
        let m = message(check_urlencoded(b"na%00me=1", "query parameter"));
        assert!(m.contains("NUL"), "{m}");
    }

    #[test]
    fn json_strings_and_keys_must_not_hold_nul() {
        assert!(check_json(br#"{"lot_ids":["A","B"]}"#).is_ok());
        assert!(check_json(br#"{"text":"\\u0000 is only text here"}"#).is_ok());
        let m = message(check_json(br#"{"lot_ids":["A","B\u0000"]}"#));
        assert!(m.contains("`lot_ids[1]`"), "{m}");
        let m = message(check_json(br#"{"a":{"b\u0000":1}}"#));
        assert!(m.contains("`a.b"), "{m}");
    }
}
