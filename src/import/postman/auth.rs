//! Postman auth blocks (bearer, basic, API key, OAuth 2) as a profile's auth, every
//! secret an `env()` template, never a value from the collection.

use serde_json::Value;

use super::template::template;
use crate::import::mirror::AuthOut;
use crate::import::text::env_template;

/// An attribute of a Postman auth block: v2.1 lists `{key, value}`, v2.0 maps.
fn attr(a: &Value, kind: &str, key: &str) -> Option<String> {
    match a.get(kind)? {
        Value::Array(list) => list
            .iter()
            .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::Object(m) => m.get(key).and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// Our auth for a Postman auth block; secrets as `env()` templates, never values.
pub(super) fn auth(a: &Value, prefix: &str) -> Option<AuthOut> {
    let env = |s: &str| env_template(&format!("{prefix}_{s}"), None);
    let kind = a.get("type").and_then(Value::as_str)?;
    let mut out = AuthOut::default();
    match kind {
        "bearer" => {
            out.kind = "bearer";
            out.token = Some(env("TOKEN"));
        }
        "basic" => {
            out.kind = "basic";
            out.username = Some(env("USERNAME"));
            out.password = Some(env("PASSWORD"));
        }
        "apikey" => {
            out.kind = "api_key";
            out.key = Some(env("API_KEY"));
            out.name = Some(attr(a, "apikey", "key").unwrap_or_else(|| "X-Api-Key".to_string()));
            out.key_in = Some(if attr(a, "apikey", "in").as_deref() == Some("query") {
                "query"
            } else {
                "header"
            });
        }
        "oauth2" => {
            let grant =
                attr(a, "oauth2", "grant_type").unwrap_or_else(|| "authorization_code".to_string());
            let url = |k: &str| {
                attr(a, "oauth2", k)
                    .filter(|s| !s.is_empty())
                    .map(|s| template(&s))
            };
            out.client_id = Some(env("CLIENT_ID"));
            out.token_url = url("accessTokenUrl").or_else(|| Some(env("TOKEN_URL")));
            out.scopes = attr(a, "oauth2", "scope")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            match grant.as_str() {
                "client_credentials" => {
                    out.kind = "oauth2_client_credentials";
                    out.client_secret = Some(env("CLIENT_SECRET"));
                }
                "password_credentials" | "password" => {
                    out.kind = "oauth2_password";
                    out.client_secret =
                        Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
                    out.username = Some(env("USERNAME"));
                    out.password = Some(env_template(&format!("{prefix}_PASSWORD"), Some("")));
                }
                _ => {
                    out.kind = "oauth2_authorization_code";
                    out.authorization_url =
                        url("authUrl").or_else(|| Some(env("AUTHORIZATION_URL")));
                    out.client_secret =
                        Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
                }
            }
        }
        _ => return None,
    }
    Some(out)
}
