//! A token endpoint's answer read: the `oauth2` crate's view of it
//! ([`RunnerTokenResponse`]), and runner's own check of what it holds (the access
//! token, its type and lifetime, the refresh token, the account an `id_token` names).

use std::time::Duration;

use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Serialize};

use super::{Fields, Granted};
use crate::secret::Secret;

/// The longest `expires_in` believed: ten years. Past it, a value is a server's way
/// of saying "never", or a bug; either way ten years is a usable answer.
const MAX_LIFETIME: u64 = 10 * 365 * 86_400;

/// A token endpoint's 2xx answer: any JSON object. The oauth2 crate only needs it to
/// deserialize; [`check_token_response`] decides whether it is a usable token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "Fields", into = "Fields")]
pub struct RunnerTokenResponse {
    pub(super) fields: Fields,
    access_token: AccessToken,
    token_type: BasicTokenType,
    refresh_token: Option<RefreshToken>,
    scopes: Option<Vec<Scope>>,
}

impl From<Fields> for RunnerTokenResponse {
    fn from(fields: Fields) -> Self {
        let text = |k: &str| fields.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let access_token = AccessToken::new(text("access_token").to_string());
        let token_type = match text("token_type") {
            t if t.eq_ignore_ascii_case("mac") => BasicTokenType::Mac,
            t if t.is_empty() || t.eq_ignore_ascii_case("bearer") => BasicTokenType::Bearer,
            t => BasicTokenType::Extension(t.to_string()),
        };
        let refresh_token = Some(text("refresh_token"))
            .filter(|t| !t.is_empty())
            .map(|t| RefreshToken::new(t.to_string()));
        let scopes = fields.get("scope").and_then(|v| v.as_str()).map(|s| {
            s.split_whitespace()
                .map(|x| Scope::new(x.to_string()))
                .collect()
        });
        RunnerTokenResponse {
            fields,
            access_token,
            token_type,
            refresh_token,
            scopes,
        }
    }
}

impl From<RunnerTokenResponse> for Fields {
    fn from(r: RunnerTokenResponse) -> Fields {
        r.fields
    }
}

// Not derived: the fields hold the tokens.
impl std::fmt::Debug for RunnerTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunnerTokenResponse({} fields)", self.fields.len())
    }
}

impl TokenResponse for RunnerTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        lifetime(self.fields.get("expires_in"))
            .0
            .map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// A token response that can be used, and what runner made of its odd parts.
#[derive(Debug)]
pub(super) struct Checked {
    pub(super) granted: Granted,
    /// There was no `token_type`: Bearer was assumed.
    pub(super) token_type_missing: bool,
    /// How an odd `expires_in` was read, for a warning.
    pub(super) lifetime_note: Option<String>,
}

/// The tokens in a 2xx answer that has an `access_token` field, or why they cannot
/// be used (completing "answered the … grant with …").
pub(super) fn check_token_response(fields: &Fields) -> Result<Checked, String> {
    use serde_json::Value;
    let access_token = match fields.get("access_token") {
        None | Some(Value::Null) => return Err("no `access_token` field".into()),
        Some(Value::String(s)) if s.is_empty() => return Err("an empty `access_token`".into()),
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            return Err("an `access_token` that holds control characters".into());
        }
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(format!("an `access_token` that is {}", json_kind(v))),
    };
    let (token_type, token_type_missing) = match fields.get("token_type") {
        None | Some(Value::Null) => ("bearer".to_string(), true),
        Some(Value::String(s)) if s.trim().is_empty() => ("bearer".to_string(), true),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("bearer") => {
            ("bearer".to_string(), false)
        }
        Some(Value::String(s)) => (server_text(s.trim(), 40), false),
        Some(v) => return Err(format!("a `token_type` that is {}", json_kind(v))),
    };
    let (expires_in, lifetime_note) = lifetime(fields.get("expires_in"));
    let refresh_token = fields
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let scope = fields
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
    Ok(Checked {
        granted: Granted {
            access_token: Secret::new(access_token),
            token_type,
            expires_in,
            refresh_token,
            scope,
            subject: fields
                .get("id_token")
                .and_then(Value::as_str)
                // An id_token is a credential too: registered before it is read.
                .inspect(|t| crate::secret::register(t))
                .and_then(id_token_subject),
        },
        token_type_missing,
        lifetime_note,
    })
}

