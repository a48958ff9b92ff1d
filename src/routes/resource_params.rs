//! The query parameters of the resource status APIs and the `/resource` page: read from the
//! raw pairs (a parameter may repeat; its values add up), validated, each problem a 400
//! naming its parameter.
//!
//! `workcenter_group`, `location`, `family`, `tool`, `package_group`: comma lists of values
//! (a value the fleet does not have matches nothing); `production`, `key`, `monitored`:
//! `true` or `false`; `state`: E10 states; `workcenter`: one workcenter id; `limit` where the
//! route takes one.

use crate::equipment::{E10_STATES, Field, StatusFilter};
use crate::http::AppError;

/// Longest value accepted (characters).
const VALUE_MAX: usize = 100;
/// Most values in one list.
const VALUES_MAX: usize = 500;
/// `limit` of the open-jobs list.
pub const LIMIT_DEFAULT: usize = 10;
pub const LIMIT_MAX: usize = 100;

/// A validated request.
#[derive(Debug, Default, PartialEq)]
pub struct Params {
    pub filter: StatusFilter,
    /// `Some` only where allowed.
    pub limit: Option<usize>,
}

/// What else a route accepts beside the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Only the filters.
    Filters,
    /// The filters and `limit`.
    WithLimit,
    /// A page: parameters of the page platform (`lang`, `kiosk`, …) are ignored.
    Page,
}

