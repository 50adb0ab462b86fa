//! Flow files: `steps:` that run request files in order (SPEC §5, Flows).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Map, Spanned};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    pub description: Option<String>,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
    /// `runner mcp`: whether this flow is a tool for agents. Without it, a flow whose
    /// steps are all GET or HEAD is, others only with `--allow-writes`.
    pub mcp: Option<super::request::McpOptions>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A request (or flow) file, relative to the flow file.
    pub run: String,
    #[serde(default)]
    #[schemars(with = "Map<serde_json::Value>")]
    pub vars: Map<Spanned<serde_json::Value>>,
    #[serde(default)]
    #[schemars(with = "Map<String>")]
    pub extract: Map<Spanned<String>>,
    /// What this step's response must be, in place of the request file's own
    /// `expect` (paths relative to the flow file).
    pub expect: Option<super::request::Expect>,
}
