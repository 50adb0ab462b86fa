//! A request's `paginate`, checked and compiled at load: which way the next page is
//! found (a link in the body, page numbers, a `Link` header, a cursor, an offset)
//! and the JSONPaths each way reads.

use super::SourceFile;
use super::limits::{self, Range};
use super::validate::number;
use crate::error::InputError;
use crate::expect::extract;
use crate::project::model::Spanned;
use crate::project::model::request::{Paginate, RequestFile};

/// The compiled JSONPaths of a request's `paginate`, and its way of paging.
#[derive(Debug)]
pub struct PaginatePaths {
    pub next_url: Option<extract::Path>,
    pub total_pages: Option<extract::Path>,
    pub items: extract::Path,
    pub style: PageStyle,
}

/// How the page after this one is found.
#[derive(Debug)]
pub enum PageStyle {
    /// `next_url` (a link in the body) and/or `total_pages` (numbered pages).
    Body,
    /// The `Link` header's URL of this `rel` (RFC 8288).
    LinkHeader { rel: String },
    /// A cursor from the body, sent back in a parameter or a GraphQL variable.
    Cursor {
        cursor: extract::Path,
        has_more: Option<extract::Path>,
        into: CursorInto,
    },
    /// `offset_param` advanced by each page's items until a short page, an empty
    /// one, or `total`.
    Offset {
        offset_param: String,
        limit_param: Option<String>,
        limit: u32,
        total: Option<extract::Path>,
    },
}

/// Where a cursor goes in the next request.
#[derive(Debug, Clone)]
pub enum CursorInto {
    /// The query for GET (or a request without a body), else the form or JSON body.
    Param(String),
    /// A variable of the GraphQL body.
    Variable(String),
}

/// Compiles `file.paginate`; every problem found is pushed.
pub(super) fn prepare_paginate(
    file: &RequestFile,
    source: &SourceFile,
    problems: &mut Vec<InputError>,
) -> Option<PaginatePaths> {
    let pg = file.paginate.as_ref()?;
    let p = &pg.value;
    let compile =
        |s: &Spanned<String>, problems: &mut Vec<InputError>| compile(source, s, problems);
    let ways = ways(p);
    if ways.is_empty() {
        problems.push(InputError::at(
            source.place(pg),
            "paginate needs a way to find the next page: next_url, total_pages, link_header, cursor or offset_param",
        ));
    } else if ways.len() > 1 {
        problems.push(InputError::at(
            source.place(pg),
            format!(
                "paginate takes one way to find the next page; found {}",
                ways.join(" and ")
            ),
        ));
    }
    misplaced_keys(p, source, problems);
    let next_url = p.next_url.as_ref().and_then(|s| compile(s, problems));
    let total_pages = p.total_pages.as_ref().and_then(|s| compile(s, problems));
    let items = compile(&p.items, problems);
    let style = if let Some(rel) = &p.link_header {
        if rel.value.trim().is_empty() {
            problems.push(InputError::at(
                source.place(rel),
                "link_header names the rel to follow, e.g. next",
            ));
        }
        PageStyle::LinkHeader {
            rel: rel.value.trim().to_string(),
        }
    } else if let Some(c) = &p.cursor {
        let cursor = compile(c, problems);
        let has_more = p.has_more.as_ref().and_then(|s| compile(s, problems));
        let into = cursor_into(file, p, source.place(pg), source, problems);
        match (cursor, into) {
            (Some(cursor), Some(into)) => PageStyle::Cursor {
                cursor,
                has_more,
                into,
            },
            _ => PageStyle::Body,
        }
    } else if let Some(o) = &p.offset_param {
        offset_style(p, o, source, problems)
    } else {
        PageStyle::Body
    };
    Some(PaginatePaths {
        next_url,
        total_pages,
        items: items?,
        style,
    })
}

