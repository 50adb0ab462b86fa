//! Security schemes as a profile's auth: the document's preferred scheme (the first
//! of `security` that runner supports, else the first declared), every secret an
//! `env()` template; the other schemes named in comments or skipped with the reason.

use serde_json::Value;

use super::document::resolve;
use crate::import::mirror::{AuthOut, Literal};
use crate::import::text::{env_template, literal, one_line};

/// The auth block for the document's preferred scheme (the first of `security` that
/// runner supports, else the first declared) and comments naming the others.
pub(super) fn security(
    doc: &Value,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> (Option<AuthOut>, Vec<String>) {
    let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return (None, Vec::new());
    };
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for req in doc
        .get("security")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        for (name, scopes) in req.as_object().into_iter().flatten() {
            let scopes = scopes
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if !order.iter().any(|(n, _)| n == name) {
                order.push((name.clone(), scopes));
            }
        }
    }
    for name in schemes.keys() {
        if !order.iter().any(|(n, _)| n == name) {
            order.push((name.clone(), Vec::new()));
        }
    }
    let needed = operation_scopes(doc);
    let mut candidates = Vec::new();
    for (name, mut scopes) in order {
        let Some(scheme) = schemes.get(&name).map(|s| resolve(doc, s, 0)) else {
            skipped.push(format!(
                "security requirement `{}`: not declared in components.securitySchemes",
                one_line(&name, 80)
            ));
            continue;
        };
        // The union of the scopes the operations (and the document) ask of it.
        for s in needed.get(&name).into_iter().flatten() {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        match auth_for(scheme, prefix, &scopes) {
            Ok(a) => candidates.push((name, a)),
            Err(why) => skipped.push(format!("security scheme `{}`: {why}", one_line(&name, 80))),
        }
    }
    choose(candidates, prefix, skipped)
}

/// The first candidate that names every URL it needs (else the first) as the
/// profile's auth, a token URL from the environment when the document names none,
/// and comments naming the others.
fn choose(
    candidates: Vec<(String, AuthOut)>,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> (Option<AuthOut>, Vec<String>) {
    // A scheme that names every URL it needs comes before one that does not.
    let complete =
        |a: &AuthOut| !a.kind.starts_with("oauth2") || a.issuer.is_some() || a.token_url.is_some();
    let first = candidates
        .iter()
        .position(|(_, a)| complete(a))
        .unwrap_or_default();
    let mut chosen = None;
    let mut comments = Vec::new();
    for (i, (name, a)) in candidates.into_iter().enumerate() {
        if i == first {
            let mut a = a;
            comments.push(format!(
                "auth from security scheme `{}`",
                one_line(&name, 80)
            ));
            if a.kind.starts_with("oauth2") && a.token_url.is_none() && a.issuer.is_none() {
                // The whole value from the environment, never spliced into a URL.
                comments.push(format!(
                    "token_url: the document names none for `{}`: set {prefix}_TOKEN_URL to the provider's token endpoint",
                    one_line(&name, 80)
                ));
                skipped.push(format!(
                    "security scheme `{}`: the document names no tokenUrl: set {prefix}_TOKEN_URL before a login",
                    one_line(&name, 80)
                ));
                a.token_url = Some(env(prefix, "TOKEN_URL"));
            }
            chosen = Some(a);
        } else {
            comments.push(format!(
                "security scheme `{}` ({}) is also offered",
                one_line(&name, 80),
                a.kind
            ));
        }
    }
    (chosen, comments)
}

/// The scopes the operations' `security` requirements name, by scheme, in order.
fn operation_scopes(doc: &Value) -> indexmap::IndexMap<String, Vec<String>> {
    let mut out: indexmap::IndexMap<String, Vec<String>> = indexmap::IndexMap::new();
    let ops = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|op| op.get("security"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object);
    for req in ops {
        for (name, scopes) in req {
            let list = out.entry(name.clone()).or_default();
            for s in scopes
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !list.iter().any(|x| x == s) {
                    list.push(s.to_string());
                }
            }
        }
    }
    out
}

/// `{{ env('<PREFIX>_<SUFFIX>') }}`.
fn env(prefix: &str, suffix: &str) -> Literal {
    env_template(&format!("{prefix}_{suffix}"), None)
}

/// Our auth block for one security scheme, every secret an `env()` template.
fn auth_for(scheme: &Value, prefix: &str, scopes: &[String]) -> Result<AuthOut, String> {
    let kind = scheme
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "http" => http_auth(scheme, prefix),
        "apiKey" => api_key_auth(scheme, prefix),
        "oauth2" => oauth2_auth(scheme, prefix, scopes),
        "openIdConnect" => open_id_connect_auth(scheme, prefix, scopes),
        "mutualTLS" => Err("mutual TLS is not supported".to_string()),
        other => Err(format!("type `{}` is not supported", one_line(other, 40))),
    }
}

