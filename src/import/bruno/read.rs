//! A `.bru` request (and a folder's or the collection's `.bru`) read into the
//! shared [`Req`]: method block, params, headers, body modes, auth modes,
//! `vars:pre-request` (put in place), `assert` lines that map as `expect`, scripts
//! and tests as comments.

use serde_json::Value;

use super::bru::{Block, Content, Pair};
use crate::import::text::{one_line, plain_text};
use crate::import::tree::{Auth, Body, OAuth2, Part, Req, body_path, predicate, reference};

const METHODS: [&str; 10] = [
    "get", "post", "put", "delete", "patch", "options", "head", "connect", "trace", "http",
];

/// The pairs of the dictionary block `name` (enabled and disabled).
pub(super) fn dict<'a>(blocks: &'a [Block], name: &str) -> &'a [Pair] {
    blocks
        .iter()
        .find_map(|b| match &b.content {
            Content::Dict(p) if b.name == name => Some(p.as_slice()),
            _ => None,
        })
        .unwrap_or_default()
}

/// An enabled value of a dictionary block.
pub(super) fn get<'a>(blocks: &'a [Block], block: &str, key: &str) -> Option<&'a str> {
    dict(blocks, block)
        .iter()
        .find(|p| p.enabled && p.key == key)
        .map(|p| p.value.as_str())
}

fn text<'a>(blocks: &'a [Block], name: &str) -> Option<&'a str> {
    blocks.iter().find_map(|b| match &b.content {
        Content::Text(t) if b.name == name => Some(t.as_str()),
        _ => None,
    })
}

/// Enabled pairs as `(key, value)`; each disabled one a note.
fn enabled(pairs: &[Pair], what: &str, notes: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in pairs {
        if p.enabled {
            out.push((p.key.clone(), p.value.clone()));
        } else {
            notes.push(format!("disabled {what}: {}", one_line(&p.key, 100)));
        }
    }
    out
}

/// The auth of `mode` from its `auth:<mode>` block (values never kept).
pub(super) fn auth(blocks: &[Block], mode: &str) -> Auth {
    let v = |k: &str| get(blocks, &format!("auth:{mode}"), k).unwrap_or_default();
    match mode {
        "" | "inherit" => Auth::Inherit,
        "none" => Auth::None,
        "bearer" => Auth::Bearer(reference(v("token"))),
        "basic" => Auth::Basic(reference(v("password"))),
        "apikey" => Auth::ApiKey {
            name: v("key").to_string(),
            query: v("placement") == "queryparams",
            value: reference(v("value")),
        },
        "oauth2" => Auth::OAuth2(OAuth2 {
            grant: v("grant_type").to_string(),
            token_url: v("access_token_url").to_string(),
            authorization_url: v("authorization_url").to_string(),
            scope: v("scope").to_string(),
            pkce: v("pkce") == "true",
        }),
        other => Auth::Other(other.to_string()),
    }
}

/// The scripts and tests of a file: `(kind, code)`.
pub(super) fn scripts(blocks: &[Block]) -> Vec<(String, String)> {
    [
        ("script:pre-request", "pre-request"),
        ("script:post-response", "post-response"),
        ("tests", "tests"),
    ]
    .into_iter()
    .filter_map(|(b, kind)| {
        text(blocks, b)
            .filter(|t| !t.trim().is_empty())
            .map(|t| (kind.to_string(), t.to_string()))
    })
    .collect()
}

/// `@file(a|b) @contentType(x)`: the first path, or `None` for a plain value.
fn file_value(v: &str) -> Option<String> {
    let v = v.split(" @contentType(").next().unwrap_or_default().trim();
    let inner = v.strip_prefix("@file(")?.strip_suffix(')')?;
    Some(inner.split('|').next().unwrap_or_default().to_string())
}

/// One request file; `headers` and `inherited` come from its folders.
pub(super) fn request(
    blocks: &[Block],
    name: String,
    headers: &[(String, String)],
    inherited: &Auth,
) -> Result<Req, String> {
    let Some(mb) = blocks.iter().find(|b| METHODS.contains(&b.name.as_str())) else {
        let kind = get(blocks, "meta", "type").unwrap_or("unknown");
        return Err(format!(
            "a `{}` request (runner sends HTTP requests only)",
            one_line(kind, 30)
        ));
    };
    let m = mb.name.as_str();
    let method = if m == "http" {
        get(blocks, m, "method").unwrap_or("GET").to_string()
    } else {
        m.to_ascii_uppercase()
    };
    let mut r = Req {
        name,
        method,
        url: get(blocks, m, "url").unwrap_or_default().to_string(),
        scripts: scripts(blocks),
        description: text(blocks, "docs").map(|d| plain_text(d, 200)),
        headers: headers.to_vec(),
        ..Req::default()
    };
    r.query = enabled(
        dict(blocks, "params:query"),
        "query parameter",
        &mut r.notes,
    );
    r.path_params = enabled(dict(blocks, "params:path"), "path parameter", &mut r.notes);
    for (k, v) in enabled(dict(blocks, "headers"), "header", &mut r.notes) {
        r.headers.retain(|(o, _)| !o.eq_ignore_ascii_case(&k));
        r.headers.push((k, v));
    }
    let graphql = get(blocks, "meta", "type") == Some("graphql");
    let mode = get(blocks, m, "body").unwrap_or(if graphql { "graphql" } else { "none" });
    r.body = body(blocks, mode, &mut r.notes);
    r.auth = match auth(blocks, get(blocks, m, "auth").unwrap_or("inherit")) {
        Auth::Inherit => inherited.clone(),
        a => a,
    };
    asserts(blocks, &mut r);
    for p in dict(blocks, "vars:post-response") {
        r.notes.push(format!(
            "vars:post-response {}: not set (an `extract` in a flow can take it)",
            one_line(&p.key, 60)
        ));
    }
    let vars = enabled(dict(blocks, "vars:pre-request"), "variable", &mut r.notes);
    inline_vars(&mut r, &vars);
    Ok(r)
}

