//! Numbered pages read raw, split into their items on a thread of their own: finding
//! where each item ends (serde_json checks every byte) is most of the work of a
//! `-o jsonl` run over many pages, and this thread keeps receiving pages meanwhile.
//! Items still reach the sink in page order, and a page that fails stops paging after
//! the pages before it are delivered, as when splitting inline.

use std::ops::Range;

use bytes::Bytes;
use serde_json::Value;

use super::raw::{RawChains, page_items};
use super::{PageItems, RawItems};
use crate::error::Error;
use crate::expect::extract;

/// Pages handed to the splitting thread and not yet delivered: a bound on the bodies
/// held at once.
pub(super) const IN_FLIGHT: usize = 8;

/// A page's items as the splitting thread found them: where each item's text lies in
/// the page, or the items parsed (a page not of the shape read raw).
enum Split {
    Raw {
        items: Vec<Range<usize>>,
        one_line: bool,
    },
    Values(Vec<Value>),
}

/// The splitting thread: pages in, their items out, in order.
pub(super) struct Splitter {
    pages: Option<std::sync::mpsc::Sender<Bytes>>,
    split: tokio::sync::mpsc::UnboundedReceiver<(Bytes, Split)>,
    /// Pages sent and not yet received back.
    pub(super) pending: usize,
}

