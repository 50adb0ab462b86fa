//! One tool call: the arguments as variables (values, never templates), the request
//! rendered and its URL checked against the profile's origins, sent through the
//! profile's session like `runner exec`, and the answer cut to a bound and masked.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::tools::{Kind, ToolFile};
use crate::env::Env;
use crate::error::Error;
use crate::project::template::Vars;
use crate::run::render::{Overrides, render_request};
use crate::run::{Items, Outcome, run_rendered};

/// The longest a call may take by default, token and all pages (or steps) included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a body a result holds, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// What a call gives the agent: its text (masked) and whether it failed.
pub struct Answer {
    pub text: String,
    pub is_error: bool,
}

impl Answer {
    pub fn error(message: String) -> Answer {
        Answer {
            text: crate::secret::redact(&message),
            is_error: true,
        }
    }

    /// `value` as pretty JSON, masked.
    pub fn json(value: &Value, is_error: bool) -> Answer {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        Answer {
            text: crate::secret::redact(&text),
            is_error,
        }
    }
}

/// Calls `tool` with `args`, within `limit`.
pub async fn call(
    env: &Env,
    tool: &ToolFile,
    args: Option<Map<String, Value>>,
    limit: Duration,
) -> Answer {
    let vars = match arguments(env, tool, args) {
        Ok(vars) => vars,
        Err(why) => return Answer::error(why),
    };
    let req = match &tool.kind {
        Kind::Request(req) => req,
        Kind::Flow(..) => return super::flow::call(env, tool, vars, limit).await,
    };
    let run = async {
        // The request's own timeout stands; the call's bound is `limit`, around it all.
        let overrides = Overrides::default();
        let rendered = render_request(env, req, &vars, &overrides)?;
        if !env.client.credentials().trusts(&rendered.url) {
            return Ok(Err(format!(
                "{}: refused: {} is outside the profile's origins",
                tool.name,
                rendered.url.origin().ascii_serialization()
            )));
        }
        run_rendered(env, req, rendered, &overrides, Items::Keep)
            .await
            .map(Ok)
    };
    match tokio::time::timeout(limit, run).await {
        Err(_) => Answer::error(late(&tool.name, limit)),
        Ok(Err(e)) => Answer::error(error_text(&e)),
        Ok(Ok(Err(refused))) => Answer::error(refused),
        Ok(Ok(Ok(outcome))) => answer(&outcome),
    }
}

/// The profile's vars with the call's arguments set as values: the renderer never
/// renders a variable's value, so `{{ … }}` in one is sent literally.
fn arguments(env: &Env, tool: &ToolFile, args: Option<Map<String, Value>>) -> Result<Vars, String> {
    let mut vars = env.vars.clone();
    for (name, value) in args.unwrap_or_default() {
        if !tool.arguments.iter().any(|a| a.name == name) {
            return Err(format!("{}: no argument `{name}`", tool.name));
        }
        vars.set(name, value);
    }
    let missing: Vec<String> = tool
        .arguments
        .iter()
        .filter(|a| a.required && !vars.contains(&a.name))
        .map(|a| format!("`{}`", a.name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: missing argument {}",
            tool.name,
            missing.join(", ")
        ));
    }
    Ok(vars)
}

/// The error of a call that took longer than `limit`.
pub fn late(tool: &str, limit: Duration) -> String {
    format!("{tool}: no answer within {} s", limit.as_secs())
}

/// An error as the agent sees it: as the terminal shows it, with its place and the
/// line of the reviewed file (masked by [`Answer::error`]).
pub fn error_text(e: &Error) -> String {
    e.render().trim_end().to_string()
}

/// Each failure once (the status failure is also the failure of the status check).
pub fn unique(failures: &[String]) -> Vec<&String> {
    let mut once: Vec<&String> = Vec::new();
    for f in failures {
        if !once.contains(&f) {
            once.push(f);
        }
    }
    once
}

/// `value`, or when its JSON is longer than [`MAX_BODY`], that JSON as text cut with
/// a note.
pub fn bounded(value: Value) -> (Value, Option<String>) {
    let text = value.to_string();
    if text.len() <= MAX_BODY {
        return (value, None);
    }
    let mut cut = Map::new();
    insert_body(&mut cut, &text);
    let note = cut
        .remove("note")
        .and_then(|n| n.as_str().map(String::from));
    (cut.remove("body").unwrap_or_default(), note)
}

/// The result of a request that was answered: status, what `extract` took (else the
/// body, cut to [`MAX_BODY`]), and the failures of `expect`.
fn answer(o: &Outcome) -> Answer {
    let mut result = Map::new();
    result.insert("status".into(), json!(o.exchange.status));
    match &o.extracted {
        Some(extracted) => insert_extracted(&mut result, extracted.clone()),
        None => insert_outcome_body(&mut result, o),
    }
    result.insert("failures".into(), json!(unique(&o.failures)));
    Answer::json(&Value::Object(result), !o.failures.is_empty())
}

/// What was extracted, cut to a bound with a note.
pub fn insert_extracted(result: &mut Map<String, Value>, extracted: Value) {
    let (value, note) = bounded(extracted);
    result.insert("extracted".into(), value);
    if let Some(note) = note {
        result.insert("note".into(), json!(note));
    }
}

/// The body of `o`: as JSON when it is JSON and short enough, else as text cut to
/// [`MAX_BODY`] with a note.
pub fn insert_outcome_body(result: &mut Map<String, Value>, o: &Outcome) {
    match &o.body {
        Some(body) => {
            let text = body.to_string();
            if text.len() <= MAX_BODY {
                result.insert("body".into(), body.clone());
            } else {
                insert_body(result, &text);
            }
        }
        None => insert_body(result, &String::from_utf8_lossy(&o.exchange.body)),
    }
}

/// `body` as text (JSON too long to give whole, or a body that is not JSON), cut at [`MAX_BODY`] bytes with a note.
pub fn insert_body(result: &mut Map<String, Value>, text: &str) {
    if text.len() <= MAX_BODY {
        result.insert("body".into(), json!(text));
        return;
    }
    let mut end = MAX_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    result.insert("body".into(), json!(&text[..end]));
    result.insert(
        "note".into(),
        json!(format!(
            "the body is cut to its first {end} of {} bytes",
            text.len()
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_body_is_cut_at_a_character_with_a_note() {
        let text = "é".repeat(MAX_BODY);
        let mut result = Map::new();
        insert_body(&mut result, &text);
        let body = result["body"].as_str().unwrap();
        assert_eq!(body.len(), MAX_BODY);
        assert_eq!(
            result["note"],
            json!(format!(
                "the body is cut to its first {MAX_BODY} of {} bytes",
                2 * MAX_BODY
            ))
        );
        let mut short = Map::new();
        insert_body(&mut short, "{}");
        assert_eq!(Value::Object(short), json!({"body": "{}"}));
    }
}
