//! What a response must satisfy and what is taken from it: JSONPath extraction and
//! the `expect` assertions (predicates, JSON Schema). Uses nothing above it but
//! `project::place`.

pub mod assert;
pub mod extract;
