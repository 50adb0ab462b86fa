//! Profiles from the document's servers: one per server (variables at their
//! defaults), named `default` for the first and by host for the others, each with the
//! auth of the preferred security scheme.

use indexmap::IndexMap;
use serde_json::Value;

use super::document::Source;
use super::security::security;
use crate::import::mirror::{AuthOut, ProfileOut};
use crate::import::text::{env_template, literal, one_line, snake};

/// One profile per server (variables at their defaults), with the auth of the
/// document's preferred security scheme.
pub(super) fn profiles(
    doc: &Value,
    source: &Source,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> Vec<(String, ProfileOut, Vec<String>)> {
    let mut servers = servers(doc);
    let (auth, comments) = security(doc, prefix, skipped);
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if servers.is_empty() {
        servers.push((String::new(), None));
    }
    for (raw, description) in servers {
        let (base_url, host) = base_url(&raw, source, prefix);
        let Some(base_url) = base_url else {
            skipped.push(format!(
                "server `{}`: not an http(s) URL",
                one_line(&raw, 100)
            ));
            continue;
        };
        let name = profile_name(out.is_empty(), &host, &mut names);
        let mut profile_comments = comments.clone();
        if raw.is_empty() {
            profile_comments.push(format!(
                "the document names no server: set {prefix}_BASE_URL to the API's address"
            ));
        }
        let auth = auth.clone().map(|a| at_server(a, &base_url));
        out.push((
            name,
            ProfileOut {
                description: description.or_else(|| {
                    doc.pointer("/info/title")
                        .and_then(Value::as_str)
                        .map(|t| one_line(t, 200))
                }),
                base_url,
                vars: IndexMap::new(),
                auth,
            },
            profile_comments,
        ));
    }
    out
}

/// The document's servers: each URL with its variables at their defaults, and its
/// description on one line.
fn servers(doc: &Value) -> Vec<(String, Option<String>)> {
    let mut servers: Vec<(String, Option<String>)> = Vec::new();
    for s in doc
        .get("servers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(url) = s.get("url").and_then(Value::as_str) else {
            continue;
        };
        let mut url = url.to_string();
        if let Some(vars) = s.get("variables").and_then(Value::as_object) {
            for (k, v) in vars {
                let default = match v.get("default") {
                    Some(Value::String(d)) => d.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                url = url.replace(&format!("{{{k}}}"), &default);
            }
        }
        let description = s
            .get("description")
            .and_then(Value::as_str)
            .map(|d| one_line(d, 200));
        servers.push((url, description));
    }
    servers
}

/// `default` for the first profile, else the server's host in snake_case (`server`
/// without one), numbered apart from the `names` already taken (and added to them).
fn profile_name(first: bool, host: &str, names: &mut Vec<String>) -> String {
    let mut name = if first {
        "default".to_string()
    } else {
        let n = snake(host);
        if n.is_empty() {
            "server".to_string()
        } else {
            n
        }
    };
    let stem = name.clone();
    let mut n = 2;
    while names.contains(&name) {
        name = format!("{stem}_{n}");
        n += 1;
    }
    names.push(name.clone());
    name
}

/// `a` with its relative token and authorization URLs resolved against `base_url`.
fn at_server(mut a: AuthOut, base_url: &str) -> AuthOut {
    if let Some(u) = &a.token_url {
        a.token_url = Some(join_url(base_url, u));
    }
    if let Some(u) = &a.authorization_url {
        a.authorization_url = Some(join_url(base_url, u));
    }
    a
}

/// A server URL as a `base_url`, and a host for the profile's name. Relative URLs
/// resolve against the document's own URL, else against `<PREFIX>_BASE_URL`.
fn base_url(raw: &str, source: &Source, prefix: &str) -> (Option<String>, String) {
    let trimmed = raw.trim().trim_end_matches('/');
    if let Ok(u) = url::Url::parse(trimmed) {
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return (None, String::new());
        }
        let host = u.host_str().unwrap_or_default().to_string();
        return (Some(literal(trimmed)), host);
    }
    // `//host/path`: scheme-relative.
    if let Some(rest) = trimmed.strip_prefix("//") {
        let u = format!("https://{rest}");
        return match url::Url::parse(&u) {
            Ok(parsed) => (
                Some(literal(&u)),
                parsed.host_str().unwrap_or_default().to_string(),
            ),
            Err(_) => (None, String::new()),
        };
    }
    if let Some(doc_url) = &source.url
        && let Ok(joined) = doc_url.join(if trimmed.is_empty() { "/" } else { trimmed })
    {
        let s = joined.as_str().trim_end_matches('/').to_string();
        return (
            Some(literal(&s)),
            joined.host_str().unwrap_or_default().to_string(),
        );
    }
    let path = if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    };
    (
        Some(format!(
            "{}{}",
            env_template(&format!("{prefix}_BASE_URL"), None),
            literal(&path)
        )),
        String::new(),
    )
}

/// `u` resolved against `base` when it is relative.
fn join_url(base: &str, u: &str) -> String {
    if url::Url::parse(u).is_ok() || base.contains("{{") {
        return u.to_string();
    }
    match url::Url::parse(&format!("{base}/")).and_then(|b| b.join(u)) {
        Ok(j) => j.to_string(),
        Err(_) => u.to_string(),
    }
}
