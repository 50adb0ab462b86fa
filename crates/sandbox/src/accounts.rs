//! Who the sandbox knows: its two OAuth2 clients, its one user, and how a client proves
//! which one it is (HTTP Basic or the body, RFC 6749 §2.3.1; a public client only
//! names itself, RFC 6749 §2.1), and the grants the token endpoint accepts.

use std::collections::HashMap;

use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::error::ApiError;

/// The confidential client: every grant, authenticated with [`CLIENT_SECRET`].
pub const CLIENT_ID: &str = "sandbox";
/// The secret of [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "sandbox-secret";
/// The public client (no secret): the authorization-code and device grants, with
/// refresh and revocation of what they issued.
pub const PUBLIC_CLIENT_ID: &str = "sandbox-public";
/// The one user.
pub const USERNAME: &str = "demo";
/// The password of [`USERNAME`].
pub const PASSWORD: &str = "demo";
/// The `sub` of [`USERNAME`] in ID tokens: a stable id in the users' id space, not one
/// of the seeded `/api/v1/users`.
pub(crate) const USER_ID: &str = "00000000-0000-4000-8001-000000000000";
/// The `email` of [`USERNAME`] in ID tokens.
pub(crate) const USER_EMAIL: &str = "demo@example.com";

/// The device grant's `grant_type` (RFC 8628 §3.4).
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Every `grant_type` the token endpoint knows, with the name `/_sandbox/stats` counts
/// it under.
pub(crate) const GRANTS: [(&str, &str); 7] = [
    ("password", "password"),
    ("refresh_token", "refresh_token"),
    ("client_credentials", "client_credentials"),
    ("authorization_code", "authorization_code"),
    (DEVICE_GRANT, "device_code"),
    (crate::signed::JWT_BEARER_GRANT, "jwt_bearer"),
    (crate::routes::exchange::TOKEN_EXCHANGE, "token_exchange"),
];

/// A client the sandbox knows, once it has proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    Confidential,
    Public,
}

impl Client {
    /// The client named `id`, whatever it proved.
    pub(crate) fn named(id: &str) -> Option<Client> {
        match id {
            CLIENT_ID => Some(Client::Confidential),
            PUBLIC_CLIENT_ID => Some(Client::Public),
            _ => None,
        }
    }

    pub(crate) fn id(self) -> &'static str {
        match self {
            Client::Confidential => CLIENT_ID,
            Client::Public => PUBLIC_CLIENT_ID,
        }
    }

    /// The password and client-credentials grants need a client that can keep a secret.
    pub(crate) fn may_use_grant(self, grant_type: &str) -> bool {
        self == Client::Confidential || !matches!(grant_type, "password" | "client_credentials")
    }
}

