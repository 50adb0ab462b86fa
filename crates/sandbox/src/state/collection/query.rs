//! What may be asked of a collection: its spec (path, sortable fields, filters, enums),
//! and a list request's page, limit, sort and filters, checked against it.

use crate::error::ApiError;

/// The most items one page may hold; larger `limit`s are clamped to it.
pub(crate) const MAX_LIMIT: u64 = 100;
const DEFAULT_LIMIT: u64 = 10;

/// What a collection is: where it lives and how it may be listed.
#[derive(Debug)]
pub(crate) struct CollectionSpec {
    /// Path of the list route, e.g. `/api/v1/assets`; items live at `{path}/{id}`.
    pub path: &'static str,
    /// Used in messages: "asset 42 not found".
    pub noun: &'static str,
    pub sort_fields: &'static [&'static str],
    pub default_sort: Sort,
    /// Query parameters that filter by equality on the field of the same name.
    pub filters: &'static [&'static str],
    /// Fields whose values must be one of a fixed set, in filters and in writes.
    pub enums: &'static [(&'static str, &'static [&'static str])],
    /// The string field a search's `query` is matched against (case-insensitive).
    pub search_field: &'static str,
}

impl CollectionSpec {
    /// Checks `value` against the field's allowed values, if it has any.
    pub(crate) fn check_enum(&self, field: &str, value: &str) -> Result<(), ApiError> {
        match self.enums.iter().find(|(f, _)| *f == field) {
            Some((_, allowed)) if !allowed.contains(&value) => {
                Err(ApiError::invalid_request(format!(
                    "Invalid {field} {value:?}: expected one of {}",
                    allowed.join(", ")
                )))
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Sort {
    pub field: &'static str,
    pub direction: Direction,
}

impl Sort {
    pub(crate) const fn asc(field: &'static str) -> Sort {
        Sort {
            field,
            direction: Direction::Asc,
        }
    }

    fn parse(spec: &CollectionSpec, text: &str) -> Result<Sort, ApiError> {
        let invalid = || {
            ApiError::invalid_request(format!(
                "Invalid sort {text:?}: expected FIELD:asc or FIELD:desc, FIELD one of {}",
                spec.sort_fields.join(", ")
            ))
        };
        let (field, direction) = text.split_once(':').unwrap_or((text, "asc"));
        let field = spec
            .sort_fields
            .iter()
            .find(|f| **f == field.trim())
            .ok_or_else(invalid)?;
        let direction = match direction.trim().to_ascii_lowercase().as_str() {
            "asc" => Direction::Asc,
            "desc" => Direction::Desc,
            _ => return Err(invalid()),
        };
        Ok(Sort { field, direction })
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = match self.direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        write!(f, "{}:{dir}", self.field)
    }
}

/// A validated list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub page: u64,
    pub limit: u64,
    pub sort: Sort,
    /// `(field, value)` in the spec's filter order.
    pub filters: Vec<(&'static str, String)>,
    /// Case-insensitive substring of the spec's search field.
    pub search: Option<String>,
}

impl ListQuery {
    /// Reads `page`, `limit`, `sort` and the spec's filters from query pairs; other
    /// parameters are ignored, and a repeated one keeps its last value.
    pub(crate) fn from_pairs(
        spec: &CollectionSpec,
        pairs: &[(String, String)],
    ) -> Result<Self, ApiError> {
        let last = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let page = last("page").map(parse_page).transpose()?.unwrap_or(1);
        let limit = last("limit")
            .map(parse_limit)
            .transpose()?
            .unwrap_or(DEFAULT_LIMIT);
        let sort = match last("sort") {
            Some(text) => Sort::parse(spec, text)?,
            None => spec.default_sort,
        };
        let mut filters = Vec::new();
        for field in spec.filters {
            if let Some(value) = last(field) {
                spec.check_enum(field, value)?;
                filters.push((*field, value.to_owned()));
            }
        }
        Ok(ListQuery {
            page,
            limit,
            sort,
            filters,
            search: None,
        })
    }

    /// The path-absolute URL of another page of the same listing.
    pub(super) fn page_url(&self, path: &str, page: u64) -> String {
        let mut url = format!("{path}?page={page}&limit={}&sort={}", self.limit, self.sort);
        for (field, value) in &self.filters {
            url.push('&');
            url.push_str(field);
            url.push('=');
            url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
        url
    }
}

fn parse_page(text: &str) -> Result<u64, ApiError> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ApiError::invalid_request(format!(
            "Invalid page {text:?}: expected an integer of at least 1"
        ))),
    }
}

fn parse_limit(text: &str) -> Result<u64, ApiError> {
    let digits = text.trim();
    let invalid = || {
        ApiError::invalid_request(format!(
            "Invalid limit {text:?}: expected an integer from 1 to {MAX_LIMIT}"
        ))
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match digits.parse::<u64>() {
        Ok(0) => Err(invalid()),
        Ok(n) => Ok(n.min(MAX_LIMIT)),
        // All digits but too long for u64: a very large limit, clamped like any other.
        Err(_) => Ok(MAX_LIMIT),
    }
}
