//! What the interactive grants' tests share: a good authorization request, what
//! the browser sees, the ID token's claims, and the OAuth2 requests a client makes.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, split};

/// RFC 7636 Appendix B: a verifier and its S256 challenge.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Nothing listens there: the tests read the redirects instead of following them.
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub(crate) type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// A good authorization request for `client_id`, with `state`.
pub(crate) fn auth_params<'a>(client_id: &'a str, state: &'a str) -> Pairs<'a> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "read write"),
    ]
}

/// `pairs` with `name` set to `value`, or removed when `value` is None.
pub(crate) fn with_param<'a>(
    pairs: &Pairs<'a>,
    name: &'a str,
    value: Option<&'a str>,
) -> Pairs<'a> {
    let mut out: Pairs<'a> = pairs.iter().copied().filter(|(k, _)| *k != name).collect();
    if let Some(value) = value {
        out.push((name, value));
    }
    out
}

/// What the browser sees: status, Location (resolved) and body.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<url::Url>,
    pub(crate) body: String,
}

impl Page {
    pub(crate) async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| url::Url::parse(l.to_str().unwrap()).unwrap());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    /// The Location's query parameters.
    pub(crate) fn query(&self) -> HashMap<String, String> {
        let location = self
            .location
            .as_ref()
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status, self.body));
        location.query_pairs().into_owned().collect()
    }

    /// The Location without its query.
    pub(crate) fn target(&self) -> String {
        let mut location = self.location.clone().unwrap();
        location.set_query(None);
        location.to_string()
    }
}

/// The `<input type="hidden">` fields of a page, unescaped.
pub(crate) fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let (value, _) = rest.split_once("\">").unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// The payload of an ID token, after checking that it is an unsigned JWT.
pub(crate) fn id_token_claims(id_token: &str) -> Value {
    use base64::Engine as _;
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|e| panic!("{part}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    };
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "{id_token}");
    assert_eq!(parts[2], "", "no signature");
    assert!(!id_token.contains('='), "no padding: {id_token}");
    assert_eq!(decode(parts[0]), json!({"alg": "none", "typ": "JWT"}));
    decode(parts[1])
}

impl Harness {
    pub(crate) fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/oauth/v2/auth")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.into()
    }

    pub(crate) async fn authorize_get(&self, params: &[(&str, &str)]) -> Page {
        let response = self
            .browser
            .get(self.authorize_url(params))
            .send()
            .await
            .unwrap();
        Page::read(response).await
    }

    pub(crate) async fn authorize_post(&self, form: &[(&str, &str)]) -> Page {
        let response = self
            .browser
            .post(self.url("/oauth/v2/auth"))
            .form(form)
            .send()
            .await
            .unwrap();
        Page::read(response).await
    }

    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// A code for `client_id` through the login form (redirect URI [`REDIRECT`]).
    pub(crate) async fn code(&self, client_id: &str) -> String {
        let mut form = auth_params(client_id, "s");
        form.push(("password", "demo"));
        let page = self.authorize_post(&form).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        page.query()["code"].clone()
    }

    /// Exchanges a code of the public client with the right verifier.
    pub(crate) async fn exchange(&self, code: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }

    pub(crate) async fn device(&self, client: &[(&str, &str)]) -> Value {
        let (status, body) = self.post_form("/oauth/v2/device", client).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub(crate) async fn poll(&self, device_code: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }

    pub(crate) async fn revoke(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/v2/revoke"))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

impl Harness {
    pub(crate) async fn refresh_public(&self, refresh: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }
}
