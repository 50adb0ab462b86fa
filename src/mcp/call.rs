//! One tool call: the arguments as variables (values, never templates), the request
//! rendered and its URL checked against the profile's origins, sent through the
//! profile's session like `runner exec`, and the answer cut to a bound and masked.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::tools::ToolFile;
use crate::env::Env;
use crate::error::Error;
use crate::run::render::{Overrides, render_request};
use crate::run::{Items, Outcome, run_rendered};

/// The longest a call may take, token and all pages included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a body a result holds, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// What a call gives the agent: its text (masked) and whether it failed.
pub struct Answer {
    pub text: String,
    pub is_error: bool,
}

impl Answer {
    fn error(message: String) -> Answer {
        Answer {
            text: crate::secret::redact(&message),
            is_error: true,
        }
    }
}

/// Calls `tool` with `args`.
pub async fn call(env: &Env, tool: &ToolFile, args: Option<Map<String, Value>>) -> Answer {
    let mut vars = env.vars.clone();
    for (name, value) in args.unwrap_or_default() {
        if !tool.arguments.iter().any(|a| a.name == name) {
            return Answer::error(format!("{}: no argument `{name}`", tool.name));
        }
        // A value, set as is: the renderer never renders a variable's value, so
        // `{{ … }}` in it is sent literally.
        vars.set(name, value);
    }
    let missing: Vec<String> = tool
        .arguments
        .iter()
        .filter(|a| a.required && !vars.contains(&a.name))
        .map(|a| format!("`{}`", a.name))
        .collect();
    if !missing.is_empty() {
        return Answer::error(format!(
            "{}: missing argument {}",
            tool.name,
            missing.join(", ")
        ));
    }
    let run = async {
        let overrides = Overrides {
            timeout: Some(env.timeout.min(CALL_TIMEOUT)),
            ..Overrides::default()
        };
        let rendered = render_request(env, &tool.req, &vars, &overrides)?;
        if !env.client.credentials().trusts(&rendered.url) {
            return Ok(Err(format!(
                "{}: refused: {} is outside the profile's origins",
                tool.name,
                rendered.url.origin().ascii_serialization()
            )));
        }
        run_rendered(env, &tool.req, rendered, &overrides, Items::Keep)
            .await
            .map(Ok)
    };
    match tokio::time::timeout(CALL_TIMEOUT, run).await {
        Err(_) => Answer::error(format!(
            "{}: no answer within {} s",
            tool.name,
            CALL_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Answer::error(error_text(&e)),
        Ok(Ok(Err(refused))) => Answer::error(refused),
        Ok(Ok(Ok(outcome))) => answer(&outcome),
    }
}

/// An error as the agent sees it: the message, without a snippet of the file.
fn error_text(e: &Error) -> String {
    e.render().trim_end().to_string()
}

/// The result of a request that was answered: status, what `extract` took (else the
/// body, cut to [`MAX_BODY`]), and the failures of `expect`.
fn answer(o: &Outcome) -> Answer {
    let mut result = Map::new();
    result.insert("status".into(), json!(o.exchange.status));
    match (&o.extracted, &o.body) {
        (Some(extracted), _) => {
            result.insert("extracted".into(), extracted.clone());
        }
        (None, Some(body)) => {
            let text = body.to_string();
            if text.len() <= MAX_BODY {
                result.insert("body".into(), body.clone());
            } else {
                insert_body(&mut result, &text);
            }
        }
        (None, None) => {
            let text = String::from_utf8_lossy(&o.exchange.body);
            insert_body(&mut result, &text);
        }
    }
    // The status failure is also the failure of the status check: say it once.
    let mut failures: Vec<&String> = Vec::new();
    for f in &o.failures {
        if !failures.contains(&f) {
            failures.push(f);
        }
    }
    result.insert("failures".into(), json!(failures));
    let text = serde_json::to_string_pretty(&Value::Object(result)).unwrap_or_default();
    Answer {
        text: crate::secret::redact(&text),
        is_error: !o.failures.is_empty(),
    }
}

/// `body` as text (JSON too long to give whole, or a body that is not JSON), cut at [`MAX_BODY`] bytes with a note.
fn insert_body(result: &mut Map<String, Value>, text: &str) {
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
