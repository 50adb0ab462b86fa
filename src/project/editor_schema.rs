//! JSON Schemas of the file kinds, generated from the models, for editors' YAML
//! language servers. Checked in under `schema/`; a test fails when they drift.

use schemars::JsonSchema;
use serde_json::Value;

use crate::project::model::flow::FlowFile;
use crate::project::model::profile::Profile;
use crate::project::model::request::RequestFile;

/// A file under `requests/`: a request or a flow.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RequestOrFlow {
    Request(Box<RequestFile>),
    Flow(FlowFile),
}

/// The schema of request and flow files.
pub fn request() -> Value {
    let mut s = schemars::schema_for!(RequestOrFlow).to_value();
    s["title"] = Value::String("runner request or flow file".into());
    s
}

/// The schema of profiles.
pub fn profile() -> Value {
    let mut s = schemars::schema_for!(Profile).to_value();
    s["title"] = Value::String("runner profile".into());
    s
}
