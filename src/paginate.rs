//! Following pages: `next_url` links one after another, or numbered pages fetched
//! concurrently once the first page tells how many there are. Items go to a sink as
//! pages arrive, so memory grows with the items kept, never with page bodies.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::Error;
use crate::extract;
use crate::http::{Exchange, HttpError, RenderedBody, RenderedRequest};

/// The compiled JSONPaths of a request's `paginate`.
#[derive(Debug)]
pub struct PaginatePaths {
    pub next_url: Option<extract::Path>,
    pub total_pages: Option<extract::Path>,
    pub items: extract::Path,
}

/// How to page.
pub struct Paging<'a> {
    pub paths: &'a PaginatePaths,
    pub max_pages: u32,
    /// Pages in flight at once in page-number mode.
    pub concurrency: usize,
    pub page_param: &'a str,
}

/// Sends one page request (with the session's authentication).
pub type SendPage<'a> =
    dyn Fn(RenderedRequest) -> Pin<Box<dyn Future<Output = Result<Exchange, Error>> + 'a>> + 'a;

/// What the pages after the first gave.
pub struct Paged {
    /// The last page's exchange (or the failing one).
    pub last: Exchange,
    pub pages: u32,
    /// A page that failed the status expectation stops paging; this says which.
    pub failure: Option<String>,
}

/// The items of `body` as `path` selects them: the elements of the one array it
/// selects, or the selected nodes.
pub fn take_items(path: &extract::Path, mut body: Value) -> Vec<Value> {
    let mut nodes = path.take(&mut body);
    if nodes.len() == 1 && nodes[0].is_array() {
        match nodes.pop() {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }
    } else {
        nodes
    }
}

/// The next page's URL from `body`, if it names one.
fn next_link(paths: &PaginatePaths, body: &Value) -> Option<String> {
    match paths.next_url.as_ref()?.extract(body) {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// `url` with its `param` query parameter set to `n` (replaced, or appended).
pub fn page_url(url: &url::Url, param: &str, n: u32) -> url::Url {
    let mut out = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = out.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair(param, &n.to_string());
    }
    out
}

/// Follows the pages after `first` (whose body is `first_body`), giving every page's
/// items, the first's included, to `sink` in order. `check` names a failed status.
pub async fn follow(
    paging: &Paging<'_>,
    first_req: &RenderedRequest,
    first: Exchange,
    first_body: Value,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut dyn FnMut(Vec<Value>) -> Result<(), Error>,
) -> Result<Paged, Error> {
    let paths = paging.paths;
    let total = paths
        .total_pages
        .as_ref()
        .and_then(|p| p.extract(&first_body).as_u64());
    let next = next_link(paths, &first_body);
    sink(take_items(&paths.items, first_body))?;
    if let Some(total) = total {
        return numbered(paging, first_req, first, total, send, check, sink).await;
    }
    let mut last = first;
    let mut current = first_req.url.clone();
    let mut pages = 1u32;
    let mut seen: HashSet<String> = HashSet::new();
    seen.insert(first_req.url.to_string());
    let mut next = next;
    while let Some(link) = next {
        if pages >= paging.max_pages {
            tracing::info!("stopping after max_pages = {}", paging.max_pages);
            break;
        }
        // A relative link resolves against the page it came from.
        let url = current.join(&link).map_err(|e| HttpError::Protocol {
            url: first_req.url.to_string(),
            detail: format!("the next page URL `{link}` is invalid: {e}"),
        })?;
        if !seen.insert(url.to_string()) {
            return Err(HttpError::Protocol {
                url: url.to_string(),
                detail: "pagination loops: this page was already fetched".to_string(),
            }
            .into());
        }
        let ex = send(page_request(first_req, url.clone(), false)).await?;
        current = url;
        pages += 1;
        if let Some(f) = check(&ex) {
            return Ok(Paged {
                last: ex,
                pages,
                failure: Some(f),
            });
        }
        let body = parse(&ex);
        next = next_link(paths, &body);
        sink(take_items(&paths.items, body))?;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// Pages 2..=total, `concurrency` at a time, delivered in order.
async fn numbered(
    paging: &Paging<'_>,
    first_req: &RenderedRequest,
    first: Exchange,
    total: u64,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut dyn FnMut(Vec<Value>) -> Result<(), Error>,
) -> Result<Paged, Error> {
    let last_page = total.min(u64::from(paging.max_pages)) as u32;
    let mut results = futures_util::stream::iter(2..=last_page)
        .map(|n| {
            send(page_request(
                first_req,
                page_url(&first_req.url, paging.page_param, n),
                true,
            ))
        })
        .buffered(paging.concurrency.max(1));
    let mut last = first;
    let mut pages = 1;
    while let Some(ex) = results.next().await {
        let ex = ex?;
        pages += 1;
        if let Some(f) = check(&ex) {
            return Ok(Paged {
                last: ex,
                pages,
                failure: Some(f),
            });
        }
        sink(take_items(&paging.paths.items, parse(&ex)))?;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// A link is followed with a GET; a numbered page repeats the first request (a POST
/// search keeps its body) with only the page number changed.
fn page_request(first: &RenderedRequest, url: url::Url, numbered: bool) -> RenderedRequest {
    if numbered {
        return RenderedRequest {
            url,
            ..first.clone()
        };
    }
    RenderedRequest {
        url,
        method: reqwest::Method::GET,
        body: RenderedBody::Empty,
        ..first.clone()
    }
}

fn parse(ex: &Exchange) -> Value {
    serde_json::from_slice(&ex.body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_urls_replace_or_append_the_parameter() {
        let u = url::Url::parse("http://h/a?limit=5&page=1&sort=x").unwrap();
        assert_eq!(
            page_url(&u, "page", 3).as_str(),
            "http://h/a?limit=5&sort=x&page=3"
        );
        let u = url::Url::parse("http://h/a").unwrap();
        assert_eq!(page_url(&u, "p", 2).as_str(), "http://h/a?p=2");
    }

    #[test]
    fn items_are_the_elements_of_one_array_or_the_nodes() {
        let items = extract::Path::parse("$.items").unwrap();
        assert_eq!(
            take_items(&items, json!({"items": [1, 2]})),
            vec![json!(1), json!(2)]
        );
        assert_eq!(take_items(&items, json!({"x": 1})), Vec::<Value>::new());
        let ids = extract::Path::parse("$.items[*].id").unwrap();
        assert_eq!(
            take_items(&ids, json!({"items": [{"id": 1}, {"id": 2}]})),
            vec![json!(1), json!(2)]
        );
    }
}
