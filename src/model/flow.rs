//! Flow files: `steps:` that run request files in order (SPEC §5, Flows).

use serde::Deserialize;

use super::{Map, Spanned};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    pub description: Option<String>,
    pub steps: Vec<Spanned<Step>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A request (or flow) file, relative to the flow file.
    pub run: String,
    #[serde(default)]
    pub vars: Map<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub extract: Map<Spanned<String>>,
}