/// `expires_in` (a number or a string) as whole seconds in `1..=MAX_LIFETIME`, and a
/// note when the value had to be bent. Zero, negative and non-numbers read as
/// "unknown": the token is used until the API refuses it (SPEC §4), rather than
/// refreshed before every request.
fn lifetime(v: Option<&serde_json::Value>) -> (Option<u64>, Option<String>) {
    use serde_json::Value;
    let shown = || {
        format!(
            "`expires_in: {}`",
            server_text(&v.map(|v| v.to_string()).unwrap_or_default(), 40)
        )
    };
    let unknown = |why: &str| {
        (
            None,
            Some(format!(
                "{}{why}: the token is used until the API refuses it",
                shown()
            )),
        )
    };
    let secs = match v {
        None | Some(Value::Null) => return (None, None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(whole) => whole as f64,
            None => n.as_f64().unwrap_or(f64::NAN),
        },
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
    };
    if secs.is_nan() {
        unknown(", not a number")
    } else if secs <= 0.0 {
        unknown("")
    } else if secs > MAX_LIFETIME as f64 {
        (
            Some(MAX_LIFETIME),
            Some(format!(
                "{}: taken as ten years ({MAX_LIFETIME} s)",
                shown()
            )),
        )
    } else if secs.fract() != 0.0 {
        // In range, so the cast is exact after the floor; a fraction of a second is 1 s.
        let whole = (secs.floor() as u64).max(1);
        (
            Some(whole),
            Some(format!(
                "{}, not whole seconds: taken as {whole} s",
                shown()
            )),
        )
    } else {
        (Some(secs as u64), None)
    }
}

/// What kind of JSON value `v` is, for messages that must not show it.
fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean, not a string",
        Value::Number(_) => "a number, not a string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array, not a string",
        Value::Object(_) => "an object, not a string",
    }
}

