//! Flows: steps in order, each seeing what earlier ones extracted.

use std::path::Path;

use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{Error, InputError};
use crate::expect::extract;
use crate::http::RenderedRequest;
use crate::project::model::Spanned;
use crate::project::model::flow::{FlowFile, Step};
use crate::project::place::Place;
use crate::project::template::Vars;
use crate::project::{self, Document, SourceFile};
use crate::run::render::{Overrides, render_request};

use super::Outcome;
use super::request::{Items, run_rendered, run_request};

/// What a caller sees of a flow as it runs: `runner mcp` refuses requests outside
/// the profile's origins and answers with every step.
pub trait StepWatch {
    /// Before any request of the flow (a nested flow's too) is sent; an error
    /// refuses it and stops the flow.
    fn check(&self, _rendered: &RenderedRequest) -> Result<(), Error> {
        Ok(())
    }
    /// After step `n` of a flow at `depth` ran (a failed one too): its file, its
    /// outcome, and what the step's own `extract` took.
    fn step(&self, depth: usize, n: usize, path: &Path, o: &Outcome, took: &Map<String, Value>) {
        let _ = (depth, n, path, o, took);
    }
}

/// How deep flows may nest: a flow that runs itself stops here.
const MAX_FLOW_DEPTH: usize = 16;

/// Runs a flow's steps in order; each step sees what earlier ones extracted.
pub fn run_flow<'a>(
    env: &'a Env,
    flow: &'a FlowFile,
    src: &'a SourceFile,
    vars: &'a mut Vars,
    overrides: &'a Overrides,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome, Error>> + 'a>> {
    run_flow_watched(env, flow, src, vars, overrides, depth, None)
}

/// [`run_flow`], with `watch` told of every request and step.
pub fn run_flow_watched<'a>(
    env: &'a Env,
    flow: &'a FlowFile,
    src: &'a SourceFile,
    vars: &'a mut Vars,
    overrides: &'a Overrides,
    depth: usize,
    watch: Option<&'a dyn StepWatch>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome, Error>> + 'a>> {
    Box::pin(async move {
        if depth > MAX_FLOW_DEPTH {
            return Err(InputError::at(
                Place::file(&src.path),
                format!("flows nest more than {MAX_FLOW_DEPTH} deep (does a flow run itself?)"),
            )
            .into());
        }
        let Some((final_step, earlier)) = flow.steps.split_last() else {
            return Err(
                InputError::at(Place::file(&src.path), "a flow needs at least one step").into(),
            );
        };
        let ctx = Steps {
            env,
            src,
            overrides,
            depth,
            watch,
        };
        // Every step's assertions, each named by its step, for the reports.
        let mut checks = Vec::new();
        for (i, step) in earlier.iter().enumerate() {
            let outcome = ctx.run(i + 1, step, vars, &mut checks).await?;
            if !outcome.failures.is_empty() {
                return Ok(Outcome { checks, ..outcome });
            }
        }
        let outcome = ctx
            .run(flow.steps.len(), final_step, vars, &mut checks)
            .await?;
        Ok(Outcome { checks, ..outcome })
    })
}

/// What every step of one flow shares.
struct Steps<'a> {
    env: &'a Env,
    src: &'a SourceFile,
    overrides: &'a Overrides,
    depth: usize,
    watch: Option<&'a dyn StepWatch>,
}

impl Steps<'_> {
    /// Sends a step's request (through the watch, if any), or runs its flow.
    async fn send(&self, doc: &Document, vars: &mut Vars) -> Result<Outcome, Error> {
        let (env, overrides) = (self.env, self.overrides);
        match (doc, self.watch) {
            (Document::Request(req), None) => {
                run_request(env, req, vars, overrides, Items::Keep).await
            }
            (Document::Request(req), Some(w)) => {
                let rendered = render_request(env, req, vars, overrides)?;
                w.check(&rendered)?;
                run_rendered(env, req, rendered, overrides, Items::Keep).await
            }
            (Document::Flow(inner, src), watch) => {
                run_flow_watched(env, inner, src, vars, overrides, self.depth + 1, watch).await
            }
        }
    }

    /// Runs step `n`; what it extracts joins `vars`.
    /// A failed step's outcome carries one failure that names the flow and the step;
    /// its checks join `checks`, named by the step.
    async fn run(
        &self,
        n: usize,
        step: &Spanned<Step>,
        vars: &mut Vars,
        checks: &mut Vec<crate::expect::assert::Checked>,
    ) -> Result<Outcome, Error> {
        let Steps {
            env,
            src,
            depth,
            watch,
            ..
        } = *self;
        let path = src.dir().join(&step.value.run);
        tracing::info!("step {n}: {}", path.display());
        for (k, v) in &step.value.vars {
            let value = env
                .renderer
                .render_value(&v.value, vars, src.dir(), src.origin(v))?;
            vars.set(k.clone(), value);
        }
        let mut doc = project::load_document(&path).map_err(|list| {
            Error::from_inputs(
                list.into_iter()
                    .map(|e| match e {
                        InputError::At { place, message } if place.line == 0 => InputError::at(
                            src.place(step),
                            format!("step {n} ({}): {message}", place.path.display()),
                        ),
                        other => other,
                    })
                    .collect(),
            )
        })?;
        if let (Document::Request(req), Some(expect)) = (&mut doc, &step.value.expect) {
            project::use_step_expect(req, expect, src).map_err(Error::from_inputs)?;
        }
        let mut outcome = self.send(&doc, vars).await?;
        let step_name = format!("step {n} ({})", path.display());
        for mut c in std::mem::take(&mut outcome.checks) {
            c.name = format!("{step_name}: {}", c.name);
            checks.push(c);
        }
        if !outcome.failures.is_empty() {
            if let Some(w) = watch {
                w.step(depth, n, &path, &outcome, &Map::new());
            }
            outcome.failures = vec![format!(
                "flow {} stopped at {step_name}: {}",
                src.path.display(),
                super::failures_text(&outcome.failures)
            )];
            return Ok(outcome);
        }
        if let Some(Value::Object(map)) = &outcome.extracted {
            for (k, v) in map {
                vars.set(k.clone(), v.clone());
            }
        }
        let body = outcome.body.clone().unwrap_or(Value::Null);
        let mut took = Map::new();
        for (k, p) in &step.value.extract {
            let compiled = extract::Path::parse(&p.value)
                .map_err(|e| InputError::at(src.place(p), e.to_string()))?;
            let value = compiled.extract(&body);
            if watch.is_some() {
                took.insert(k.clone(), value.clone());
            }
            vars.set(k.clone(), value);
        }
        if let Some(w) = watch {
            w.step(depth, n, &path, &outcome, &took);
        }
        Ok(outcome)
    }
}
