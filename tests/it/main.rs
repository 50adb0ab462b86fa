//! Integration tests: the real binary against the real sandbox over loopback.

mod collection;
mod core;
mod cts;
mod guide;
mod hostile;
mod hostile_server;
mod interop;
mod many;
mod oauth;
mod support;
