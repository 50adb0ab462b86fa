//! `GET` and `POST /oauth/v2/auth`: the authorization endpoint (RFC 6749 §4.1), with
//! PKCE S256 enforced for every client (RFC 7636) and loopback redirect URIs only, on
//! any port (RFC 8252 §7.3). A GET shows the login form (or, with `--auto-approve`,
//! redirects with a code at once); the form POSTs back here.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::{Host, Url};

use super::page;
use crate::accounts::{Client, PASSWORD, USERNAME};
use crate::state::codes::{CodeRequest, is_pkce_text};
use crate::state::{AppState, lock};

/// The parameters the endpoint reads, in the order the login form carries them.
const PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "nonce",
];

/// `GET /oauth/v2/auth?response_type=code&client_id=…&redirect_uri=…&code_challenge=…`.
pub(crate) async fn show(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let pairs = pairs(query.as_deref().unwrap_or("").as_bytes());
    let request = match AuthRequest::parse(&pairs) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(&state, StatusCode::FOUND),
    };
    if state.opts.auto_approve {
        return approve(&state, &request, StatusCode::FOUND);
    }
    page::response(StatusCode::OK, request.form(None))
}

/// `POST /oauth/v2/auth`: the login form, with `password` and `action` (`approve` or
/// `deny`) besides the request's own parameters.
pub(crate) async fn submit(State(state): State<AppState>, body: Bytes) -> Response {
    let pairs = pairs(&body);
    let request = match AuthRequest::parse(&pairs) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(&state, StatusCode::SEE_OTHER),
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("action") == Some("deny") {
        let denied = Refusal::Redirect {
            to: Box::new(request.redirect_uri.clone()),
            state: request.state.clone(),
            error: "access_denied",
            description: "The user denied the request".into(),
        };
        return denied.into_response(&state, StatusCode::SEE_OTHER);
    }
    let user_matches = field("username").is_none_or(|u| u == USERNAME);
    if user_matches && field("password") == Some(PASSWORD) {
        return approve(&state, &request, StatusCode::SEE_OTHER);
    }
    let message = format!("Wrong password for {USERNAME}.");
    page::response(StatusCode::BAD_REQUEST, request.form(Some(&message)))
}

/// A code for the request, sent to its redirect URI with the state.
fn approve(state: &AppState, request: &AuthRequest, status: StatusCode) -> Response {
    let code = lock(&state.codes).issue(
        state.clock.now_ms(),
        CodeRequest {
            client_id: request.client.id().to_owned(),
            redirect_uri: request.redirect_uri_text.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            username: USERNAME.to_owned(),
        },
    );
    lock(&state.stats).authorization_codes_issued += 1;
    let mut to = request.redirect_uri.clone();
    {
        let mut query = to.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(s) = &request.state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", &state.root);
    }
    redirect(status, &to)
}

/// An authorization request that passed every check.
struct AuthRequest {
    client: Client,
    /// As the client sent it: the token request must repeat it exactly.
    redirect_uri_text: String,
    redirect_uri: Url,
    state: Option<String>,
    code_challenge: String,
    scope: Option<String>,
    nonce: Option<String>,
    /// The known parameters as they came, for the login form's hidden fields.
    hidden: Vec<(&'static str, String)>,
}

/// Why a request was refused (RFC 6749 §4.1.2.1): without a trustworthy client and
/// redirect URI, on a page; otherwise at the redirect URI.
enum Refusal {
    Page(String),
    Redirect {
        to: Box<Url>,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn into_response(self, app: &AppState, status: StatusCode) -> Response {
        match self {
            Refusal::Page(reason) => {
                page::response(StatusCode::BAD_REQUEST, page::refused(&reason))
            }
            Refusal::Redirect {
                mut to,
                state,
                error,
                description,
            } => {
                {
                    let mut query = to.query_pairs_mut();
                    query.append_pair("error", error);
                    query.append_pair("error_description", &description);
                    if let Some(s) = &state {
                        query.append_pair("state", s);
                    }
                    query.append_pair("iss", &app.root);
                }
                redirect(status, &to)
            }
        }
    }
}

impl AuthRequest {
    fn parse(pairs: &[(String, String)]) -> Result<AuthRequest, Refusal> {
        let Sent {
            values,
            hidden,
            repeated,
        } = read_params(pairs);
        let [
            response_type,
            client_id,
            redirect_uri,
            state,
            code_challenge,
            code_challenge_method,
            scope,
            nonce,
        ] = values;
        // Until the client and its redirect URI are known good, nothing is redirected.
        if let Some(name @ ("client_id" | "redirect_uri")) = repeated {
            return Err(Refusal::Page(format!("{name} is repeated")));
        }
        let client_id = client_id.ok_or_else(|| Refusal::Page("client_id is missing".into()))?;
        let client = Client::named(&client_id).ok_or_else(|| {
            Refusal::Page(format!(
                "Unknown client_id {client_id:?}: the sandbox knows sandbox and sandbox-public"
            ))
        })?;
        let redirect_uri_text =
            redirect_uri.ok_or_else(|| Refusal::Page("redirect_uri is missing".into()))?;
        let redirect_uri = loopback_redirect(&redirect_uri_text).map_err(Refusal::Page)?;
        let refuse = |error: &'static str, description: String| Refusal::Redirect {
            to: Box::new(redirect_uri.clone()),
            state: state.clone(),
            error,
            description,
        };
        if let Some(name) = repeated {
            return Err(refuse("invalid_request", format!("{name} is repeated")));
        }
        let code_challenge = check_code_request(
            response_type.as_deref(),
            code_challenge,
            code_challenge_method.as_deref(),
        )
        .map_err(|(error, description)| refuse(error, description))?;
        Ok(AuthRequest {
            client,
            redirect_uri_text,
            redirect_uri,
            state,
            code_challenge,
            scope,
            nonce,
            hidden,
        })
    }

