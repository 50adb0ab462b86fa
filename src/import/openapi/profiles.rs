//! Profiles from the document's servers: one per server (variables at their
//! defaults), named `default` for the first and by host for the others, each with the
//! auth of the preferred security scheme.

use indexmap::IndexMap;
use serde_json::Value;

use super::document::Source;
use super::security::security;
use crate::import::mirror::{AuthOut, Literal, ProfileOut};
use crate::import::text::{
    env_template, literal, one_line, register_userinfo, snake, split_userinfo,
};

/// One profile per server (variables at their defaults), with the auth of the
/// document's preferred security scheme.
pub(super) fn profiles(
    doc: &Value,
    source: &Source,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> Vec<(String, ProfileOut, Vec<String>)> {
    let mut servers = servers(doc);
    let (auth, mut comments) = security(doc, prefix, skipped);
    let declared = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if !declared {
        skipped.push(
            "security: the document declares no security scheme: the profiles carry no auth, only a commented bearer block"
                .to_string(),
        );
        comments.extend([
            "the document declares no security scheme; if the API takes a bearer token:"
                .to_string(),
            format!("auth: {{type: bearer, token: \"{{{{ env('{prefix}_TOKEN') }}}}\"}}"),
        ]);
    }
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if servers.is_empty() {
        servers.push((String::new(), None));
    }
    for (raw, description) in servers {
        // A user and password in the URL: the profile's basic auth, never written.
        let (raw, userinfo) = match split_userinfo(&raw) {
            Some((info, without)) => {
                register_userinfo(&info);
                (without, true)
            }
            None => (raw, false),
        };
        let (base_url, raw_base, host) = base_url(&raw, source, prefix);
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
        let mut auth = auth.clone().map(|a| at_server(a, raw_base.as_deref()));
        if userinfo {
            profile_comments.push(userinfo_note(auth.is_none(), prefix));
            auth = auth.or_else(|| Some(basic_auth(prefix)));
        }
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

/// The comment for a server URL that held a user and password.
fn userinfo_note(becomes_auth: bool, prefix: &str) -> String {
    if becomes_auth {
        format!(
            "the server URL's user and password are the profile's basic auth: set {prefix}_USERNAME and {prefix}_PASSWORD"
        )
    } else {
        "the server URL's user and password were left out (the security scheme is the auth)"
            .to_string()
    }
}

/// Basic auth read from `<PREFIX>_USERNAME` and `<PREFIX>_PASSWORD`.
fn basic_auth(prefix: &str) -> AuthOut {
    AuthOut {
        kind: "basic",
        username: Some(env_template(&format!("{prefix}_USERNAME"), None)),
        password: Some(env_template(&format!("{prefix}_PASSWORD"), None)),
        ..AuthOut::default()
    }
}

/// The user information of the document's server URLs (to leave out of its copy).
pub(super) fn server_userinfo(doc: &Value) -> Vec<String> {
    servers(doc)
        .into_iter()
        .filter_map(|(url, _)| split_userinfo(&url).map(|(info, _)| info))
        .filter(|info| !info.is_empty())
        .collect()
}

/// `a` with its relative token and authorization URLs resolved against `base_url`
/// (the server's URL as it is; `None` when it is a template).
fn at_server(mut a: AuthOut, base_url: Option<&str>) -> AuthOut {
    if let Some(u) = &a.token_url {
        a.token_url = Some(join_url(base_url, u));
    }
    if let Some(u) = &a.authorization_url {
        a.authorization_url = Some(join_url(base_url, u));
    }
    a
}

/// A server URL as a `base_url`, that URL as it is when it is one (not a
/// template), and a host for the profile's name. Relative URLs resolve against the
/// document's own URL, else against `<PREFIX>_BASE_URL`.
fn base_url(raw: &str, source: &Source, prefix: &str) -> (Option<Literal>, Option<String>, String) {
    let trimmed = raw.trim().trim_end_matches('/');
    let found = |u: String, host: Option<&str>| {
        (
            Some(literal(&u)),
            Some(u.clone()),
            host.unwrap_or_default().to_string(),
        )
    };
    if let Ok(u) = url::Url::parse(trimmed) {
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return (None, None, String::new());
        }
        return found(trimmed.to_string(), u.host_str());
    }
    // `//host/path`: scheme-relative.
    if let Some(rest) = trimmed.strip_prefix("//") {
        let u = format!("https://{rest}");
        return match url::Url::parse(&u) {
            Ok(parsed) => found(u.clone(), parsed.host_str()),
            Err(_) => (None, None, String::new()),
        };
    }
    if let Some(doc_url) = &source.url
        && let Ok(joined) = doc_url.join(if trimmed.is_empty() { "/" } else { trimmed })
    {
        let s = joined.as_str().trim_end_matches('/').to_string();
        return found(s, joined.host_str());
    }
    let path = if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    };
    let mut base = env_template(&format!("{prefix}_BASE_URL"), None);
    base.push_text(&path);
    (Some(base), None, String::new())
}

/// `u` resolved against `base` when it is relative (and plain text, not a template).
fn join_url(base: Option<&str>, u: &Literal) -> Literal {
    let text = u.as_str();
    let Some(base) = base else {
        return u.clone();
    };
    if url::Url::parse(text).is_ok() || crate::project::template::has_markup(text) {
        return u.clone();
    }
    match url::Url::parse(&format!("{base}/")).and_then(|b| b.join(text)) {
        Ok(j) => literal(j.as_str()),
        Err(_) => u.clone(),
    }
}
