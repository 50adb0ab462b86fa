//! The v5 tree (a v4 export made one) read into a [`Collection`]: folders and
//! requests, their parameters, headers, bodies, auth and scripts; the base
//! environment and its sub-environments.

use serde_json::Value;

use crate::import::credential::is_secret_name;
use crate::import::text::one_line;
use crate::import::tree::{
    Auth, Body, Collection, Env, Item, OAuth2, Part, Req, disabled, list, reference, text,
};

/// The whole export.
pub(super) fn collection(doc: &Value) -> Collection {
    let mut c = Collection {
        name: Some(text(doc, "name"))
            .filter(|s| !s.is_empty())
            .unwrap_or("insomnia")
            .to_string(),
        ..Collection::default()
    };
    c.items = items(list(doc, "collection"), &Auth::Inherit, "", &mut c);
    if let Some(e) = doc.get("environments") {
        environments(e, &mut c);
    }
    if let Some(jar) = doc.get("cookieJar") {
        let n = list(jar, "cookies").len();
        if n > 0 {
            c.skipped.push(format!(
                "cookie jar `{}`: {n} cookie{} not copied (a session's cookies are credentials)",
                one_line(text(jar, "name"), 60),
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    c
}

/// Folders and requests under one parent; `inherited` is the nearest folder auth.
fn items(nodes: &[Value], inherited: &Auth, place: &str, c: &mut Collection) -> Vec<Item> {
    let mut out = Vec::new();
    for n in nodes {
        let name = Some(text(n, "name"))
            .filter(|s| !s.is_empty())
            .unwrap_or("request")
            .to_string();
        let here = if place.is_empty() {
            one_line(&name, 120)
        } else {
            format!("{place}/{}", one_line(&name, 120))
        };
        let kind = text(n, "_type");
        if let Some(children) = n.get("children").and_then(Value::as_array) {
            let own = auth(n.get("authentication"));
            let auth = if own == Auth::Inherit {
                inherited.clone()
            } else {
                own
            };
            if let Some(env) = n.get("environment").and_then(Value::as_object) {
                flatten("", &Value::Object(env.clone()), &mut c.vars);
            }
            for (k, code) in scripts(n) {
                c.scripts.push((here.clone(), k, code));
            }
            let items = items(children, &auth, &here, c);
            out.push(Item::Folder { name, items });
        } else if matches!(kind, "grpc_request" | "websocket_request") {
            c.skipped.push(format!(
                "{here}: a {kind} (runner sends HTTP requests only)"
            ));
        } else {
            out.push(Item::Request(Box::new(request(n, name, inherited))));
        }
    }
    out
}

/// `preRequestScript`/`afterResponseScript` (v4) or `scripts:` (v5).
fn scripts(n: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, kind) in [
        ("preRequestScript", "pre-request"),
        ("afterResponseScript", "after-response"),
    ] {
        out.push((kind.to_string(), text(n, k).to_string()));
    }
    if let Some(s) = n.get("scripts") {
        out.push(("pre-request".into(), text(s, "preRequest").to_string()));
        out.push((
            "after-response".into(),
            text(s, "afterResponse").to_string(),
        ));
    }
    out.retain(|(_, code)| !code.trim().is_empty());
    out
}

fn request(n: &Value, name: String, inherited: &Auth) -> Req {
    let mut r = Req {
        name,
        method: Some(text(n, "method"))
            .filter(|s| !s.is_empty())
            .unwrap_or("GET")
            .to_string(),
        url: text(n, "url").to_string(),
        description: Some(text(n, "description").to_string()).filter(|s| !s.is_empty()),
        scripts: scripts(n),
        ..Req::default()
    };
    for (key, into, what) in [
        ("parameters", 0, "query parameter"),
        ("headers", 1, "header"),
        ("pathParameters", 2, "path parameter"),
    ] {
        for p in list(n, key) {
            let (k, v) = (text(p, "name"), text(p, "value"));
            if k.is_empty() {
                continue;
            }
            if disabled(p) {
                r.notes
                    .push(format!("disabled {what}: {}", one_line(k, 100)));
                continue;
            }
            let pair = (k.to_string(), v.to_string());
            match into {
                0 => r.query.push(pair),
                1 => r.headers.push(pair),
                _ => r.path_params.push(pair),
            }
        }
    }
    if !r.query.is_empty()
        && let Some((path, q)) = r.url.split_once('?')
    {
        // The URL's own query first, then the parameters.
        let mut pairs: Vec<(String, String)> = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        pairs.append(&mut r.query);
        r.query = pairs;
        r.url = path.to_string();
    }
    r.body = body(n.get("body").unwrap_or(&Value::Null), &mut r.notes);
    let own = auth(n.get("authentication"));
    r.auth = if own == Auth::Inherit {
        inherited.clone()
    } else {
        own
    };
    r
}

fn body(b: &Value, notes: &mut Vec<String>) -> Body {
    let mime = text(b, "mimeType");
    let raw = text(b, "text");
    let mut enabled = Vec::new();
    for p in list(b, "params") {
        if disabled(p) {
            notes.push(format!(
                "disabled form field: {}",
                one_line(text(p, "name"), 100)
            ));
        } else {
            enabled.push(p);
        }
    }
    let params = || enabled.iter().copied();
    match mime.split(';').next().unwrap_or_default().trim() {
        "" if raw.is_empty() => Body::None,
        "application/x-www-form-urlencoded" => Body::Form(
            params()
                .map(|p| (text(p, "name").to_string(), text(p, "value").to_string()))
                .collect(),
        ),
        "multipart/form-data" => Body::Multipart(
            params()
                .map(|p| {
                    let part = if text(p, "type") == "file" {
                        Part::File(text(p, "fileName").to_string())
                    } else {
                        Part::Text(text(p, "value").to_string())
                    };
                    (text(p, "name").to_string(), part)
                })
                .collect(),
        ),
        "application/graphql" => {
            let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
            let variables = match v.get("variables") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            Body::Graphql {
                query: text(&v, "query").to_string(),
                variables,
            }
        }
        m if m.contains("json") => Body::Json(raw.to_string()),
        _ if !text(b, "fileName").is_empty() => Body::File(text(b, "fileName").to_string()),
        m => Body::Text(raw.to_string(), known_type(m)),
    }
}

/// The content types runner writes as a header when the request has none.
fn known_type(m: &str) -> Option<&'static str> {
    [
        "text/plain",
        "application/xml",
        "text/xml",
        "application/yaml",
        "text/yaml",
        "application/edn",
        "text/csv",
        "text/html",
    ]
    .into_iter()
    .find(|k| *k == m)
}

/// An `authentication` block as an auth mode (values never kept).
fn auth(a: Option<&Value>) -> Auth {
    let Some(a) = a.filter(|a| a.as_object().is_some_and(|m| !m.is_empty())) else {
        return Auth::Inherit;
    };
    if disabled(a) {
        return Auth::None;
    }
    match text(a, "type") {
        "none" => Auth::None,
        "bearer" => Auth::Bearer(reference(text(a, "token"))),
        "basic" => Auth::Basic(reference(text(a, "password"))),
        "apikey" => Auth::ApiKey {
            name: text(a, "key").to_string(),
            query: text(a, "addTo") == "queryParams",
            value: reference(text(a, "value")),
        },
        "oauth2" => Auth::OAuth2(OAuth2 {
            grant: text(a, "grantType").to_string(),
            token_url: text(a, "accessTokenUrl").to_string(),
            authorization_url: text(a, "authorizationUrl").to_string(),
            scope: text(a, "scope").to_string(),
            pkce: a.get("usePkce").and_then(Value::as_bool) == Some(true),
        }),
        "" => Auth::Inherit,
        other => Auth::Other(other.to_string()),
    }
}

/// A nested environment object flattened: `{api: {url: x}}` → `api.url`.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() && out.len() < 10_000 {
                    flatten(&key, v, out);
                } else {
                    out.retain(|(o, _)| *o != key);
                    out.push((key, v.clone()));
                }
            }
        }
        other if !prefix.is_empty() => out.push((prefix.to_string(), other.clone())),
        _ => {}
    }
}

/// The base environment's values under each sub-environment's; a private one's
/// values (and secret-looking names) are `env()` templates.
fn environments(e: &Value, c: &mut Collection) {
    let mut base = Vec::new();
    flatten("", e.get("data").unwrap_or(&Value::Null), &mut base);
    let subs = list(e, "subEnvironments");
    if subs.is_empty() {
        c.envs.push(Env {
            name: "default".to_string(),
            vars: base,
            secret: Vec::new(),
        });
        return;
    }
    for s in subs {
        let mut vars = base.clone();
        let mut own = Vec::new();
        flatten("", s.get("data").unwrap_or(&Value::Null), &mut own);
        let private = s.get("isPrivate").and_then(Value::as_bool) == Some(true);
        let secret = own
            .iter()
            .filter(|(k, _)| private || is_secret_name(k))
            .map(|(k, _)| k.clone())
            .collect();
        for (k, v) in own {
            vars.retain(|(o, _)| *o != k);
            vars.push((k, v));
        }
        c.envs.push(Env {
            name: text(s, "name").to_string(),
            vars,
            secret,
        });
    }
}