/// Client credentials from HTTP Basic (preferred) or from the body. The confidential
/// client must present its secret; the public one must present none. Refusals are
/// 400 `invalid_client`, as the token endpoint answers them (see [`unauthorized`] for
/// the endpoints that answer 401).
pub(crate) fn authenticate(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Client, ApiError> {
    if let Some(assertion) = params.get("client_assertion") {
        return signed_client(params, assertion);
    }
    let (id, secret) = match basic_credentials(headers)? {
        Some((id, secret)) => (id, Some(secret).filter(|s| !s.is_empty())),
        None => {
            let id = params
                .get("client_id")
                .ok_or_else(|| invalid_client("Client id was not found in the headers or body"))?;
            (id.clone(), params.get("client_secret").cloned())
        }
    };
    match (Client::named(&id), secret.as_deref()) {
        (Some(Client::Confidential), Some(CLIENT_SECRET)) => Ok(Client::Confidential),
        (Some(Client::Public), None) => Ok(Client::Public),
        (Some(Client::Public), Some(_)) => Err(invalid_client(
            "The client sandbox-public is public: it has no secret to send",
        )),
        _ => Err(invalid_client("The client credentials are invalid")),
    }
}

/// `private_key_jwt` (RFC 7523 §2.2): the confidential client's assertion, signed
/// with the demo key, `iss` = `sub` = its id.
fn signed_client(params: &HashMap<String, String>, assertion: &str) -> Result<Client, ApiError> {
    use crate::signed::{CLIENT_ASSERTION_TYPE, claim, verify};
    if params.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
        return Err(invalid_client(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let claims = verify(assertion).map_err(|e| invalid_client(&e))?;
    let (iss, sub) = (claim(&claims, "iss"), claim(&claims, "sub"));
    if iss != Some(CLIENT_ID) || sub != Some(CLIENT_ID) {
        return Err(invalid_client(
            "the client assertion's iss and sub must both be the client id (sandbox)",
        ));
    }
    if params.get("client_id").is_some_and(|id| id != CLIENT_ID) {
        return Err(invalid_client("client_id does not match the assertion"));
    }
    Ok(Client::Confidential)
}

pub(crate) fn invalid_client(description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_client", description)
}

/// An error as the device and revocation endpoints answer it: `invalid_client` is 401
/// with a Basic challenge (RFC 6749 §5.2), everything else as it is.
pub(crate) fn unauthorized(err: ApiError) -> Response {
    if err.error != "invalid_client" {
        return err.into_response();
    }
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        ..err
    }
    .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"sandbox\""),
    );
    response
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, or `None` when the
/// header is absent or of another scheme.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || invalid_client("Malformed Basic authorization header");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let encoded = encoded.trim();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// application/x-www-form-urlencoded decoding of one component: `+` is a space, `%XX`
/// a byte; a `%` not followed by two hex digits stays as it is.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(hi, lo)| hi * 16 + lo),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_components() {
        let cases = [
            ("sandbox", "sandbox"),
            ("a+b", "a b"),
            ("a%2Bb%3A%25", "a+b:%"),
            ("caf%C3%A9", "café"),
            ("100%", "100%"),
            ("%zz%4", "%zz%4"),
        ];
        for (input, want) in cases {
            assert_eq!(form_decode(input), want, "{input}");
        }
    }

    #[test]
    fn reads_basic_credentials() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_credentials(&headers), Ok(None));
        let encoded = STANDARD.encode("a%3Ab:s%20c+d");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Ok(Some(("a:b".to_owned(), "s c d".to_owned())))
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(
            basic_credentials(&headers).unwrap_err().error,
            "invalid_client"
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer xyz"));
        assert_eq!(basic_credentials(&headers), Ok(None));
    }

    #[test]
    fn tells_the_two_clients_apart() {
        let params = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let none = HeaderMap::new();
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<Client, &'a str>);
        let cases: [Case<'_>; 6] = [
            (
                &[
                    ("client_id", "sandbox"),
                    ("client_secret", "sandbox-secret"),
                ],
                Ok(Client::Confidential),
            ),
            (&[("client_id", "sandbox-public")], Ok(Client::Public)),
            (
                &[("client_id", "sandbox")],
                Err("The client credentials are invalid"),
            ),
            (
                &[("client_id", "sandbox-public"), ("client_secret", "x")],
                Err("The client sandbox-public is public: it has no secret to send"),
            ),
            (
                &[("client_id", "other")],
                Err("The client credentials are invalid"),
            ),
            (&[], Err("Client id was not found in the headers or body")),
        ];
        for (pairs, want) in cases {
            let got = authenticate(&none, &params(pairs)).map_err(|e| e.description);
            assert_eq!(got, want.map_err(str::to_owned), "{pairs:?}");
        }
        // Basic with an empty secret names the public client.
        let mut basic = HeaderMap::new();
        let encoded = STANDARD.encode("sandbox-public:");
        basic.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(authenticate(&basic, &params(&[])), Ok(Client::Public));
    }

    #[test]
    fn public_clients_may_not_use_the_secret_grants() {
        for grant in ["password", "client_credentials"] {
            assert!(!Client::Public.may_use_grant(grant));
            assert!(Client::Confidential.may_use_grant(grant));
        }
        for grant in ["authorization_code", "refresh_token", "device_code"] {
            assert!(Client::Public.may_use_grant(grant));
        }
    }

    #[test]
    fn invalid_client_becomes_401_with_a_challenge() {
        let response = unauthorized(invalid_client("no"));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Basic realm=\"sandbox\""
        );
        let response = unauthorized(ApiError::invalid_request("x"));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
