//! Integration tests: the real binary against the real sandbox over loopback.

// The tests print their own notes; the masking point is the binary's concern.
#![allow(clippy::disallowed_macros)]

mod aws;
mod basic_api_key;
mod bodies;
mod canary;
mod collection;
mod cookies;
mod core;
mod cts;
mod diagnostics;
mod exchange;
mod expect;
mod gateway_hardening;
mod grants;
mod guide;
mod headers;
mod hostile;
mod hostile_server;
mod import_collections;
mod import_corpus;
mod import_curl;
mod import_har;
mod import_http;
mod import_inert;
mod import_openapi;
mod import_postman;
mod init;
mod interop;
mod interop_oidc;
mod interop_oidc_signed;
mod interop_sender;
mod keep_alive;
mod keyring;
mod lazy_profile;
mod limits;
mod login_hostile;
mod many;
mod mcp;
mod mcp_flows;
mod oauth;
mod origins;
mod paging;
mod pkcs12;
mod proxy;
mod report_html;
mod secrets;
mod sender;
mod serve;
mod signed_auth;
mod streams;
mod suite;
mod support;
mod token_response;
