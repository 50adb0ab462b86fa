//! Flows: steps in order, each seeing what earlier ones extracted.

use serde_json::Value;

use crate::env::Env;
use crate::error::{Error, InputError};
use crate::expect::extract;
use crate::project::model::Spanned;
use crate::project::model::flow::{FlowFile, Step};
use crate::project::place::Place;
use crate::project::template::Vars;
use crate::project::{self, Document, SourceFile};
use crate::run::render::Overrides;

use super::Outcome;
use super::request::{Items, run_request};

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
}

impl Steps<'_> {
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
            overrides,
            depth,
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
        let mut outcome = match &doc {
            Document::Request(req) => run_request(env, req, vars, overrides, Items::Keep).await?,
            Document::Flow(inner, inner_src) => {
                run_flow(env, inner, inner_src, vars, overrides, depth + 1).await?
            }
        };
        let step_name = format!("step {n} ({})", path.display());
        for mut c in std::mem::take(&mut outcome.checks) {
            c.name = format!("{step_name}: {}", c.name);
            checks.push(c);
        }
        if !outcome.failures.is_empty() {
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
        for (k, p) in &step.value.extract {
            let compiled = extract::Path::parse(&p.value)
                .map_err(|e| InputError::at(src.place(p), e.to_string()))?;
            vars.set(k.clone(), compiled.extract(&body));
        }
        Ok(outcome)
    }
}
