//! `runner import postman`: a Postman collection (v2.0 or v2.1) to request files and
//! a profile. Folders become folders, `{{var}}` a template variable, collection and
//! environment variables the profile's `vars`, auth the profile's auth with `env()`
//! templates. Scripts are never run: each is listed and kept as a comment.
//!
//! [`plan`] here reads the variables and writes the profile; `items` walks the
//! folders and requests (bodies in `body`, auth in `auth`), and `template`
//! turns Postman's `{{var}}` text into runner's templates.

mod auth;
mod body;
mod items;
mod template;

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, InputError};
use crate::import::mirror::{Literal, LiteralValue, ProfileOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{env_prefix, env_template, ident, one_line, split_userinfo};
use auth::auth;
use items::{Walk, scripts};
pub use template::template;

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub requests: usize,
    pub folders: usize,
    pub scripts: Vec<String>,
}

/// Parses a collection and checks it is v2.0 or v2.1.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let doc: Value = serde_json::from_slice(text)
        .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?;
    let schema = doc
        .pointer("/info/schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known = schema.contains("/v2.0.") || schema.contains("/v2.1.");
    if !known || !doc.get("item").is_some_and(Value::is_array) {
        return Err(InputError::usage(format!(
            "{what}: not a Postman collection v2.0 or v2.1 (info.schema is `{}`); export it from Postman as Collection v2.1",
            one_line(schema, 100)
        ))
        .into());
    }
    Ok(doc)
}

/// Builds the plan of files for `doc` (and an environment's values).
pub fn plan(doc: &Value, environment: Option<&Value>) -> Result<(Plan, Summary), Error> {
    let name = doc
        .pointer("/info/name")
        .and_then(Value::as_str)
        .unwrap_or("collection");
    let prefix = env_prefix(name);
    let vars = variables(doc, environment);
    let base_var = ["baseUrl", "base_url", "baseURL", "url", "host"]
        .into_iter()
        .find(|k| {
            vars.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| v.contains("://"))
        })
        .map(str::to_string);
    let mut walk = Walk {
        prefix: prefix.clone(),
        base_var,
        plan: Plan::default(),
        summary: Summary::default(),
        first_auth: doc.get("auth").and_then(|a| auth(a, &prefix)),
    };
    let collection_scripts = scripts(doc, name, &mut walk.summary.scripts);
    walk.items(doc.get("item"), &PathBuf::from("requests"), "", 0);

    let mut comments = collection_scripts;
    let profile_vars = profile_vars(&vars, walk.base_var.as_ref(), &prefix, &mut comments);
    let base_url = base_url(&vars, &mut walk, &prefix, &mut comments);
    let profile = ProfileOut {
        description: Some(one_line(name, 200)),
        base_url,
        vars: profile_vars,
        auth: walk.first_auth.take(),
    };
    let text = yaml_file(&comments, &profile)?;
    walk.plan
        .add(PathBuf::from("profiles/default.yaml"), text.into_bytes());
    Ok((walk.plan, walk.summary))
}

/// The collection's variables, then the environment's over them; disabled ones
/// left out.
fn variables(doc: &Value, environment: Option<&Value>) -> IndexMap<String, Value> {
    let mut vars: IndexMap<String, Value> = IndexMap::new();
    let mut add_vars = |list: Option<&Value>| {
        for v in list
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(key) = v.get("key").and_then(Value::as_str) else {
                continue;
            };
            if v.get("disabled").and_then(Value::as_bool) == Some(true)
                || v.get("enabled").and_then(Value::as_bool) == Some(false)
            {
                continue;
            }
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            vars.insert(key.to_string(), value);
        }
    };
    add_vars(doc.get("variable"));
    if let Some(env) = environment {
        add_vars(env.get("values"));
    }
    vars
}

/// The profile's `vars`: every variable but the base URL's, secrets (by name) as
/// `env()` templates with a comment naming the variable to set.
fn profile_vars(
    vars: &IndexMap<String, Value>,
    base_var: Option<&String>,
    prefix: &str,
    comments: &mut Vec<String>,
) -> IndexMap<String, LiteralValue> {
    let mut profile_vars = IndexMap::new();
    for (k, v) in vars {
        if Some(k) == base_var {
            continue;
        }
        let var = ident(k);
        let secret = {
            let l = k.to_ascii_lowercase();
            ["token", "secret", "password", "key", "auth"]
                .iter()
                .any(|s| l.contains(s))
        };
        let value = if secret {
            comments.push(format!(
                "vars.{var}: a secret, read from {prefix}_{}",
                var.to_ascii_uppercase()
            ));
            LiteralValue::from(env_template(
                &format!("{prefix}_{}", var.to_ascii_uppercase()),
                None,
            ))
        } else {
            match v {
                Value::String(s) => LiteralValue::from(template(s)),
                // Postman reads no variables inside other values: all literal.
                other => LiteralValue::of(other),
            }
        };
        profile_vars.insert(var, value);
    }
    profile_vars
}

/// The profile's `base_url`: the base URL variable's value (a user and password in
/// it become the profile's auth), else `<PREFIX>_BASE_URL` (with a comment saying so).
fn base_url(
    vars: &IndexMap<String, Value>,
    walk: &mut Walk,
    prefix: &str,
    comments: &mut Vec<String>,
) -> Literal {
    match walk.base_var.clone() {
        Some(k) => {
            let mut url = vars
                .get(&k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some((info, without)) = split_userinfo(&url) {
                url = without;
                comments.push(walk.userinfo_auth(&info));
            }
            template(url.trim_end_matches('/'))
        }
        None => {
            comments.push(format!(
            "the collection names no base URL variable: set {prefix}_BASE_URL (request URLs are absolute)"
        ));
            env_template(&format!("{prefix}_BASE_URL"), Some("http://localhost"))
        }
    }
}