/// `type: http`: bearer or basic.
fn http_auth(scheme: &Value, prefix: &str) -> Result<AuthOut, String> {
    let mut a = AuthOut::default();
    let s = scheme
        .get("scheme")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    match s.as_str() {
        "bearer" => {
            a.kind = "bearer";
            a.token = Some(env(prefix, "TOKEN"));
        }
        "basic" => {
            a.kind = "basic";
            a.username = Some(env(prefix, "USERNAME"));
            a.password = Some(env(prefix, "PASSWORD"));
        }
        other => {
            return Err(format!(
                "HTTP scheme `{}` is not supported",
                one_line(other, 40)
            ));
        }
    }
    Ok(a)
}

/// `type: apiKey`: in a header or the query.
fn api_key_auth(scheme: &Value, prefix: &str) -> Result<AuthOut, String> {
    let mut a = AuthOut::default();
    let name = scheme
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let place = scheme.get("in").and_then(Value::as_str).unwrap_or_default();
    a.kind = "api_key";
    a.key = Some(env(prefix, "API_KEY"));
    a.name = Some(name.to_string());
    a.key_in = Some(match place {
        "header" if crate::http::header::name_problem(name).is_none() => "header",
        "header" => return Err(format!("`{}` is not a header name", one_line(name, 60))),
        "query" if !name.is_empty() => "query",
        other => {
            return Err(format!(
                "an API key in `{}` is not supported",
                one_line(other, 40)
            ));
        }
    });
    Ok(a)
}

/// `type: oauth2`: the first flow runner knows, by preference (authorization code,
/// password, client credentials, implicit as the code flow).
fn oauth2_auth(scheme: &Value, prefix: &str, scopes: &[String]) -> Result<AuthOut, String> {
    let mut a = AuthOut::default();
    let flows = scheme.get("flows").and_then(Value::as_object);
    let flow = |n: &str| flows.and_then(|f| f.get(n));
    let text = |f: &Value, k: &str| {
        f.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(literal)
    };
    a.client_id = Some(env(prefix, "CLIENT_ID"));
    a.scopes = scopes.to_vec();
    if let Some(f) = flow("authorizationCode") {
        a.kind = "oauth2_authorization_code";
        a.authorization_url = text(f, "authorizationUrl");
        a.token_url = text(f, "tokenUrl");
        a.client_secret = Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
    } else if let Some(f) = flow("password") {
        a.kind = "oauth2_password";
        a.token_url = text(f, "tokenUrl");
        a.client_secret = Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
        a.username = Some(env(prefix, "USERNAME"));
        a.password = Some(env_template(&format!("{prefix}_PASSWORD"), Some("")));
    } else if let Some(f) = flow("clientCredentials") {
        a.kind = "oauth2_client_credentials";
        a.token_url = text(f, "tokenUrl");
        a.client_secret = Some(env(prefix, "CLIENT_SECRET"));
    } else if let Some(f) = flow("implicit") {
        // Implicit is obsolete (RFC 9700): the code flow at the same server.
        a.kind = "oauth2_authorization_code";
        a.authorization_url = text(f, "authorizationUrl");
    } else {
        return Err("an oauth2 scheme without a flow runner knows".to_string());
    }
    if a.kind == "oauth2_authorization_code" && a.authorization_url.is_none() {
        return Err("the authorization code flow names no authorizationUrl".to_string());
    }
    Ok(a)
}

/// `type: openIdConnect`: the code flow at the issuer the discovery URL names.
fn open_id_connect_auth(
    scheme: &Value,
    prefix: &str,
    scopes: &[String],
) -> Result<AuthOut, String> {
    let url = scheme
        .get("openIdConnectUrl")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let issuer = url
        .trim_end_matches('/')
        .trim_end_matches("/.well-known/openid-configuration")
        .trim_end_matches('/');
    if url::Url::parse(issuer).is_err() {
        return Err(format!(
            "openIdConnectUrl `{}` is not a URL",
            one_line(url, 100)
        ));
    }
    Ok(AuthOut {
        kind: "oauth2_authorization_code",
        issuer: Some(literal(issuer)),
        client_id: Some(env(prefix, "CLIENT_ID")),
        scopes: scopes.to_vec(),
        ..AuthOut::default()
    })
}
