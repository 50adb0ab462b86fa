//! Following pages: links one after another (`next_url` in the body, or a `Link`
//! header), cursors sent back, offsets advanced, or numbered pages fetched
//! concurrently once the first page tells how many there are. Items go to a sink as
//! pages arrive, so memory grows with the items kept, never with page bodies.

mod next;
mod raw;
mod scan;
mod split;

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::Error;
use crate::expect::extract;
use crate::http::{Exchange, RenderedBody, RenderedRequest};
use crate::project::{PageStyle, PaginatePaths};
use next::{Turn, Walk};
pub(crate) use raw::check_raw_page;
use raw::{RawChains, read_body_page};

/// How to page.
pub struct Paging<'a> {
    pub paths: &'a PaginatePaths,
    pub max_pages: u32,
    /// Pages in flight at once in page-number mode.
    pub concurrency: usize,
    pub page_param: &'a str,
    /// The sink writes items as they are: pages whose paths are plain member names
    /// (`$.items`, `$.next_page`) are then read without building their items' trees.
    pub raw: bool,
}

/// One page's items: parsed, or each item's JSON text as the server sent it.
pub enum PageItems<'a> {
    Values(Vec<Value>),
    Raw(RawItems<'a>),
}

/// Items as the server sent them: each one's JSON text (UTF-8, checked with its page).
pub struct RawItems<'a> {
    pub items: Vec<&'a [u8]>,
    /// No line break anywhere in the page: every item is one line as it is.
    pub one_line: bool,
}

/// Where each page's items go, in order.
pub type Sink<'s> = dyn FnMut(PageItems<'_>) -> Result<(), Error> + 's;

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
    crate::http::form::set_query_param(url, param, &n.to_string())
}

/// The first page's URL as the paging style wants it (an offset walk's `limit`).
pub fn first_page_url(paths: &PaginatePaths, url: &mut url::Url) {
    next::first_page_url(paths, url);
}

/// A page's items, and what it says of the next page.
fn read_page<'b>(
    paths: &PaginatePaths,
    chains: Option<&RawChains>,
    ex: &'b Exchange,
) -> (Turn, PageItems<'b>) {
    if let PageStyle::Body = paths.style {
        let (link, items) = read_body_page(paths, chains, &ex.body);
        return (link.map_or(Turn::End, Turn::Link), items);
    }
    let (turn, items) = match chains {
        // Only styles that need nothing but the items (and headers) have chains.
        Some(c) => {
            let (_, items) = read_body_page(paths, Some(c), &ex.body);
            let count = match &items {
                PageItems::Values(v) => v.len(),
                PageItems::Raw(r) => r.items.len(),
            };
            let turn = Turn::of(paths, ex, &Value::Null, count);
            (turn, items)
        }
        None => {
            let body: Value = serde_json::from_slice(&ex.body).unwrap_or(Value::Null);
            let turn = Turn::of(paths, ex, &body, 0);
            let items = take_items(&paths.items, body);
            let turn = match turn {
                Turn::Offset { total, .. } => Turn::Offset {
                    count: items.len(),
                    total,
                },
                other => other,
            };
            (turn, PageItems::Values(items))
        }
    };
    (turn, items)
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
    sink: &mut Sink<'_>,
) -> Result<Paged, Error> {
    let paths = paging.paths;
    let chains = RawChains::of(paging);
    let total = paths
        .total_pages
        .as_ref()
        .and_then(|p| p.extract(&first_body).as_u64());
    let turn = Turn::of(paths, &first, &first_body, 0);
    let items = take_items(&paths.items, first_body);
    let mut turn = match turn {
        Turn::Offset { total, .. } => Turn::Offset {
            count: items.len(),
            total,
        },
        other => other,
    };
    sink(PageItems::Values(items))?;
    if let Some(total) = total {
        return numbered(
            paging,
            chains.as_ref(),
            first_req,
            first,
            total,
            send,
            check,
            sink,
        )
        .await;
    }
    let mut walk = Walk::new(paths, first_req);
    let mut last = first;
    let mut pages = 1u32;
    while turn != Turn::End {
        if pages >= paging.max_pages {
            tracing::info!("stopping after max_pages = {}", paging.max_pages);
            break;
        }
        // The page that answered, after any redirects, is what its links are relative to.
        let Some(req) = walk.next(turn, &last.url)? else {
            break;
        };
        let ex = send(req).await?;
        pages += 1;
        if let Some(f) = check(&ex) {
            return Ok(Paged {
                last: ex,
                pages,
                failure: Some(f),
            });
        }
        let (next_turn, items) = read_page(paths, chains.as_ref(), &ex);
        sink(items)?;
        turn = next_turn;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// Pages 2..=total, `concurrency` at a time, delivered in order.
#[allow(clippy::too_many_arguments)]
async fn numbered(
    paging: &Paging<'_>,
    chains: Option<&RawChains>,
    first_req: &RenderedRequest,
    first: Exchange,
    total: u64,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut Sink<'_>,
) -> Result<Paged, Error> {
    let last_page = total.min(u64::from(paging.max_pages)) as u32;
    if let Some(chains) = chains
        && last_page > split::IN_FLIGHT as u32
    {
        let splitter = split::Splitter::start(chains, &paging.paths.items)?;
        return numbered_split(
            paging, splitter, first_req, first, last_page, send, check, sink,
        )
        .await;
    }
    let mut results = later_pages(paging, first_req, last_page, send);
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
        sink(read_body_page(paging.paths, chains, &ex.body).1)?;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// Pages 2 to `last_page`, sent `paging.concurrency` at a time, answered in order.
fn later_pages<'a, 's: 'a>(
    paging: &'a Paging<'_>,
    first_req: &'a RenderedRequest,
    last_page: u32,
    send: &'a SendPage<'s>,
) -> impl futures_util::Stream<Item = Result<Exchange, Error>> + 'a {
    futures_util::stream::iter(2..=last_page)
        .map(move |n| {
            send(page_request(
                first_req,
                page_url(&first_req.url, paging.page_param, n),
                true,
            ))
        })
        .buffered(paging.concurrency.max(1))
}

/// [`numbered`] with the pages split into items on a thread of their own, while this
/// one receives the next pages.
#[allow(clippy::too_many_arguments)]
async fn numbered_split(
    paging: &Paging<'_>,
    mut splitter: split::Splitter,
    first_req: &RenderedRequest,
    first: Exchange,
    last_page: u32,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut Sink<'_>,
) -> Result<Paged, Error> {
    let mut results = later_pages(paging, first_req, last_page, send);
    let mut last = first;
    let mut pages = 1;
    let mut received_all = false;
    while !received_all || splitter.pending > 0 {
        // Pages are received while fewer than IN_FLIGHT wait to be split.
        let receive = !received_all && splitter.pending < split::IN_FLIGHT;
        tokio::select! {
            biased;
            delivered = splitter.deliver(sink), if splitter.pending > 0 => delivered?,
            ex = results.next(), if receive => match ex {
                None => received_all = true,
                Some(ex) => {
                    // The pages before a failure reach the sink first, as inline.
                    let ex = match ex {
                        Ok(ex) => ex,
                        Err(e) => {
                            splitter.finish(sink).await?;
                            return Err(e);
                        }
                    };
                    pages += 1;
                    if let Some(f) = check(&ex) {
                        splitter.finish(sink).await?;
                        return Ok(Paged {
                            last: ex,
                            pages,
                            failure: Some(f),
                        });
                    }
                    splitter.send(ex.body.clone())?;
                    last = ex;
                }
            },
        }
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
