//! Credentials found in another tool's requests (an `Authorization` header, a header
//! or variable whose name says it is secret) turned into a profile's auth and
//! `env()` templates: the value itself is never written.

use crate::import::mirror::{AuthOut, Literal};
use crate::import::text::env_template;

/// Whether a header, query or variable name says its value is a credential.
pub fn is_secret_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "passw",
        "apikey",
        "api_key",
        "api-key",
        "cookie",
        "authorization",
        "session",
        "credential",
        "private",
        "csrf",
        "xsrf",
    ]
    .iter()
    .any(|s| l.contains(s))
        || l == "key"
        || l.ends_with("-key")
        || l.ends_with("_key")
}

/// Whether `s` is exactly one `{{…}}` reference (a variable, not a value).
pub fn is_reference(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("{{") && s.ends_with("}}") && s[2..].find("}}") == Some(s.len() - 4)
}

/// A profile's auth for an `Authorization` header value: a reference
/// (`Bearer {{token}}`) through `conv`, a literal as `<prefix>_TOKEN`… `env()`
/// templates. `None` for schemes runner does not send.
pub fn auth_from_authorization(
    value: &str,
    prefix: &str,
    conv: &mut dyn FnMut(&str) -> Literal,
) -> Option<AuthOut> {
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let rest = rest.trim();
    let mut env = |s: &str, v: &str| -> Literal {
        if is_reference(v) {
            conv(v)
        } else {
            env_template(&format!("{prefix}_{s}"), None)
        }
    };
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(AuthOut {
            kind: "bearer",
            token: Some(env("TOKEN", rest)),
            ..AuthOut::default()
        }),
        "basic" => {
            let (user, password) = match rest.split_once([' ', ':']) {
                Some((u, p)) => (u.trim(), p.trim()),
                None => ("", ""),
            };
            Some(AuthOut {
                kind: "basic",
                username: Some(env("USERNAME", user)),
                password: Some(env("PASSWORD", password)),
                ..AuthOut::default()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_references() {
        for n in [
            "Authorization",
            "X-Api-Key",
            "Cookie",
            "access_token",
            "key",
            "X-CSRF-Token",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["Accept", "Content-Type", "monkey", "page"] {
            assert!(!is_secret_name(n), "{n}");
        }
        assert!(is_reference("{{token}}"));
        assert!(!is_reference("{{a}}{{b}}"));
        assert!(!is_reference("abc"));
    }
}
