//! `http-client.env.json` (and VS Code's `$shared`) as profiles: one per
//! environment, its values the profile's `vars`. `http-client.private.env.json`
//! values are never read into a file: each becomes an `env()` template. An
//! environment's `Security.Auth` (JetBrains' OAuth 2 settings) becomes the profile's
//! auth, its secrets `env()` templates too.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use super::template::Conv;
use crate::error::{Error, InputError};
use crate::import::credential::is_secret_name;
use crate::import::input::read_file;
use crate::import::mirror::{AuthOut, LiteralValue};
use crate::import::text::{env_template, ident, one_line, snake};

/// One environment: its name, vars, auth, and comments for its profile.
#[derive(Debug, Default)]
pub struct Environment {
    pub name: String,
    pub vars: IndexMap<String, LiteralValue>,
    pub auth: Option<AuthOut>,
    pub comments: Vec<String>,
}

fn read_json(path: &Path) -> Result<Option<Value>, Error> {
    if !path.is_file() {
        return Ok(None);
    }
    let what = path.display().to_string();
    let bytes = read_file(path, &format!("the environment file {what}"))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(InputError::usage(format!("{what}: not a JSON object of environments")).into());
    }
    Ok(Some(v))
}

/// The environments of `dir`'s env files (none when it has none).
pub fn environments(dir: &Path, prefix: &str) -> Result<Vec<Environment>, Error> {
    let public = read_json(&dir.join("http-client.env.json"))?;
    let private = read_json(&dir.join("http-client.private.env.json"))?;
    let empty = serde_json::Map::new();
    let obj = |v: &Option<Value>| v.as_ref().and_then(Value::as_object).cloned();
    let public = obj(&public).unwrap_or_default();
    let private = obj(&private).unwrap_or_default();
    let mut names: Vec<&String> = public.keys().chain(private.keys()).collect();
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for name in names {
        if name == "$shared" || !seen.insert(name.clone()) {
            continue;
        }
        let profile = {
            let s = snake(name);
            if s.is_empty() { "env".to_string() } else { s }
        };
        let env_prefix = format!("{prefix}_{}", profile.to_ascii_uppercase());
        let mut e = Environment {
            name: profile,
            ..Environment::default()
        };
        for layer in [public.get("$shared"), public.get(name)] {
            let map = layer.and_then(Value::as_object).unwrap_or(&empty);
            e.public_values(map, &env_prefix);
        }
        for layer in [private.get("$shared"), private.get(name)] {
            let map = layer.and_then(Value::as_object).unwrap_or(&empty);
            e.private_values(map, &env_prefix);
        }
        out.push(e);
    }
    Ok(out)
}

impl Environment {
    fn public_values(&mut self, map: &serde_json::Map<String, Value>, prefix: &str) {
        for (k, v) in map {
            if k == "Security" {
                self.security(v, prefix, false);
                continue;
            }
            let var = ident(k);
            let value = match v {
                Value::String(s) if is_secret_name(k) && !s.is_empty() => {
                    self.secret(&var, prefix, "its name says it is a secret")
                }
                Value::String(s) => LiteralValue::from(Conv::default().template(s)),
                other => LiteralValue::of(other),
            };
            self.vars.insert(var, value);
        }
    }

    fn private_values(&mut self, map: &serde_json::Map<String, Value>, prefix: &str) {
        for k in map.keys() {
            if k == "Security" {
                self.security(&map[k], prefix, true);
                continue;
            }
            let var = ident(k);
            let value = self.secret(&var, prefix, "from the private environment file");
            self.vars.insert(var, value);
        }
    }

    fn secret(&mut self, var: &str, prefix: &str, why: &str) -> LiteralValue {
        let name = format!("{prefix}_{}", var.to_ascii_uppercase());
        self.comments
            .push(format!("vars.{var}: {why}, read from {name}"));
        LiteralValue::from(env_template(&name, None))
    }

    /// `Security.Auth`: the first OAuth 2 entry as the profile's auth.
    /// In the private file (`private`), every value is an `env()` template.
    fn security(&mut self, v: &Value, prefix: &str, private: bool) {
        let Some((id, a)) = v
            .get("Auth")
            .and_then(Value::as_object)
            .and_then(|m| m.iter().next())
        else {
            return;
        };
        let get = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default();
        let conv = |k: &str| {
            let s = get(k);
            let name = format!("{prefix}_{}", snake(k).to_ascii_uppercase());
            (!s.is_empty()).then(|| {
                if private {
                    env_template(&name, None)
                } else {
                    Conv::default().template(s)
                }
            })
        };
        let env = |s: &str| env_template(&format!("{prefix}_{s}"), None);
        let mut auth = AuthOut {
            token_url: conv("Token URL"),
            client_id: conv("Client ID"),
            scopes: get("Scope")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ..AuthOut::default()
        };
        let has = |k: &str| !get(k).is_empty();
        if has("Client Secret") {
            auth.client_secret = Some(env("CLIENT_SECRET"));
        }
        auth.kind = match get("Grant Type").to_ascii_lowercase().as_str() {
            "client credentials" => "oauth2_client_credentials",
            "password" => {
                auth.username = conv("Username");
                auth.password = Some(env_template(&format!("{prefix}_PASSWORD"), Some("")));
                "oauth2_password"
            }
            "device authorization" | "device code" => {
                auth.device_authorization_url = conv("Device Auth URL");
                "oauth2_device_code"
            }
            _ => {
                auth.authorization_url = conv("Auth URL");
                "oauth2_authorization_code"
            }
        };
        self.comments.push(format!(
            "auth: from Security.Auth `{}`; its secrets are read from {prefix}_CLIENT_SECRET / {prefix}_PASSWORD",
            one_line(id, 60)
        ));
        self.auth = Some(auth);
    }
}