impl Splitter {
    pub(super) fn start(chains: &RawChains, items: &extract::Path) -> Result<Splitter, Error> {
        let (pages, inbox) = std::sync::mpsc::channel::<Bytes>();
        let (outbox, split) = tokio::sync::mpsc::unbounded_channel();
        let (chains, items) = (chains.clone(), items.clone());
        std::thread::Builder::new()
            .name("pages".into())
            .spawn(move || {
                for body in inbox {
                    let split = split_page(&chains, &items, &body);
                    if outbox.send((body, split)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("cannot start a thread to read pages", e))?;
        Ok(Splitter {
            pages: Some(pages),
            split,
            pending: 0,
        })
    }

    /// Hands a page's body to the thread.
    pub(super) fn send(&mut self, body: Bytes) -> Result<(), Error> {
        let sent = self.pages.as_ref().is_some_and(|p| p.send(body).is_ok());
        if !sent {
            return Err(gone());
        }
        self.pending += 1;
        Ok(())
    }

    /// The next page's items, in the order the pages were sent, given to `sink`.
    pub(super) async fn deliver(&mut self, sink: &mut super::Sink<'_>) -> Result<(), Error> {
        let (body, split) = self.split.recv().await.ok_or_else(gone)?;
        self.pending -= 1;
        match split {
            Split::Values(values) => sink(PageItems::Values(values)),
            // The page was checked as text (and each item as JSON) once, on the
            // splitting thread: its items are written as they are.
            Split::Raw { items, one_line } => sink(PageItems::Raw(RawItems {
                items: items.into_iter().filter_map(|r| body.get(r)).collect(),
                one_line,
            })),
        }
    }

    /// Every page sent and not yet delivered, given to `sink`; then the thread ends.
    pub(super) async fn finish(mut self, sink: &mut super::Sink<'_>) -> Result<(), Error> {
        self.pages = None;
        while self.pending > 0 {
            self.deliver(sink).await?;
        }
        Ok(())
    }
}

fn gone() -> Error {
    Error::io(
        "the thread reading pages stopped",
        std::io::Error::other("channel closed"),
    )
}

fn split_page(chains: &RawChains, items: &extract::Path, body: &[u8]) -> Split {
    match page_items(chains, items, body) {
        PageItems::Raw(raw) => {
            let start = body.as_ptr() as usize;
            Split::Raw {
                items: raw
                    .items
                    .iter()
                    .map(|item| {
                        let at = item.as_ptr() as usize - start;
                        at..at + item.len()
                    })
                    .collect(),
                one_line: raw.one_line,
            }
        }
        PageItems::Values(values) => Split::Values(values),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Paging, follow};
    use super::*;
    use crate::http::{Exchange, RenderedBody, RenderedRequest};
    use crate::project::{PageStyle, PaginatePaths};

    fn exchange(url: &url::Url, status: u16, body: String) -> Exchange {
        Exchange {
            url: url.clone(),
            status,
            version: "HTTP/1.1",
            headers: Vec::new(),
            size: body.len() as u64,
            body: body.into(),
            elapsed: Duration::ZERO,
            attempts: 1,
            auth_sent: false,
        }
    }

    /// Page `n` of 20: three items (one spread over lines on page 5), but page 7,
    /// whose `items` is null (parsed whole: one null item), and page `fail`, a 500.
    fn page_body(n: u32, fail: Option<u32>) -> (u16, String) {
        if Some(n) == fail {
            return (500, "{}".into());
        }
        let item = |i: u32| format!(r#"{{"id": {}, "t": "a\u00e9 \"q\""}}"#, n * 10 + i);
        let items = if n == 5 {
            format!("[{},\n {}, {}]", item(0), item(1), item(2))
        } else {
            format!("[{}, {}, {}]", item(0), item(1), item(2))
        };
        let body = if n == 7 {
            r#"{"items": null, "total_pages": 20}"#.to_string()
        } else {
            format!(r#"{{"total_pages": 20, "items": {items}}}"#)
        };
        (200, body)
    }

    /// Follows the 20 pages, items read raw: the items the sink got, one JSON value
    /// each, and the failure.
    fn run(fail: Option<u32>) -> (Vec<Value>, Option<String>) {
        let paths = PaginatePaths {
            next_url: None,
            total_pages: Some(extract::Path::parse("$.total_pages").unwrap()),
            items: extract::Path::parse("$.items").unwrap(),
            style: PageStyle::Body,
        };
        let paging = Paging {
            paths: &paths,
            max_pages: 1000,
            concurrency: 4,
            page_param: "page",
            raw: true,
        };
        let url = url::Url::parse("http://127.0.0.1:9/items?page=1").unwrap();
        let first_req = RenderedRequest {
            method: reqwest::Method::GET,
            url: url.clone(),
            headers: Vec::new(),
            body: RenderedBody::Empty,
            timeout: Duration::from_secs(1),
            retries: 0,
            file_origin: url.origin(),
        };
        let (_, body) = page_body(1, None);
        let first = exchange(&url, 200, body.clone());
        let first_body: Value = serde_json::from_str(&body).unwrap();
        let send = |r: RenderedRequest| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Exchange, Error>>>,
        > {
            let n: u32 = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap();
            let (status, body) = page_body(n, fail);
            let ex = exchange(&r.url, status, body);
            Box::pin(async move { Ok(ex) })
        };
        let check = |ex: &Exchange| (ex.status != 200).then(|| format!("status {}", ex.status));
        let (mut got, mut spread, mut parsed) = (Vec::new(), 0, 0);
        let mut sink = |items: PageItems<'_>| {
            match items {
                PageItems::Values(v) => {
                    parsed += 1;
                    got.extend(v)
                }
                PageItems::Raw(r) => {
                    spread += usize::from(!r.one_line);
                    for text in r.items {
                        assert!(!r.one_line || !text.contains(&b'\n'));
                        got.push(serde_json::from_slice(text).unwrap());
                    }
                }
            }
            Ok(())
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let paged = rt
            .block_on(follow(
                &paging, &first_req, first, first_body, &send, &check, &mut sink,
            ))
            .unwrap();
        // The first page is parsed whole, and so is page 7.
        assert_eq!(parsed, 2);
        assert_eq!(spread, 1, "page 5 has a line break");
        (got, paged.failure)
    }

    /// The ids of pages `pages` (page 7's one null item included).
    fn ids(pages: std::ops::RangeInclusive<u32>) -> Vec<Value> {
        pages
            .flat_map(|n| match n {
                7 => vec![Value::Null],
                n => (0..3).map(|i| serde_json::json!(n * 10 + i)).collect(),
            })
            .collect()
    }

    #[test]
    fn split_pages_reach_the_sink_in_order_and_stop_at_a_failure() {
        let id = |v: &Value| v["id"].clone();
        let (items, failure) = run(None);
        assert_eq!(failure, None);
        assert_eq!(items.iter().map(id).collect::<Vec<_>>(), ids(1..=20));
        assert_eq!(items[0]["t"], "a\u{e9} \"q\"");
        // Every page before the failing one, and none after it.
        let (items, failure) = run(Some(12));
        assert_eq!(failure.as_deref(), Some("status 500"));
        assert_eq!(items.iter().map(id).collect::<Vec<_>>(), ids(1..=11));
    }
}
