//! runner: a declarative, OAuth2-backed API runner.
pub mod sandbox;