/// `s` compiled as a JSONPath, or a problem at its place.
fn compile(
    source: &SourceFile,
    s: &Spanned<String>,
    problems: &mut Vec<InputError>,
) -> Option<extract::Path> {
    match extract::Path::parse(&s.value) {
        Ok(path) => Some(path),
        Err(e) => {
            problems.push(InputError::at(source.place(s), e.to_string()));
            None
        }
    }
}

/// An offset walk: `limit` is required and range-checked.
fn offset_style(
    p: &Paginate,
    offset_param: &Spanned<String>,
    source: &SourceFile,
    problems: &mut Vec<InputError>,
) -> PageStyle {
    let limit = number(
        source,
        "paginate.limit",
        &p.limit,
        Range::count_as,
        &limits::PAGE_LIMIT,
        problems,
    );
    if p.limit.is_none() {
        problems.push(InputError::at(
            source.place(offset_param),
            "offset_param needs limit: the page size, which tells a short (last) page",
        ));
    }
    PageStyle::Offset {
        offset_param: offset_param.value.clone(),
        limit_param: p.limit_param.as_ref().map(|l| l.value.clone()),
        limit: limit.unwrap_or(1),
        total: p.total.as_ref().and_then(|s| compile(source, s, problems)),
    }
}

/// The ways of paging `p` names.
fn ways(p: &Paginate) -> Vec<&'static str> {
    let mut ways = Vec::new();
    if p.next_url.is_some() || p.total_pages.is_some() {
        ways.push(if p.next_url.is_some() {
            "next_url"
        } else {
            "total_pages"
        });
    }
    if p.link_header.is_some() {
        ways.push("link_header");
    }
    if p.cursor.is_some() {
        ways.push("cursor");
    }
    if p.offset_param.is_some() {
        ways.push("offset_param");
    }
    ways
}

/// A problem for each key that belongs to a way of paging the file does not use.
fn misplaced_keys(p: &Paginate, source: &SourceFile, problems: &mut Vec<InputError>) {
    let with_cursor = [
        ("param", p.param.as_ref()),
        ("variable", p.variable.as_ref()),
        ("has_more", p.has_more.as_ref()),
    ];
    if p.cursor.is_none() {
        for (key, value) in with_cursor {
            if let Some(v) = value {
                problems.push(InputError::at(
                    source.place(v),
                    format!("paginate.{key} goes with paginate.cursor"),
                ));
            }
        }
    }
    if p.offset_param.is_none() {
        let with_offset = [
            (
                "limit_param",
                p.limit_param.as_ref().map(|v| source.place(v)),
            ),
            ("limit", p.limit.as_ref().map(|v| source.place(v))),
            ("total", p.total.as_ref().map(|v| source.place(v))),
        ];
        for (key, place) in with_offset {
            if let Some(place) = place {
                problems.push(InputError::at(
                    place,
                    format!("paginate.{key} goes with paginate.offset_param"),
                ));
            }
        }
    }
}

/// Where the cursor goes: `param` or `variable`, exactly one, each where it can go.
fn cursor_into(
    file: &RequestFile,
    p: &Paginate,
    place: crate::error::Place,
    source: &SourceFile,
    problems: &mut Vec<InputError>,
) -> Option<CursorInto> {
    let body = file.body.as_ref().map(|b| &b.value);
    match (&p.param, &p.variable) {
        (Some(param), None) => {
            if body.is_some_and(|b| b.text.is_some() || b.file.is_some()) {
                problems.push(InputError::at(
                    source.place(param),
                    "paginate.param cannot go into a text or file body: use the query (GET) or a form or JSON body",
                ));
            }
            Some(CursorInto::Param(param.value.clone()))
        }
        (None, Some(var)) => {
            if body.is_none_or(|b| b.graphql.is_none()) {
                problems.push(InputError::at(
                    source.place(var),
                    "paginate.variable is a GraphQL variable: the body must be graphql",
                ));
            }
            Some(CursorInto::Variable(var.value.clone()))
        }
        _ => {
            problems.push(InputError::at(
                place,
                "paginate.cursor needs where the cursor goes: param (a query or body parameter) or variable (GraphQL), one of them",
            ));
            None
        }
    }
}
