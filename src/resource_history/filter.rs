//! Which tools a history covers: the filters of `/resource` (comma lists of workcenter groups,
//! locations, families, tools, package groups; the flags production, key, monitored), applied
//! to the tool attributes (`equipment` and its workcenter's group).

use serde::{Deserialize, Serialize};

use crate::db::tools::ToolRecord;
use crate::hold_history::FieldError;

/// Most values one list may hold.
const MAX_VALUES: usize = 200;
/// Longest value.
const MAX_CHARS: usize = 64;

/// The filters as given: comma lists and flags as text (`true`/`false`, `1`/`0`).
#[derive(Debug, Clone, Default)]
pub struct RawFilter<'a> {
    pub workcenter_group: Option<&'a str>,
    pub location: Option<&'a str>,
    pub family: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub package_group: Option<&'a str>,
    pub production: Option<&'a str>,
    pub key: Option<&'a str>,
    pub monitored: Option<&'a str>,
}

/// The filters resolved: an empty list admits every value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolFilter {
    pub workcenter_group: Vec<String>,
    pub location: Vec<String>,
    pub family: Vec<String>,
    pub tool: Vec<String>,
    pub package_group: Vec<String>,
    pub production: Option<bool>,
    pub key: Option<bool>,
    pub monitored: Option<bool>,
}

impl ToolFilter {
    pub fn resolve(raw: &RawFilter<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            workcenter_group: list(raw.workcenter_group, "workcenter_group")?,
            location: list(raw.location, "location")?,
            family: list(raw.family, "family")?,
            tool: list(raw.tool, "tool")?,
            package_group: list(raw.package_group, "package_group")?,
            production: flag(raw.production, "production")?,
            key: flag(raw.key, "key")?,
            monitored: flag(raw.monitored, "monitored")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn admits(&self, t: &ToolRecord) -> bool {
        fn within(list: &[String], value: Option<&str>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        }
        fn flag(want: Option<bool>, value: bool) -> bool {
            want.is_none_or(|w| w == value)
        }
        within(&self.workcenter_group, t.workcenter_group.as_deref())
            && within(&self.location, t.location.as_deref())
            && within(&self.family, t.family.as_deref())
            && within(&self.tool, Some(&t.equipment_id))
            && within(&self.package_group, t.package_group.as_deref())
            && flag(self.production, t.is_production)
            && flag(self.key, t.is_key)
            && flag(self.monitored, t.is_monitored)
    }
}

fn list(text: Option<&str>, field: &'static str) -> Result<Vec<String>, FieldError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let mut values: Vec<String> = Vec::new();
    for value in text.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if value.chars().count() > MAX_CHARS || value.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                format!("each value: 1 to {MAX_CHARS} characters without control characters"),
            ));
        }
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    if values.len() > MAX_VALUES {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_VALUES} values"),
        ));
    }
    Ok(values)
}

fn flag(text: Option<&str>, field: &'static str) -> Result<Option<bool>, FieldError> {
    match text {
        None | Some("") => Ok(None),
        Some("true" | "1" | "Y") => Ok(Some(true)),
        Some("false" | "0" | "N") => Ok(Some(false)),
        Some(other) => Err(FieldError::new(
            field,
            format!("{other:?} is not true or false"),
        )),
    }
}
