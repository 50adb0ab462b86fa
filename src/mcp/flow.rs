//! Flow files as tools. A flow's arguments are the template variables its steps read
//! that neither the profile nor an earlier step sets (a step's `vars`, what a request
//! file's `extract` or a step's `extract` takes); it writes if any request it sends is
//! not a GET or a HEAD. A call runs it with `run::flow` (one session for every step)
//! and answers with each step: status, what it extracted, its failures.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::call::{Answer, insert_extracted, insert_outcome_body};
use super::tools::{self, Argument, Kind, ToolFile, arguments, arguments_of, is_safe};
use crate::env::Env;
use crate::error::Error;
use crate::http::RenderedRequest;
use crate::project::model::flow::FlowFile;
use crate::project::template::Vars;
use crate::project::{self, Document, SourceFile};
use crate::run::Outcome;
use crate::run::flow::{StepWatch, run_flow_watched};
use crate::run::render::Overrides;

/// How deep the scan follows flows that run flows (as `run::flow` does).
const MAX_DEPTH: usize = 16;

/// `flow` (read from `path`) as a tool, or why it is none.
pub fn tool(
    env: &Env,
    path: &Path,
    name: String,
    allow_writes: bool,
    flow: FlowFile,
    src: SourceFile,
) -> Result<ToolFile, String> {
    let mut scan = Scan {
        env,
        known: HashSet::new(),
        arguments: Vec::new(),
        methods: Vec::new(),
    };
    scan.flow(&flow, &src, 1)?;
    let writes: Vec<&str> = scan
        .methods
        .iter()
        .map(String::as_str)
        .filter(|m| !is_safe(m))
        .collect();
    match flow.mcp.map(|m| m.expose) {
        Some(false) => return Err("mcp: {expose: false}".into()),
        None if !writes.is_empty() && !allow_writes => {
            return Err(format!(
                "a flow that writes ({}): --allow-writes (or mcp: {{expose: true}} in the file) serves it",
                writes.join(", ")
            ));
        }
        _ => {}
    }
    let description = flow.description.clone().unwrap_or_else(|| {
        format!(
            "a flow of {} step{}",
            flow.steps.len(),
            if flow.steps.len() == 1 { "" } else { "s" }
        )
    });
    let mut arguments = scan.arguments;
    arguments.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ToolFile {
        name,
        path: path.to_path_buf(),
        description,
        arguments,
        kind: Kind::Flow(Box::new((flow, src)), scan.methods),
    })
}

/// What a flow's steps read and send, step by step.
struct Scan<'e> {
    env: &'e Env,
    /// Set by an earlier step: its `vars`, its request's `extract`, its `extract`.
    known: HashSet<String>,
    arguments: Vec<Argument>,
    methods: Vec<String>,
}

impl Scan<'_> {
    fn flow(&mut self, flow: &FlowFile, src: &SourceFile, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("its flows nest more than {MAX_DEPTH} deep"));
        }
        for (i, step) in flow.steps.iter().enumerate() {
            let step = &step.value;
            let what = format!("step {} ({})", i + 1, step.run);
            let mut sources = Vec::new();
            step.vars
                .values()
                .for_each(|v| tools::strings(&v.value, &mut sources));
            let found = arguments_of(self.env, &sources, &|n| self.is_known(n));
            self.add(found);
            self.known.extend(step.vars.keys().cloned());
            let path = src.dir().join(&step.run);
            match project::load_document(&path) {
                Err(errors) => return Err(tools::not_loaded(&what, &errors)),
                Ok(Document::Request(req)) => {
                    tools::outside_origins(self.env, &req.file)
                        .map_err(|why| format!("{what}: {why}"))?;
                    self.methods.push(req.method.to_string());
                    let found = arguments(self.env, &req.file, &|n| self.is_known(n));
                    self.add(found);
                    self.known
                        .extend(req.extract.iter().map(|(k, _)| k.clone()));
                }
                Ok(Document::Flow(inner, inner_src)) => self.flow(&inner, &inner_src, depth + 1)?,
            }
            self.known.extend(step.extract.keys().cloned());
        }
        Ok(())
    }

    fn is_known(&self, name: &str) -> bool {
        self.known.contains(name) || self.env.vars.contains(name)
    }

    /// Adds `found`; a variable two steps read is required if either needs it, and
    /// typed as either types it.
    fn add(&mut self, found: Vec<Argument>) {
        for a in found {
            match self.arguments.iter_mut().find(|o| o.name == a.name) {
                Some(o) => {
                    o.required |= a.required;
                    if o.kind == "string" {
                        o.kind = a.kind;
                    }
                }
                None => self.arguments.push(a),
            }
        }
    }
}

