//! Integration tests: the real binary against the real sandbox over loopback.

mod collection;
mod core;
mod cts;
mod expect;
mod grants;
mod guide;
mod headers;
mod hostile;
mod hostile_server;
mod interop;
mod interop_oidc;
mod limits;
mod many;
mod oauth;
mod origins;
mod report_html;
mod streams;
mod suite;
mod support;
mod token_response;
