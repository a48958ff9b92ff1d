//! The query parameters of the WIP APIs — filters, paging, sorting, search — read from the raw
//! query string so that an unknown, repeated or malformed parameter is a 400
//! `VALIDATION_ERROR` naming it (serde's `deny_unknown_fields` would name it too, but could not
//! share one filter reader between five endpoints with different extra parameters).

use std::borrow::Cow;

use crate::cache::filter::{FilterField, WipFilter};
use crate::cache::lots::Status;
use crate::cache::query::{Sort, SortKey};
use crate::config::HoldType;
use crate::http::AppError;

/// The filter parameters every WIP list and figure API takes.
pub const FILTERS: [&str; 11] = [
    "workorder",
    "lotid",
    "package",
    "type",
    "product",
    "workflow",
    "bop",
    "function",
    "workcenter_group",
    "status",
    "hold_type",
];

/// The longest filter value (or search text) accepted.
const MAX_VALUE: usize = 100;
/// Most values one comma list may hold.
const MAX_VALUES: usize = 100;

/// The query's parameters, each name at most once and every name known.
pub struct Params<'q> {
    pairs: Vec<(Cow<'q, str>, Cow<'q, str>)>,
}

impl<'q> Params<'q> {
    /// Reads `raw`; `extra` are the endpoint's parameters beside the filters (when
    /// `filters`).
    pub fn parse(raw: Option<&'q str>, filters: bool, extra: &[&str]) -> Result<Self, AppError> {
        Self::parse_among(raw, if filters { &FILTERS } else { &[] }, extra)
    }

    /// Reads `raw` taking the filters named in `filters` (a subset of [`FILTERS`]: the hold
    /// APIs list held lots only, so they take no `status`) and `extra`.
    pub fn parse_among(
        raw: Option<&'q str>,
        filters: &[&str],
        extra: &[&str],
    ) -> Result<Self, AppError> {
        let mut pairs: Vec<(Cow<'q, str>, Cow<'q, str>)> = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let known = filters.contains(&&*name) || extra.contains(&&*name);
            if !known {
                let mut takes: Vec<&str> = extra.to_vec();
                takes.extend(filters);
                return Err(AppError::validation(format!(
                    "unknown parameter `{}`: this endpoint takes {}",
                    clip(&name),
                    if takes.is_empty() {
                        "none".to_string()
                    } else {
                        takes.join(", ")
                    }
                )));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(AppError::validation(format!(
                    "`{name}` is given twice: give it once (a comma-separated list where it \
                     takes several values)"
                )));
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The filters given (an empty value counts as not given).
    pub fn filter(&self) -> Result<WipFilter, AppError> {
        let mut filter = WipFilter::default();
        for (name, value) in &self.pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match &**name {
                "status" => {
                    for item in list(name, value)? {
                        let status = Status::parse(item).ok_or_else(|| {
                            AppError::validation(format!(
                                "status must be RUN, QUEUE or HOLD, or a comma-separated list \
                                 of them (got {:?})",
                                clip(item)
                            ))
                        })?;
                        if !filter.statuses.contains(&status) {
                            filter.statuses.push(status);
                        }
                    }
                }
                "hold_type" => {
                    filter.hold_type = Some(match value {
                        "quality" => HoldType::Quality,
                        "non-quality" => HoldType::NonQuality,
                        "all" => continue,
                        other => {
                            return Err(AppError::validation(format!(
                                "hold_type must be quality, non-quality or all (got {:?})",
                                clip(other)
                            )));
                        }
                    })
                }
                other => {
                    let Some(field) = FilterField::from_param(other) else {
                        continue; // an endpoint's own parameter
                    };
                    if field.is_partial() {
                        text(name, value)?;
                        match field {
                            FilterField::WorkOrder => filter.workorder = Some(value.to_string()),
                            _ => filter.lotid = Some(value.to_string()),
                        }
                    } else {
                        let values: Vec<String> = list(name, value)?.map(str::to_string).collect();
                        if field == FilterField::Package {
                            // Package ids are short codes (docs/SCHEMA.md), as in the paths.
                            for v in &values {
                                super::wip::validate_id("package", v)?;
                            }
                        }
                        filter.exact.push((field, values));
                    }
                }
            }
        }
        Ok(filter)
    }

    /// A whole number in `range`, `default` when absent.
    pub fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> Result<usize, AppError> {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        text.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                AppError::validation(format!(
                    "{name} must be a whole number from {} to {} (got {:?})",
                    range.start(),
                    range.end(),
                    clip(text)
                ))
            })
    }

    /// `sort` (a [`SortKey`], default `lot_id`) and `dir` (`asc`, the default, or `desc`).
    pub fn sort(&self) -> Result<Sort, AppError> {
        let key = match self.get("sort").map(str::trim) {
            None | Some("") => SortKey::LotId,
            Some(text) => SortKey::parse(text).ok_or_else(|| {
                let keys: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
                AppError::validation(format!(
                    "sort must be one of {} (got {:?})",
                    keys.join(", "),
                    clip(text)
                ))
            })?,
        };
        let descending = match self.get("dir").map(str::trim) {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(AppError::validation(format!(
                    "dir must be asc or desc (got {:?})",
                    clip(other)
                )));
            }
        };
        Ok(Sort { key, descending })
    }
}