/// Sees a flow call run: refuses a request outside the profile's origins, and keeps
/// each step of the top flow as the answer shows it.
struct Watch<'a> {
    env: &'a Env,
    tool: &'a str,
    /// Served as a flow that only reads: a step that writes is refused.
    read_only: bool,
    /// The number of the top flow's last step: the one whose body the answer gives
    /// when it extracts nothing.
    last: usize,
    refused: RefCell<Option<String>>,
    steps: RefCell<Vec<Value>>,
}

impl StepWatch for Watch<'_> {
    fn check(&self, rendered: &RenderedRequest) -> Result<(), Error> {
        let why = if !self.env.client.credentials().trusts(&rendered.url) {
            format!(
                "{}: refused: {} is outside the profile's origins",
                self.tool,
                rendered.url.origin().ascii_serialization()
            )
        } else if self.read_only && !is_safe(rendered.method.as_str()) {
            // Steps are read as the flow runs: one edited since the start may write.
            format!(
                "{}: refused: a step sends {}, and the flow was served as one that only reads (restart runner mcp to serve it as it is now)",
                self.tool, rendered.method
            )
        } else {
            return Ok(());
        };
        *self.refused.borrow_mut() = Some(why.clone());
        Err(Error::Expectation(why))
    }

    fn step(&self, depth: usize, n: usize, path: &Path, o: &Outcome, took: &Map<String, Value>) {
        if depth != 1 {
            return;
        }
        let mut extracted = match &o.extracted {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        extracted.extend(took.clone());
        let mut step = Map::new();
        step.insert("step".into(), json!(n));
        step.insert(
            "file".into(),
            json!(project::display_path(path).display().to_string()),
        );
        step.insert("status".into(), json!(o.exchange.status));
        if !extracted.is_empty() {
            insert_extracted(&mut step, Value::Object(extracted));
        } else if n == self.last && o.failures.is_empty() {
            // The flow's answer, and nothing taken from it: its body (cut), as a
            // request tool gives.
            insert_outcome_body(&mut step, o);
        }
        step.insert("failures".into(), json!(super::call::unique(&o.failures)));
        self.steps.borrow_mut().push(Value::Object(step));
    }
}

/// Runs the flow tool `tool` with `vars`, within `limit`.
pub async fn call(env: &Env, tool: &ToolFile, mut vars: Vars, limit: Duration) -> Answer {
    let Kind::Flow(flow, _) = &tool.kind else {
        return Answer::error(format!("{}: not a flow", tool.name));
    };
    let (flow, src) = &**flow;
    let watch = Watch {
        env,
        tool: &tool.name,
        read_only: tool.read_only(),
        last: flow.steps.len(),
        refused: RefCell::new(None),
        steps: RefCell::new(Vec::new()),
    };
    let overrides = Overrides::default();
    let run = run_flow_watched(env, flow, src, &mut vars, &overrides, 1, Some(&watch));
    let ended = tokio::time::timeout(limit, run).await;
    let steps = watch.steps.take();
    let mut result = Map::new();
    let is_error = match ended {
        Ok(Ok(outcome)) => {
            result.insert("steps".into(), json!(steps));
            result.insert("failures".into(), json!(outcome.failures));
            !outcome.failures.is_empty()
        }
        Ok(Err(e)) => {
            let error = watch
                .refused
                .take()
                .unwrap_or_else(|| super::call::error_text(&e));
            if steps.is_empty() {
                return Answer::error(error);
            }
            result.insert("steps".into(), json!(steps));
            result.insert("error".into(), json!(error));
            true
        }
        Err(_) => {
            let error = super::call::late(&tool.name, limit);
            if steps.is_empty() {
                return Answer::error(error);
            }
            result.insert("steps".into(), json!(steps));
            result.insert("error".into(), json!(error));
            true
        }
    };
    Answer::json(&Value::Object(result), is_error)
}