    fn form(&self, error: Option<&str>) -> String {
        let hidden: Vec<(&str, &str)> = self.hidden.iter().map(|(k, v)| (*k, v.as_str())).collect();
        page::authorize_form(&hidden, self.client.id(), self.scope.as_deref(), error)
    }
}

/// The known parameters as sent.
struct Sent {
    /// Each of [`PARAMS`]' first non-empty value, in its order.
    values: [Option<String>; PARAMS.len()],
    /// The same as pairs, for the login form's hidden fields.
    hidden: Vec<(&'static str, String)>,
    /// The first parameter sent more than once.
    repeated: Option<&'static str>,
}

fn read_params(pairs: &[(String, String)]) -> Sent {
    let mut hidden = Vec::new();
    let mut values: [Option<String>; PARAMS.len()] = Default::default();
    let mut repeated = None;
    for (i, name) in PARAMS.iter().enumerate() {
        let mut found = pairs.iter().filter(|(k, v)| k == name && !v.is_empty());
        if let Some((_, value)) = found.next() {
            values[i] = Some(value.clone());
            hidden.push((*name, value.clone()));
        }
        if found.next().is_some() {
            repeated = repeated.or(Some(*name));
        }
    }
    Sent {
        values,
        hidden,
        repeated,
    }
}

/// The checks whose failures go back to the redirect URI: `response_type=code` and
/// PKCE with S256. The code challenge, or the error and its description.
fn check_code_request(
    response_type: Option<&str>,
    code_challenge: Option<String>,
    code_challenge_method: Option<&str>,
) -> Result<String, (&'static str, String)> {
    match response_type {
        Some("code") => {}
        None => return Err(("invalid_request", "response_type is missing".into())),
        Some(other) => {
            return Err((
                "unsupported_response_type",
                format!("response_type {other:?} is not supported: use code"),
            ));
        }
    }
    let code_challenge = code_challenge.ok_or_else(|| {
        (
            "invalid_request",
            "code_challenge is missing: this server requires PKCE (RFC 7636)".into(),
        )
    })?;
    match code_challenge_method {
        Some("S256") => {}
        None => {
            return Err((
                "invalid_request",
                "code_challenge_method is missing: it must be S256 (plain is not accepted)".into(),
            ));
        }
        Some(other) => {
            return Err((
                "invalid_request",
                format!("code_challenge_method {other:?} is not accepted: use S256"),
            ));
        }
    }
    if !is_pkce_text(&code_challenge) {
        return Err((
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)"
                .into(),
        ));
    }
    Ok(code_challenge)
}

/// `http://127.0.0.1:PORT/PATH`, `http://localhost:PORT/PATH` or `http://[::1]:PORT/PATH`,
/// any port, no user information, no fragment (RFC 8252 §7.3, RFC 6749 §3.1.2).
fn loopback_redirect(text: &str) -> Result<Url, String> {
    let refused = |why: &str| {
        format!(
            "redirect_uri {text:?} is refused: {why}; the sandbox sends codes only to \
             http://127.0.0.1:PORT/PATH or http://localhost:PORT/PATH (RFC 8252 §7.3)"
        )
    };
    let url = Url::parse(text).map_err(|_| refused("it is not an absolute URL"))?;
    if url.scheme() != "http" {
        return Err(refused("its scheme is not http"));
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    };
    if !loopback {
        return Err(refused("its host is not a loopback address"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("it carries user information"));
    }
    if url.fragment().is_some() {
        return Err(refused("it has a fragment"));
    }
    Ok(url)
}

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// A redirect that no cache keeps and whose URL (it may hold a code) no referrer leaks.
fn redirect(status: StatusCode, to: &Url) -> Response {
    let Ok(location) = HeaderValue::from_str(to.as_str()) else {
        return page::response(
            StatusCode::BAD_REQUEST,
            page::refused("The redirect URI cannot be sent in a Location header"),
        );
    };
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, location);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_redirects_are_accepted() {
        for good in [
            "http://127.0.0.1:49152/callback",
            "http://127.0.0.1/callback",
            "http://localhost:8000/cb?x=1",
            "http://LOCALHOST:8000/cb",
            "http://[::1]:8000/cb",
        ] {
            assert!(loopback_redirect(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("https://127.0.0.1:1/cb", "its scheme is not http"),
            (
                "http://example.com:80/cb",
                "its host is not a loopback address",
            ),
            (
                "http://127.0.0.2:80/cb",
                "its host is not a loopback address",
            ),
            (
                "http://localhost.example.com/cb",
                "its host is not a loopback address",
            ),
            ("http://user@127.0.0.1:1/cb", "it carries user information"),
            ("http://127.0.0.1:1/cb#x", "it has a fragment"),
            ("/callback", "it is not an absolute URL"),
            ("urn:ietf:wg:oauth:2.0:oob", "its scheme is not http"),
        ] {
            let err = loopback_redirect(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
