//! The file formats of SPEC §3 and §5 as serde structs. Parse only: no templates,
//! no I/O. Every struct denies unknown keys, and template-bearing values keep the
//! place they came from (`Spanned`) so later errors can point at them.

pub mod flow;
pub mod profile;
pub mod request;

pub use serde_saphyr::Spanned;

/// A map that keeps the order the user wrote.
pub type Map<V> = indexmap::IndexMap<String, V>;
