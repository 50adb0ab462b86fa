//! Bruno's YAML format (OpenCollection): `opencollection.yml` at the root,
//! `folder.yml` in folders, one `.yml` per request (`info:`, `http:` or `graphql:`,
//! `runtime:`), `environments/*.yml`. Read into the same [`Req`] as `.bru` files.

use std::path::Path;

use serde_json::Value;

use super::read_text;
use crate::error::{Error, InputError};
use crate::import::text::{one_line, plain_text};
use crate::import::tree::{
    Auth, Body, Collection, Env, OAuth2, Part, Req, body_path, disabled, list, predicate,
    reference, text,
};

fn load(p: &Path) -> Result<Value, String> {
    let text = read_text(p).map_err(|e| e.to_string())?;
    let v: Value = serde_saphyr::from_str(&text)
        .map_err(|e| format!("{}: not valid YAML: {e}", p.display()))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("{}: not a YAML map", p.display()))
    }
}

/// A value as text (`value: 5` and `value: {data: …}` too).
fn value_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .get("data")
            .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string))
            .unwrap_or_default(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `opencollection.yml`: the name, headers, auth, variables and scripts.
pub(super) fn root(
    dir: &Path,
    c: &mut Collection,
    headers: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    let path = [
        dir.join("opencollection.yml"),
        dir.join("opencollection.yaml"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_default();
    let v = load(&path).map_err(InputError::usage)?;
    c.name = text(v.get("info").unwrap_or(&Value::Null), "name").to_string();
    let mut auth = Auth::Inherit;
    settings(v.get("request"), "collection", c, headers, &mut auth);
    c.auth = auth;
    Ok(())
}

/// A folder's or the collection's `request:` block.
fn settings(
    r: Option<&Value>,
    place: &str,
    c: &mut Collection,
    headers: &mut Vec<(String, String)>,
    auth: &mut Auth,
) {
    let Some(r) = r else { return };
    for h in list(r, "headers").iter().filter(|h| !disabled(h)) {
        let k = text(h, "name");
        headers.retain(|(o, _)| !o.eq_ignore_ascii_case(k));
        headers.push((k.to_string(), value_text(h.get("value"))));
    }
    for v in list(r, "variables").iter().filter(|v| !disabled(v)) {
        c.vars.push((
            text(v, "name").to_string(),
            Value::String(value_text(v.get("value"))),
        ));
    }
    for (kind, code) in scripts(r) {
        c.scripts.push((place.to_string(), kind, code));
    }
    match read_auth(r.get("auth")) {
        Auth::Inherit => {}
        a => *auth = a,
    }
}

/// `folder.yml`: its name and seq; its headers and auth pass down.
pub(super) fn folder(
    p: &Path,
    here: &str,
    c: &mut Collection,
    headers: &mut Vec<(String, String)>,
    auth: &mut Auth,
) -> Option<(Option<String>, u64)> {
    let f = [p.join("folder.yml"), p.join("folder.yaml")]
        .into_iter()
        .find(|f| f.is_file())?;
    let v = match load(&f) {
        Ok(v) => v,
        Err(e) => {
            c.skipped.push(format!("{here}: {e}"));
            return None;
        }
    };
    let info = v.get("info").unwrap_or(&Value::Null);
    settings(v.get("request"), here, c, headers, auth);
    let name = Some(text(info, "name").to_string()).filter(|n| !n.is_empty());
    Some((
        name,
        info.get("seq").and_then(Value::as_u64).unwrap_or(u64::MAX),
    ))
}

fn scripts(v: &Value) -> Vec<(String, String)> {
    let from = v
        .get("runtime")
        .map_or_else(|| list(v, "scripts"), |r| list(r, "scripts"));
    from.iter()
        .map(|sc| (text(sc, "type").to_string(), text(sc, "code").to_string()))
        .filter(|(_, code)| !code.trim().is_empty())
        .collect()
}

/// An `auth:` value (`inherit`, or a map with `type`).
fn read_auth(a: Option<&Value>) -> Auth {
    let Some(a) = a else { return Auth::Inherit };
    if let Some(t) = a.as_str() {
        return if t == "none" {
            Auth::None
        } else {
            Auth::Inherit
        };
    }
    match text(a, "type") {
        "" | "inherit" => Auth::Inherit,
        "none" => Auth::None,
        "bearer" => Auth::Bearer(reference(text(a, "token"))),
        "basic" => Auth::Basic(reference(text(a, "password"))),
        "apikey" => Auth::ApiKey {
            name: text(a, "key").to_string(),
            query: text(a, "placement") == "query",
            value: reference(text(a, "value")),
        },
        "oauth2" => Auth::OAuth2(OAuth2 {
            grant: text(a, "flow").to_string(),
            token_url: text(a, "accessTokenUrl").to_string(),
            authorization_url: text(a, "authorizationUrl").to_string(),
            scope: text(a, "scope").to_string(),
            pkce: a.get("pkce").is_some_and(|p| !disabled(p)),
        }),
        other => Auth::Other(other.to_string()),
    }
}

/// One request file: its seq and the request.
pub(super) fn request(
    p: &Path,
    file: &str,
    headers: &[(String, String)],
    inherited: &Auth,
) -> Result<(u64, Req), String> {
    let v = load(p)?;
    let info = v.get("info").unwrap_or(&Value::Null);
    let kind = text(info, "type");
    let Some(h) = v.get("http").or_else(|| v.get("graphql")) else {
        return Err(format!(
            "a `{}` request (runner sends HTTP requests only)",
            one_line(if kind.is_empty() { "unknown" } else { kind }, 30)
        ));
    };
    let mut r = Req {
        name: Some(text(info, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or(file)
            .to_string(),
        method: Some(text(h, "method"))
            .filter(|m| !m.is_empty())
            .unwrap_or(if v.get("graphql").is_some() {
                "POST"
            } else {
                "GET"
            })
            .to_string(),
        url: text(h, "url").to_string(),
        description: Some(plain_text(&value_text(info.get("description")), 200))
            .filter(|d| !d.is_empty()),
        headers: headers.to_vec(),
        scripts: scripts(&v),
        ..Req::default()
    };
    for hd in list(h, "headers") {
        let k = text(hd, "name");
        if disabled(hd) {
            r.notes
                .push(format!("disabled header: {}", one_line(k, 100)));
            continue;
        }
        r.headers.retain(|(o, _)| !o.eq_ignore_ascii_case(k));
        r.headers.push((k.to_string(), value_text(hd.get("value"))));
    }
    for pm in list(h, "params") {
        let pair = (text(pm, "name").to_string(), value_text(pm.get("value")));
        if disabled(pm) {
            r.notes
                .push(format!("disabled parameter: {}", one_line(&pair.0, 100)));
        } else if text(pm, "type") == "path" {
            r.path_params.push(pair);
        } else {
            r.query.push(pair);
        }
    }
    r.body = match v.get("graphql").and_then(|g| g.get("body")) {
        Some(b) => Body::Graphql {
            query: text(b, "query").to_string(),
            variables: value_text(b.get("variables")),
        },
        None => body(h.get("body"), &mut r.notes),
    };
    r.auth = match read_auth(h.get("auth")) {
        Auth::Inherit => inherited.clone(),
        a => a,
    };
    if let Some(rt) = v.get("runtime") {
        runtime(rt, &mut r);
    }
    let seq = info.get("seq").and_then(Value::as_u64).unwrap_or(u64::MAX);
    Ok((seq, r))
}

fn body(b: Option<&Value>, notes: &mut Vec<String>) -> Body {
    let Some(b) = b else { return Body::None };
    let mode = Some(text(b, "type"))
        .filter(|t| !t.is_empty())
        .unwrap_or(text(b, "mode"));
    // `data`, or (an older shape) the text under the mode's own key.
    let data = b.get("data").or_else(|| b.get(mode));
    let raw = || value_text(data);
    let entries = || -> Vec<&Value> {
        data.and_then(Value::as_array)
            .map(|a| a.iter().filter(|e| !disabled(e)).collect())
            .unwrap_or_default()
    };
    match mode {
        "json" => Body::Json(raw()),
        "text" => Body::Text(raw(), Some("text/plain")),
        "xml" => Body::Text(raw(), Some("application/xml")),
        "sparql" => Body::Text(raw(), Some("application/sparql-query")),
        "form-urlencoded" | "formUrlEncoded" => Body::Form(
            entries()
                .into_iter()
                .map(|e| (text(e, "name").to_string(), value_text(e.get("value"))))
                .collect(),
        ),
        "multipart-form" | "multipartForm" => Body::Multipart(
            entries()
                .into_iter()
                .map(|e| {
                    let name = text(e, "name").to_string();
                    if text(e, "type") == "file" {
                        let path = match e.get("value") {
                            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
                            Some(Value::String(p)) => Some(p.as_str()),
                            _ => None,
                        };
                        (name, Part::File(path.unwrap_or_default().to_string()))
                    } else {
                        (name, Part::Text(value_text(e.get("value"))))
                    }
                })
                .collect(),
        ),
        "file" => entries()
            .into_iter()
            .find(|e| e.get("selected").and_then(Value::as_bool) != Some(false))
            .map_or(Body::None, |e| Body::File(text(e, "filePath").to_string())),
        "" | "none" => Body::None,
        other => {
            notes.push(format!("body type `{}` not imported", one_line(other, 40)));
            Body::None
        }
    }
}

/// `runtime:` assertions as `expect`, variables put in place (as `.bru` does),
/// actions noted.
fn runtime(rt: &Value, r: &mut Req) {
    for a in list(rt, "assertions") {
        let expr = text(a, "expression");
        let op = text(a, "operator");
        let val = value_text(a.get("value"));
        let shown = one_line(&format!("{expr}: {op} {val}"), 200);
        if disabled(a) {
            r.notes.push(format!("disabled assert: {shown}"));
            continue;
        }
        let status = (expr == "res.status" && op == "eq")
            .then(|| val.trim().parse::<u16>().ok())
            .flatten()
            .filter(|s| (100..600).contains(s));
        if let Some(st) = status {
            r.expect_status.push(st);
        } else if let (Some(path), Some(pred)) =
            (body_path(expr), predicate(&format!("{op} {val}")))
        {
            r.jsonpath.push((path, pred));
        } else {
            r.notes
                .push(format!("assert {shown}: no expect equivalent, not checked"));
        }
    }
    let vars: Vec<(String, String)> = list(rt, "variables")
        .iter()
        .filter(|v| !disabled(v))
        .map(|v| (text(v, "name").to_string(), value_text(v.get("value"))))
        .collect();
    super::read::inline_vars(r, &vars);
    if !list(rt, "actions").is_empty() {
        r.notes.push(format!(
            "{} post-response action(s): not run (an `extract` in a flow can take their values)",
            list(rt, "actions").len()
        ));
    }
}

/// `environments/<name>.yml`: its variables; secret ones by name only.
pub(super) fn environment(p: &Path, stem: &str) -> Result<Env, Error> {
    let v = load(p).map_err(InputError::usage)?;
    let mut e = Env {
        name: Some(text(&v, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or(stem)
            .to_string(),
        ..Env::default()
    };
    for var in list(&v, "variables").iter().filter(|v| !disabled(v)) {
        let name = text(var, "name").to_string();
        if var.get("secret").and_then(Value::as_bool) == Some(true) {
            e.secret.push(name);
        } else {
            e.vars
                .push((name, Value::String(value_text(var.get("value")))));
        }
    }
    Ok(e)
}