fn body(blocks: &[Block], mode: &str, notes: &mut Vec<String>) -> Body {
    let t = |n: &str| text(blocks, n).unwrap_or_default().to_string();
    match mode {
        "json" => Body::Json(t("body:json")),
        "text" => Body::Text(t("body:text"), Some("text/plain")),
        "xml" => Body::Text(t("body:xml"), Some("application/xml")),
        "sparql" => Body::Text(t("body:sparql"), Some("application/sparql-query")),
        "formUrlEncoded" => Body::Form(enabled(
            dict(blocks, "body:form-urlencoded"),
            "form field",
            notes,
        )),
        "multipartForm" => Body::Multipart(
            enabled(dict(blocks, "body:multipart-form"), "form part", notes)
                .into_iter()
                .map(|(k, v)| match file_value(&v) {
                    Some(path) => (k, Part::File(path)),
                    None => (k, Part::Text(v)),
                })
                .collect(),
        ),
        "graphql" => Body::Graphql {
            query: t("body:graphql"),
            variables: t("body:graphql:vars"),
        },
        "file" => match dict(blocks, "body:file")
            .iter()
            .find(|p| p.enabled)
            .and_then(|p| file_value(&p.value))
        {
            Some(path) => Body::File(path),
            None => Body::None,
        },
        "none" | "" => Body::None,
        other => {
            notes.push(format!("body mode `{}` not imported", one_line(other, 40)));
            Body::None
        }
    }
}

/// `assert` lines: `res.status: eq 200` as `expect.status`, `res.body.x: <op>` as
/// `expect.jsonpath`; the rest kept as comments.
fn asserts(blocks: &[Block], r: &mut Req) {
    for p in dict(blocks, "assert") {
        let shown = one_line(&format!("{}: {}", p.key, p.value), 200);
        if !p.enabled {
            r.notes.push(format!("disabled assert: {shown}"));
            continue;
        }
        let status = (p.key.trim() == "res.status")
            .then(|| p.value.trim().strip_prefix("eq "))
            .flatten()
            .and_then(|v| v.trim().parse::<u16>().ok())
            .filter(|s| (100..600).contains(s));
        if let Some(s) = status {
            r.expect_status.push(s);
        } else if let (Some(path), Some(pred)) = (body_path(&p.key), predicate(&p.value)) {
            r.jsonpath.push((path, pred));
        } else {
            r.notes
                .push(format!("assert {shown}: no expect equivalent, not checked"));
        }
    }
}

/// `{{name}}` of each `vars:pre-request` variable replaced by its value in every
/// string of the request.
pub(super) fn inline_vars(r: &mut Req, vars: &[(String, String)]) {
    if vars.is_empty() {
        return;
    }
    for (k, _) in vars {
        r.notes.push(format!(
            "vars:pre-request {}: its value is written in place",
            one_line(k, 60)
        ));
    }
    let f = |s: &mut String| {
        for (k, v) in vars {
            for pat in [format!("{{{{{k}}}}}"), format!("{{{{ {k} }}}}")] {
                if s.contains(&pat) {
                    *s = s.replace(&pat, v);
                }
            }
        }
    };
    f(&mut r.url);
    for (_, v) in r
        .query
        .iter_mut()
        .chain(r.headers.iter_mut())
        .chain(r.path_params.iter_mut())
    {
        f(v);
    }
    match &mut r.body {
        Body::Json(t) | Body::Text(t, _) | Body::File(t) => f(t),
        Body::Form(pairs) => pairs.iter_mut().for_each(|(_, v)| f(v)),
        Body::Multipart(parts) => parts.iter_mut().for_each(|(_, p)| match p {
            Part::Text(v) | Part::File(v) => f(v),
        }),
        Body::Graphql { query, variables } => {
            f(query);
            f(variables);
        }
        Body::None => {}
    }
}

/// The environment file's values and secret names.
pub(super) fn environment(blocks: &[Block]) -> (Vec<(String, Value)>, Vec<String>) {
    let vars = dict(blocks, "vars")
        .iter()
        .filter(|p| p.enabled)
        .map(|p| (p.key.clone(), Value::String(p.value.clone())))
        .collect();
    let secret = blocks
        .iter()
        .filter(|b| b.name == "vars:secret")
        .flat_map(|b| match &b.content {
            Content::List(l) => l
                .iter()
                .map(|s| s.trim_start_matches('~').to_string())
                .collect(),
            Content::Dict(p) => p.iter().map(|p| p.key.clone()).collect(),
            Content::Text(_) => Vec::new(),
        })
        .collect();
    (vars, secret)
}
