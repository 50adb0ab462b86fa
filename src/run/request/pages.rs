//! Following a paginated request's pages: the items kept, or streamed as JSON lines
//! as pages arrive, with a progress line on a terminal.

use serde_json::Value;

use super::Items;
use super::judge::{graphql_failure, is_graphql, parse_json_body, status_failure};
use super::send::send;
use crate::env::Env;
use crate::error::Error;
use crate::http::{Exchange, RenderedRequest};
use crate::project::PreparedRequest;
use crate::run::output::{Output, write_or_pipe};
use crate::run::paginate;
use crate::run::progress::Progress;
use crate::run::render::Overrides;

/// Pages followed when the request does not say (`paginate.max_pages`).
const DEFAULT_MAX_PAGES: u32 = 1000;
/// Numbered pages fetched at once when the request does not say.
const DEFAULT_PAGE_CONCURRENCY: usize = 4;

/// What following a request's pages needs.
pub(super) struct Pages<'a> {
    pub(super) env: &'a Env,
    pub(super) req: &'a PreparedRequest,
    pub(super) paths: &'a crate::project::PaginatePaths,
    pub(super) rendered: &'a RenderedRequest,
    pub(super) use_auth: bool,
    pub(super) overrides: &'a Overrides,
}

impl Pages<'_> {
    /// Follows the pages after `first`: the last exchange, the items kept (unless
    /// they were streamed to `items`), and whether they were streamed.
    pub(super) async fn follow(
        &self,
        first: Exchange,
        body: Value,
        items: Items<'_>,
        failures: &mut Vec<String>,
    ) -> Result<(Exchange, Option<Value>, bool), Error> {
        let out = match items {
            Items::Stream(o) => Some(o),
            Items::Keep | Items::Discard | Items::Pass { .. } => None,
        };
        let streaming = out.is_some();
        let paging = self.paging(streaming);
        let (env, use_auth) = (self.env, self.use_auth);
        let send_page = |r: RenderedRequest| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Exchange, Error>> + '_>,
        > { Box::pin(async move { send(env, &r, use_auth).await }) };
        let graphql = is_graphql(self.req);
        let check = |ex: &Exchange| {
            status_failure(self.req, ex).or_else(|| {
                graphql
                    .then(|| graphql_failure(self.req, parse_json_body(ex).as_ref()))
                    .flatten()
            })
        };
        let mut collected = Collected {
            out,
            kept: Vec::new(),
            progress: self.progress(&body),
            pages: 0,
            items: 0,
        };
        let mut sink = |page: paginate::PageItems<'_>| collected.take(page);
        let paged = paginate::follow(
            &paging,
            self.rendered,
            first,
            body,
            &send_page,
            &check,
            &mut sink,
        )
        .await?;
        tracing::info!("{} pages", paged.pages);
        Ok(match paged.failure {
            Some(f) => {
                failures.push(f);
                let b = parse_json_body(&paged.last);
                (paged.last, b, false)
            }
            None => (paged.last, Some(Value::Array(collected.kept)), streaming),
        })
    }

    /// How the pages are followed: the request's settings, else the defaults.
    /// `raw`: items are streamed out as the server wrote them.
    fn paging(&self, raw: bool) -> paginate::Paging<'_> {
        let pg = self.req.file.paginate.as_ref().map(|p| &p.value);
        paginate::Paging {
            paths: self.paths,
            max_pages: self.req.numbers.max_pages.unwrap_or(DEFAULT_MAX_PAGES),
            concurrency: self
                .overrides
                .concurrency
                .unwrap_or(DEFAULT_PAGE_CONCURRENCY),
            page_param: pg.and_then(|p| p.page_param.as_deref()).unwrap_or("page"),
            raw,
        }
    }

    /// On a terminal: pages and items so far, of how many when the first page says.
    fn progress(&self, first_body: &Value) -> Progress {
        let total_pages = self
            .paths
            .total_pages
            .as_ref()
            .and_then(|p| p.extract(first_body).as_u64());
        Progress::new(
            true,
            total_pages,
            if total_pages.is_some() {
                "{bar:30} {pos}/{len} pages, {msg}"
            } else {
                "{spinner} {pos} pages, {msg}"
            },
        )
    }
}

/// Where each page's items go: streamed to `out`, or kept; counted on the progress
/// line.
struct Collected<'o> {
    out: Option<&'o mut Output>,
    kept: Vec<Value>,
    progress: Progress,
    pages: u64,
    items: usize,
}

impl Collected<'_> {
    fn take(&mut self, page: paginate::PageItems<'_>) -> Result<(), Error> {
        if self.progress.is_drawn() {
            self.pages += 1;
            self.items += match &page {
                paginate::PageItems::Values(v) => v.len(),
                paginate::PageItems::Raw(r) => r.items.len(),
            };
            let items = self.items;
            self.progress.set(self.pages, || format!("{items} items"));
        }
        match (self.out.as_deref_mut(), page) {
            (Some(o), page) => {
                write_or_pipe(o.items(page))?;
                write_or_pipe(o.flush())
            }
            (None, paginate::PageItems::Values(items)) => {
                self.kept.extend(items);
                Ok(())
            }
            (None, paginate::PageItems::Raw(raw_items)) => {
                for raw in raw_items.items {
                    self.kept
                        .push(serde_json::from_slice(raw).unwrap_or(Value::Null));
                }
                Ok(())
            }
        }
    }
}