/// One text value: at most [`MAX_VALUE`] characters, no control characters.
fn text(name: &str, value: &str) -> Result<(), AppError> {
    if value.chars().count() > MAX_VALUE || value.chars().any(char::is_control) {
        return Err(AppError::validation(format!(
            "{name}: each value must be 1 to {MAX_VALUE} characters without control characters"
        )));
    }
    Ok(())
}

/// A comma-separated list of values, each trimmed and checked.
fn list<'v>(name: &str, value: &'v str) -> Result<impl Iterator<Item = &'v str>, AppError> {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if items.len() > MAX_VALUES {
        return Err(AppError::validation(format!(
            "{name}: at most {MAX_VALUES} values (got {})",
            items.len()
        )));
    }
    for item in &items {
        text(name, item)?;
    }
    Ok(items.into_iter())
}

/// A value quoted back in a message, cut short.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(raw: &str) -> Result<WipFilter, String> {
        Params::parse(Some(raw), true, &[])
            .and_then(|p| p.filter())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn filters_are_read_with_comma_lists_and_partial_texts() {
        let f =
            filter("package=QFN-32,%20SOP-8&lotid=ga1&status=run,HOLD&hold_type=quality").unwrap();
        assert_eq!(
            f.values(FilterField::Package).unwrap(),
            ["QFN-32".to_string(), "SOP-8".to_string()]
        );
        assert_eq!(f.lotid.as_deref(), Some("ga1"));
        assert_eq!(f.statuses, [Status::Run, Status::Hold]);
        assert_eq!(f.hold_type, Some(HoldType::Quality));
        assert!(
            filter("package=&workorder=&hold_type=all")
                .unwrap()
                .is_empty()
        );
        assert!(filter("").unwrap().is_empty());
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (raw, named) in [
            ("colour=red", "colour"),
            ("package=A&package=B", "package"),
            ("status=DONE", "status"),
            ("hold_type=maybe", "hold_type"),
            ("lotid=a%0Ab", "lotid"),
            ("type=a,b%01", "type"),
            ("package=QFN,a%2Fb", "package"),
        ] {
            let error = filter(raw).unwrap_err();
            assert!(error.contains(named), "{raw}: {error}");
        }
        let long = format!("product={}", "x".repeat(101));
        assert!(filter(&long).unwrap_err().contains("product"));
    }

    #[test]
    fn paging_and_sorting_are_checked() {
        let p = Params::parse(
            Some("page=2&page_size=500&sort=quantity&dir=desc"),
            true,
            &["page", "page_size", "sort", "dir"],
        )
        .unwrap();
        assert_eq!(p.number("page", 1..=usize::MAX, 1).unwrap(), 2);
        assert_eq!(p.number("page_size", 1..=500, 100).unwrap(), 500);
        assert_eq!(
            p.sort().unwrap(),
            Sort {
                key: SortKey::Quantity,
                descending: true
            }
        );
        assert!(p.filter().unwrap().is_empty());
        for (raw, named) in [
            ("page_size=0", "page_size"),
            ("page_size=501", "page_size"),
            ("page=0", "page"),
            ("page=x", "page"),
            ("sort=colour", "sort"),
            ("dir=up", "dir"),
        ] {
            let p = Params::parse(Some(raw), true, &["page", "page_size", "sort", "dir"]).unwrap();
            let error = p
                .number("page", 1..=usize::MAX, 1)
                .and_then(|_| p.number("page_size", 1..=500, 100))
                .and_then(|_| p.sort())
                .unwrap_err()
                .to_string();
            assert!(error.contains(named), "{raw}: {error}");
        }
        let error = Params::parse(Some("page=1"), true, &[]).err().unwrap();
        assert!(error.to_string().contains("`page`"));
    }
}