/// Text a server sent, fit for a terminal: control characters (escape sequences
/// included) replaced, at most `max` characters.
pub(crate) fn server_text(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The account an OpenID Connect `id_token` names, for display only: its payload is
/// decoded, its signature not checked.
fn id_token_subject(id_token: &str) -> Option<String> {
    use base64::Engine;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Fields = serde_json::from_slice(&bytes).ok()?;
    ["preferred_username", "email", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .filter(|s| !s.is_empty())
        .map(|s| server_text(s, 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn token_responses_as_servers_send_them() {
        // (body, token_type stored, Bearer assumed, expires_in, refresh token, scope)
        let cases = [
            (
                r#"{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":null,"refresh_token":"r"}"#,
                "bearer",
                false,
                Some(3600),
                Some("r"),
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#,
                "bearer",
                false,
                Some(3600),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"BEARER","expires_in":3600.0,"x":1}"#,
                "bearer",
                false,
                Some(3600),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"bearer","scope":"read  write"}"#,
                "bearer",
                false,
                None,
                None,
                Some("read write"),
            ),
            (
                r#"{"access_token":"a","expires_in":60,"refresh_token":""}"#,
                "bearer",
                true,
                Some(60),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":null}"#,
                "bearer",
                true,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":" "}"#,
                "bearer",
                true,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"mac"}"#,
                "mac",
                false,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP"}"#,
                "DPoP",
                false,
                None,
                None,
                None,
            ),
        ];
        for (json, token_type, assumed, expires_in, refresh, scope) in cases {
            let c = check_token_response(&fields(json)).unwrap();
            assert_eq!(c.granted.access_token.expose(), "a", "{json}");
            assert_eq!(c.granted.token_type, token_type, "{json}");
            assert_eq!(c.token_type_missing, assumed, "{json}");
            assert_eq!(c.granted.expires_in, expires_in, "{json}");
            assert_eq!(
                c.granted.refresh_token.as_ref().map(|t| t.expose()),
                refresh,
                "{json}"
            );
            assert_eq!(c.granted.scope.as_deref(), scope, "{json}");
            assert_eq!(c.lifetime_note, None, "{json}");
        }
    }

    #[test]
    fn unusable_token_responses_say_why() {
        let cases = [
            (r#"{"token_type":"bearer"}"#, "no `access_token` field"),
            (r#"{"access_token":null}"#, "no `access_token` field"),
            (r#"{"access_token":""}"#, "an empty `access_token`"),
            (
                r#"{"access_token":42}"#,
                "an `access_token` that is a number, not a string",
            ),
            (
                r#"{"access_token":{"a":"b"}}"#,
                "an `access_token` that is an object, not a string",
            ),
            (
                r#"{"access_token":"a\r\nX-Injected: 1"}"#,
                "an `access_token` that holds control characters",
            ),
            (
                r#"{"access_token":"a","token_type":1}"#,
                "a `token_type` that is a number, not a string",
            ),
        ];
        for (json, why) in cases {
            assert_eq!(
                check_token_response(&fields(json)).unwrap_err(),
                why,
                "{json}"
            );
        }
    }

    #[test]
    fn odd_lifetimes_are_bent_with_a_note() {
        let unknown = ": the token is used until the API refuses it";
        let cases: &[(&str, Option<u64>, Option<String>)] = &[
            ("3600", Some(3600), None),
            ("\"3600\"", Some(3600), None),
            ("\" 60 \"", Some(60), None),
            ("1", Some(1), None),
            ("315360000", Some(MAX_LIFETIME), None),
            ("null", None, None),
            (
                "18446744073709551615",
                Some(MAX_LIFETIME),
                Some("`expires_in: 18446744073709551615`: taken as ten years (315360000 s)".into()),
            ),
            (
                "315360001",
                Some(MAX_LIFETIME),
                Some("`expires_in: 315360001`: taken as ten years (315360000 s)".into()),
            ),
            (
                "1e300",
                Some(MAX_LIFETIME),
                Some("`expires_in: 1e+300`: taken as ten years (315360000 s)".into()),
            ),
            (
                "\"inf\"",
                Some(MAX_LIFETIME),
                Some("`expires_in: \"inf\"`: taken as ten years (315360000 s)".into()),
            ),
            ("0", None, Some(format!("`expires_in: 0`{unknown}"))),
            ("-5", None, Some(format!("`expires_in: -5`{unknown}"))),
            ("-0.5", None, Some(format!("`expires_in: -0.5`{unknown}"))),
            (
                "\"-inf\"",
                None,
                Some(format!("`expires_in: \"-inf\"`{unknown}")),
            ),
            (
                "-18446744073709551615",
                None,
                Some(format!("`expires_in: -1.8446744073709552e+19`{unknown}")),
            ),
            (
                "1.5",
                Some(1),
                Some("`expires_in: 1.5`, not whole seconds: taken as 1 s".into()),
            ),
            (
                "0.25",
                Some(1),
                Some("`expires_in: 0.25`, not whole seconds: taken as 1 s".into()),
            ),
            (
                "\"3599.9\"",
                Some(3599),
                Some("`expires_in: \"3599.9\"`, not whole seconds: taken as 3599 s".into()),
            ),
            (
                "\"nan\"",
                None,
                Some(format!("`expires_in: \"nan\"`, not a number{unknown}")),
            ),
            (
                "\"soon\"",
                None,
                Some(format!("`expires_in: \"soon\"`, not a number{unknown}")),
            ),
            (
                "true",
                None,
                Some(format!("`expires_in: true`, not a number{unknown}")),
            ),
            (
                "[1]",
                None,
                Some(format!("`expires_in: [1]`, not a number{unknown}")),
            ),
        ];
        for (raw, secs, note) in cases {
            let v: serde_json::Value = serde_json::from_str(raw).unwrap();
            assert_eq!(lifetime(Some(&v)), (*secs, note.clone()), "{raw}");
        }
        assert_eq!(lifetime(None), (None, None));
        // A long or hostile string is cut and cleaned before it is shown.
        let v = serde_json::json!(format!("\u{1b}[2J{}", "9".repeat(100)));
        let note = lifetime(Some(&v)).1.unwrap();
        assert!(!note.contains('\u{1b}') && note.contains('…'), "{note}");
    }

    #[test]
    fn the_oauth2_crate_reads_what_the_adapter_passes_on() {
        let r: RunnerTokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"MAC","scope":"read write","refresh_token":"r","expires_in":"60"}"#,
        )
        .unwrap();
        assert_eq!(r.access_token().secret(), "a");
        assert_eq!(r.token_type(), &BasicTokenType::Mac);
        assert_eq!(r.scopes().map(|s| s.len()), Some(2));
        assert_eq!(r.refresh_token().map(|t| t.secret().as_str()), Some("r"));
        assert_eq!(r.expires_in(), Some(Duration::from_secs(60)));
        // Its Debug (which the crate may print) holds no token.
        assert_eq!(format!("{r:?}"), "RunnerTokenResponse(5 fields)");
        let r: RunnerTokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
    }
}