pub fn parse(pairs: &[(String, String)], accept: Accept) -> Result<Params, AppError> {
    let mut params = Params::default();
    for (name, value) in pairs {
        let name = name.as_str();
        if let Some(field) = Field::ALL.iter().copied().find(|f| f.name() == name) {
            let values = if field.is_flag() {
                flags(name, value)?
            } else {
                list(name, value)?
            };
            match params.filter.fields.iter_mut().find(|(f, _)| *f == field) {
                Some((_, known)) => {
                    for v in values {
                        if !known.contains(&v) {
                            known.push(v);
                        }
                    }
                    if known.len() > VALUES_MAX {
                        return Err(too_many(name));
                    }
                }
                None => params.filter.fields.push((field, values)),
            }
            continue;
        }
        match name {
            "state" => {
                for state in value.split(',') {
                    let state = state.trim().to_ascii_uppercase();
                    if !E10_STATES.contains(&state.as_str()) {
                        return Err(AppError::validation(format!(
                            "state: {:?} is not an E10 state; use {} (comma-separated for several)",
                            truncate(&state),
                            E10_STATES.join(", ")
                        )));
                    }
                    if !params.filter.states.contains(&state) {
                        params.filter.states.push(state);
                    }
                }
            }
            "workcenter" => {
                validate_workcenter(value)?;
                params.filter.workcenter = Some(value.clone());
            }
            "limit" if accept == Accept::WithLimit => {
                let limit = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=LIMIT_MAX).contains(n))
                    .ok_or_else(|| {
                        AppError::validation(format!("limit: a whole number from 1 to {LIMIT_MAX}"))
                    })?;
                params.limit = Some(limit);
            }
            _ if accept == Accept::Page => {}
            other => {
                return Err(AppError::validation(format!(
                    "{}: unknown parameter; use workcenter_group, location, family, tool, \
                     package_group, production, key, monitored, state, workcenter{}",
                    truncate(other),
                    if accept == Accept::WithLimit {
                        ", limit"
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    if accept == Accept::WithLimit && params.limit.is_none() {
        params.limit = Some(LIMIT_DEFAULT);
    }
    Ok(params)
}

/// A comma list of plain values: none empty, none too long, no control character.
fn list(name: &str, raw: &str) -> Result<Vec<String>, AppError> {
    let mut values: Vec<String> = Vec::new();
    for value in raw.split(',') {
        let value = value.trim();
        if value.is_empty() {
            return Err(AppError::validation(format!(
                "{name}: an empty value; give one value or several, comma-separated"
            )));
        }
        if value.chars().count() > VALUE_MAX || value.chars().any(char::is_control) {
            return Err(AppError::validation(format!(
                "{name}: each value at most {VALUE_MAX} characters, without control characters"
            )));
        }
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    if values.len() > VALUES_MAX {
        return Err(too_many(name));
    }
    Ok(values)
}

fn flags(name: &str, raw: &str) -> Result<Vec<String>, AppError> {
    let mut values: Vec<String> = Vec::new();
    for value in raw.split(',') {
        let value = value.trim().to_ascii_lowercase();
        if value != "true" && value != "false" {
            return Err(AppError::validation(format!(
                "{name}: {:?} is not a flag value; use true or false",
                truncate(&value)
            )));
        }
        if !values.contains(&value) {
            values.push(value);
        }
    }
    Ok(values)
}

fn too_many(name: &str) -> AppError {
    AppError::validation(format!("{name}: at most {VALUES_MAX} values"))
}

/// A workcenter id: 1 to 32 letters, digits, '-' or '_'.
fn validate_workcenter(wc: &str) -> Result<(), AppError> {
    let plain = !wc.is_empty()
        && wc.len() <= 32
        && wc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(AppError::validation(
            "workcenter: 1 to 32 letters, digits, '-' or '_'",
        ))
    }
}

/// Echoing user input in a message: at most a few characters of it.
fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

/// The filter as query pairs (the page's links and the API URLs its script calls), in a
/// stable order: workcenter, states, then the fields.
pub fn to_pairs(filter: &StatusFilter) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(wc) = &filter.workcenter {
        pairs.push(("workcenter", wc.clone()));
    }
    if !filter.states.is_empty() {
        pairs.push(("state", filter.states.join(",")));
    }
    for field in Field::ALL {
        if let Some(values) = filter.values(field) {
            pairs.push((field.name(), values.join(",")));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn lists_and_flags_are_read_merged_and_deduplicated() {
        let p = parse(
            &pairs("family=A,%20B&family=B,C&production=TRUE&key=true,false&state=udt,SDT,UDT"),
            Accept::Filters,
        )
        .unwrap();
        assert_eq!(p.filter.values(Field::Family).unwrap(), ["A", "B", "C"]);
        assert_eq!(p.filter.values(Field::Production).unwrap(), ["true"]);
        assert_eq!(p.filter.values(Field::Key).unwrap(), ["true", "false"]);
        assert_eq!(p.filter.states, ["UDT", "SDT"]);
        assert_eq!(p.limit, None);
        let round = to_pairs(&p.filter);
        assert_eq!(round[0], ("state", "UDT,SDT".to_string()));
        assert_eq!(round[1], ("family", "A,B,C".to_string()));
    }

    #[test]
    fn bad_values_and_unknown_parameters_name_their_parameter() {
        for (query, accept, parameter) in [
            ("state=RUN", Accept::Filters, "state"),
            ("state=PRD,", Accept::Filters, "state"),
            ("workcenter=W%20B", Accept::Filters, "workcenter"),
            ("workcenter=", Accept::Filters, "workcenter"),
            ("family=", Accept::Filters, "family"),
            ("location=A,,B", Accept::Filters, "location"),
            ("tool=a%01b", Accept::Filters, "tool"),
            ("production=yes", Accept::Filters, "production"),
            ("monitored=", Accept::Filters, "monitored"),
            ("colour=red", Accept::Filters, "colour"),
            ("limit=5", Accept::Filters, "limit"),
            ("limit=0", Accept::WithLimit, "limit"),
            ("limit=101", Accept::WithLimit, "limit"),
            ("limit=x", Accept::WithLimit, "limit"),
            ("key=maybe", Accept::Page, "key"),
        ] {
            let error = parse(&pairs(query), accept).unwrap_err();
            assert_eq!(error.code().as_str(), "VALIDATION_ERROR");
            assert!(
                error.to_string().starts_with(&format!("{parameter}:")),
                "{query}: {error}"
            );
        }
        let long = "x".repeat(VALUE_MAX + 1);
        assert!(parse(&pairs(&format!("tool={long}")), Accept::Filters).is_err());
    }

    #[test]
    fn limit_defaults_and_pages_ignore_platform_parameters() {
        let p = parse(&pairs(""), Accept::WithLimit).unwrap();
        assert_eq!(p.limit, Some(LIMIT_DEFAULT));
        let p = parse(&pairs("limit=3"), Accept::WithLimit).unwrap();
        assert_eq!(p.limit, Some(3));
        let p = parse(&pairs("lang=en&kiosk=1&location=F1"), Accept::Page).unwrap();
        assert_eq!(p.filter.values(Field::Location).unwrap(), ["F1"]);
    }
}
