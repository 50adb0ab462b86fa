//! The profile's `http.headers`, which the gateway adds to every request it forwards
//! as `exec` adds them to every request it sends: rendered once, at start (a bad
//! template or header is exit 2 with its place before anything is served), sensitive
//! ones registered with the masking point and sent to the profile's origins only.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::env::Env;
use crate::error::{Error, InputError};

/// One of the profile's `http.headers`, rendered.
pub(super) struct ProfileHeader {
    name: HeaderName,
    value: HeaderValue,
    /// It carries a credential (`CredentialPolicy::is_sensitive`).
    sensitive: bool,
}

/// The profile's `http.headers`, rendered with its vars.
pub(super) fn profile_headers(env: &Env) -> Result<Vec<ProfileHeader>, Error> {
    let src = &env.profile.source;
    let policy = env.client.credentials();
    let mut out = Vec::new();
    for (k, v) in &env.profile.profile.http.headers {
        let value = env
            .renderer
            .render_str(&v.value, &env.vars, src.dir(), src.origin(v))?;
        if let Some(p) = crate::http::header::problem(k, &value) {
            return Err(InputError::at(src.place(v), p).into());
        }
        let sensitive = policy.is_sensitive(k);
        if sensitive {
            crate::secret::register(&value);
        }
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            // `problem` refused every name and value these would refuse.
            continue;
        };
        value.set_sensitive(sensitive);
        out.push(ProfileHeader {
            name,
            value,
            sensitive,
        });
    }
    Ok(out)
}

/// `headers` (the client's, credentials already dropped) with the profile's added.
/// As a request file's headers win over the profile's in `exec`, a client's header
/// of the same name is kept; a sensitive header goes only where `trusted` (the
/// target is an origin of the profile) and never beside the gateway's own
/// credential header `own`, which replaces it as the auth header replaces it in `exec`.
pub(super) fn add_profile_headers(
    headers: &mut HeaderMap,
    profile: &[ProfileHeader],
    trusted: bool,
    own: Option<&str>,
) {
    for h in profile {
        if h.sensitive && !trusted {
            continue;
        }
        if Some(h.name.as_str()) == own || (!h.sensitive && headers.contains_key(&h.name)) {
            continue;
        }
        headers.insert(h.name.clone(), h.value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &'static str, value: &'static str, sensitive: bool) -> ProfileHeader {
        ProfileHeader {
            name: HeaderName::from_static(name),
            value: HeaderValue::from_static(value),
            sensitive,
        }
    }

    #[test]
    fn sensitive_headers_go_to_the_profiles_origins_only() {
        let profile = [
            header("x-tenant", "acme", false),
            header("x-api-token", "t&<k>", true),
            header("accept", "application/json", false),
        ];
        let mut client = HeaderMap::new();
        client.insert("accept", HeaderValue::from_static("text/csv"));
        let mut trusted = client.clone();
        add_profile_headers(&mut trusted, &profile, true, None);
        assert_eq!(trusted["x-tenant"], "acme");
        assert_eq!(trusted["x-api-token"], "t&<k>");
        assert_eq!(trusted["accept"], "text/csv", "the client's own wins");
        let mut foreign = client.clone();
        add_profile_headers(&mut foreign, &profile, false, None);
        assert_eq!(foreign["x-tenant"], "acme");
        assert!(foreign.get("x-api-token").is_none());
    }

    #[test]
    fn the_gateways_credential_header_is_not_doubled() {
        let profile = [header("authorization", "Basic eDp5", true)];
        let mut headers = HeaderMap::new();
        add_profile_headers(&mut headers, &profile, true, Some("authorization"));
        assert!(headers.get("authorization").is_none());
    }
}
