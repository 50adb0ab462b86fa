//! The adapter the `oauth2` crate sends through: our reqwest client, the form body
//! rewritten as JSON where the profile asks, and every answer sorted before the crate
//! parses it (a token response, an OAuth2 error, or an [`AdapterError`] that never
//! shows the body); then the crate's result read into a [`Granted`] or an
//! [`AuthError`].

use oauth2::RequestTokenError;

use super::response::{check_token_response, server_text};
use super::{EndpointConfig, Fields, Granted, MAX_RESPONSE, RunnerTokenResponse, TokenEndpoint};
use crate::auth::AuthError;
use crate::project::model::profile::TokenRequest;

/// Why the adapter gives the oauth2 crate no response to parse.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The request did not reach the server.
    #[error("{0}")]
    Unreachable(String),
    /// The request went out and no whole answer came back: the server may have acted
    /// on it (spent a refresh token).
    #[error("{0}")]
    NoAnswer(String),
    /// An answer that is neither a token response nor an OAuth2 error.
    #[error("{status} ({content_type}), which is not a token response ({why})")]
    NotToken {
        status: http::StatusCode,
        content_type: String,
        why: String,
    },
    /// A 5xx: the server failed, whatever the body says.
    #[error("{status} ({content_type}){}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    ServerFailure {
        status: http::StatusCode,
        content_type: String,
        /// The OAuth2 `error` and `error_description`, when the body has them.
        error: Option<String>,
    },
}

impl TokenEndpoint {
    pub(super) fn finish<
        T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
    >(
        &self,
        grant: &str,
        result: Result<
            RunnerTokenResponse,
            RequestTokenError<AdapterError, oauth2::StandardErrorResponse<T>>,
        >,
    ) -> Result<Granted, AuthError> {
        let url = self.config.token_url.to_string();
        match result {
            Ok(r) => {
                let checked = check_token_response(&r.fields).map_err(|why| {
                    AuthError::BadResponse(format!(
                        "the token endpoint {url} answered the {grant} grant with {why}"
                    ))
                })?;
                if checked.token_type_missing {
                    tracing::info!(
                        "the token endpoint {url} sent no `token_type`: taken as Bearer"
                    );
                }
                if let Some(note) = checked.lifetime_note {
                    eprintln!("warning: the token endpoint {url} sent {note}");
                }
                Ok(checked.granted)
            }
            Err(RequestTokenError::ServerResponse(r)) => Err(AuthError::Server {
                grant: grant.to_string(),
                url,
                error: r.error().as_ref().to_string(),
                description: r.error_description().cloned(),
                client_auth: self.config.client_auth,
            }),
            Err(RequestTokenError::Request(AdapterError::Unreachable(e))) => {
                let hint = if e.contains("certificate") {
                    " (a private certificate authority? trust it with --cacert FILE or http.ca_cert)"
                } else {
                    ""
                };
                Err(AuthError::Transport(format!(
                    "token request to {url} failed: {e}{hint}"
                )))
            }
            Err(RequestTokenError::Request(AdapterError::NoAnswer(cause))) => {
                if grant == "refresh_token" {
                    Err(AuthError::RefreshUnanswered { url, cause })
                } else {
                    Err(AuthError::Transport(format!(
                        "token request to {url} failed: {cause}"
                    )))
                }
            }
            Err(RequestTokenError::Request(e @ AdapterError::ServerFailure { .. })) => {
                Err(AuthError::Transport(format!(
                    "the token endpoint {url} failed on the {grant} grant: {e}"
                )))
            }
            Err(RequestTokenError::Request(e @ AdapterError::NotToken { status, .. })) => {
                let hint = if status.is_redirection() {
                    "; token requests do not follow redirects: is token_url right?"
                } else {
                    ""
                };
                Err(AuthError::BadResponse(format!(
                    "the token endpoint {url} answered the {grant} grant with {e}{hint}"
                )))
            }
            // The adapter passes on only JSON objects, so these are not expected; neither
            // the body nor serde's excerpt of it is shown: it may hold tokens.
            Err(RequestTokenError::Parse(_, body)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered the {grant} grant with something that is not a token response ({} bytes)",
                body.len()
            ))),
            Err(RequestTokenError::Other(msg)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered the {grant} grant unexpectedly: {msg}"
            ))),
        }
    }

    /// The closure the oauth2 crate calls to send a request.
    pub(super) fn adapter(
        &self,
    ) -> impl Fn(
        oauth2::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, AdapterError>> + Send>,
    > {
        let http = self.http.clone();
        let config = self.config.clone();
        move |req: oauth2::HttpRequest| {
            let http = http.clone();
            let config = config.clone();
            Box::pin(async move { send(&http, req, &config).await })
        }
    }
}

/// Sends one token request, as JSON where the profile asks, with a new client assertion
/// (its own `jti`) for each attempt, and a DPoP proof once the session has a key.
pub(super) async fn send(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
    config: &EndpointConfig,
) -> Result<oauth2::HttpResponse, AdapterError> {
    let (json, tls, dpop) = (
        config.token_request == TokenRequest::Json,
        &config.tls,
        &*config.dpop,
    );
    let (parts, form) = req.into_parts();
    let mut headers = parts.headers;
    let attempt = |headers: &mut http::HeaderMap| {
        let extra = config
            .assertion_params()
            .map_err(|e| AdapterError::Unreachable(e.to_string()))?;
        final_body(form.clone(), extra.unwrap_or_default(), json, headers)
    };
    let (mut sent, grant_type) = attempt(&mut headers)?;
    if let Some(v) = headers.get_mut(http::header::AUTHORIZATION) {
        v.set_sensitive(true);
    }
    let url = url::Url::parse(&parts.uri.to_string())
        .map_err(|e| AdapterError::Unreachable(e.to_string()))?;
    crate::secret::log::credential_request(
        "token",
        parts.method.as_str(),
        url.as_str(),
        crate::secret::log::Beside {
            basic: headers.contains_key(http::header::AUTHORIZATION),
            certificate: tls.client_identity.is_some(),
        },
        &sent,
    );
    crate::http::note_proxy(tls, &url);
    let mut nonce_retried = false;
    // DPoP switched on by the server's refusal of a request without a proof.
    let mut switched = false;
    loop {
        let request = with_proof(http, &parts.method, &url, headers.clone(), dpop);
        let (status, content_type, resp_headers, body) = exchange(request, sent.clone()).await?;
        crate::secret::log::credential_response(
            "token",
            status.as_u16(),
            body.as_deref().unwrap_or_default(),
        );
        // RFC 9449 §8: a server that wants a nonce says `use_dpop_nonce` with one.
        if dpop.active()
            && dpop.keep_nonce(&url, &resp_headers)
            && !nonce_retried
            && status == http::StatusCode::BAD_REQUEST
            && oauth_error_is(body.as_deref(), "use_dpop_nonce")
        {
            nonce_retried = true;
            tracing::info!("the token endpoint asked for a DPoP nonce: sending again with it");
            sent = attempt(&mut headers)?.0;
            continue;
        }
        if !dpop.active()
            && !switched
            && status.is_client_error()
            && let Some(why) =
                dpop.refusal_wants_proof(&resp_headers, body.as_deref(), grant_type.as_deref())
        {
            dpop.install(None).map_err(AdapterError::Unreachable)?;
            dpop.keep_nonce(&url, &resp_headers);
            switched = true;
            tracing::info!("{why}: DPoP is on for this session, sending again with a proof");
            sent = attempt(&mut headers)?.0;
            continue;
        }
        if switched && !status.is_success() {
            // The proof did not help: later requests go without one again.
            dpop.clear();
        }
        return classify(status, content_type, body);
    }
}

/// A token request with the session's DPoP proof, once it has a key.
fn with_proof(
    http: &reqwest::Client,
    method: &http::Method,
    url: &url::Url,
    mut headers: http::HeaderMap,
    dpop: &crate::auth::dpop::Dpop,
) -> reqwest::RequestBuilder {
    if let Some(proof) = dpop.proof(method.as_str(), url, None)
        && let Ok(mut v) = http::HeaderValue::from_str(proof.expose())
    {
        v.set_sensitive(true);
        headers.insert("DPoP", v);
    }
    http.request(method.clone(), url.clone()).headers(headers)
}

/// The form `body` with `extra` added, as JSON when `json` (the content type set to
/// match), and the `grant_type` it carries.
fn final_body(
    mut body: Vec<u8>,
    extra: Vec<(String, String)>,
    json: bool,
    headers: &mut http::HeaderMap,
) -> Result<(Vec<u8>, Option<String>), AdapterError> {
    if !extra.is_empty() {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(&extra);
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend_from_slice(form.finish().as_bytes());
    }
    let grant_type = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    if !json {
        return Ok((body, grant_type));
    }
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        map.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&map).map_err(|e| AdapterError::Unreachable(e.to_string()))?;
    Ok((body, grant_type))
}

/// Whether `body` is an OAuth2 error answer with `error` `code`.
fn oauth_error_is(body: Option<&[u8]>, code: &str) -> bool {
    body.and_then(|b| serde_json::from_slice::<Fields>(b).ok())
        .is_some_and(|m| m.get("error").and_then(|e| e.as_str()) == Some(code))
}

/// Sends one token request: the status, content type and headers of the answer, and
/// its body (`None` when larger than [`MAX_RESPONSE`]).
async fn exchange(
    request: reqwest::RequestBuilder,
    body: Vec<u8>,
) -> Result<(http::StatusCode, String, http::HeaderMap, Option<Vec<u8>>), AdapterError> {
    let mut resp = request.body(body).send().await.map_err(|e| {
        if e.is_connect() {
            AdapterError::Unreachable(crate::http::root_cause(&e))
        } else {
            AdapterError::NoAnswer(crate::http::root_cause(&e))
        }
    })?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| server_text(&String::from_utf8_lossy(v.as_bytes()), 80))
        .unwrap_or_else(|| "no content type".to_string());
    let headers = resp.headers().clone();
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| AdapterError::NoAnswer(crate::http::error_chain(&e)))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE {
            return Ok((status, content_type, headers, None));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, content_type, headers, Some(bytes)))
}

/// What the oauth2 crate is given to parse: a token response (any 2xx JSON object
/// with an `access_token` field, as 200) or an OAuth2 error (re-encoded, as 400);
/// anything else is an [`AdapterError`] that names the status and content type and
/// never shows the body. `body` is `None` when it was larger than [`MAX_RESPONSE`].
fn classify(
    status: http::StatusCode,
    content_type: String,
    body: Option<Vec<u8>>,
) -> Result<oauth2::HttpResponse, AdapterError> {
    use serde_json::Value;
    let not_token = |why: &str| AdapterError::NotToken {
        status,
        content_type: content_type.clone(),
        why: why.to_string(),
    };
    let fields: Result<Fields, &str> = match &body {
        None => Err("more than 1 MiB"),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => Err("an empty body"),
        Some(b) => match serde_json::from_slice::<Value>(b) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("JSON, but not an object"),
            Err(_) => Err("not JSON"),
        },
    };
    // The OAuth2 error fields, cleaned for a terminal.
    let oauth_error = |m: &Fields| {
        let error = m.get("error").and_then(Value::as_str)?;
        let description = m
            .get("error_description")
            .and_then(Value::as_str)
            .map(|d| server_text(d, 300));
        Some((server_text(error, 80), description))
    };
    if status.is_server_error() {
        let error = fields
            .ok()
            .as_ref()
            .and_then(oauth_error)
            .map(|(e, d)| match d {
                Some(d) => format!("{e}: {d}"),
                None => e,
            });
        return Err(AdapterError::ServerFailure {
            status,
            content_type,
            error,
        });
    }
    let fields = fields.map_err(not_token)?;
    let token = status.is_success() && fields.contains_key("access_token");
    let (status, body) = if token {
        (http::StatusCode::OK, serde_json::to_vec(&fields))
    } else if let Some((error, description)) = oauth_error(&fields) {
        // Also a 2xx without a token: some servers (GitHub's) send errors as 200.
        let mut clean = Fields::new();
        clean.insert("error".into(), Value::String(error));
        if let Some(d) = description {
            clean.insert("error_description".into(), Value::String(d));
        }
        (http::StatusCode::BAD_REQUEST, serde_json::to_vec(&clean))
    } else if status.is_success() {
        return Err(not_token("no `access_token` field"));
    } else {
        return Err(not_token("no `error` field"));
    };
    let body = body.map_err(|e| AdapterError::NoAnswer(e.to_string()))?;
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| AdapterError::NoAnswer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classified(status: u16, ct: &str, body: Option<&str>) -> Result<(u16, String), String> {
        classify(
            http::StatusCode::from_u16(status).unwrap(),
            ct.to_string(),
            body.map(|b| b.as_bytes().to_vec()),
        )
        .map(|r| {
            (
                r.status().as_u16(),
                String::from_utf8(r.body().clone()).unwrap(),
            )
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn answers_are_sorted_before_oauth2_parses_them() {
        let ok = r#"{"access_token":"SECRET-AT","token_type":"bearer"}"#;
        let html = "<html>SECRET-AT</html>";
        // (status, content type, body, what oauth2 is given: status and body, or the error)
        type Case<'a> = (
            u16,
            &'a str,
            Option<&'a str>,
            Result<(u16, &'a str), &'a str>,
        );
        let cases: &[Case] = &[
            (200, "application/json", Some(ok), Ok((200, ok))),
            // The body decides, not the content type; any 2xx is a success.
            (200, "text/plain", Some(ok), Ok((200, ok))),
            (201, "application/json", Some(ok), Ok((200, ok))),
            // OAuth2 errors, cleaned; a 2xx without a token but with `error` is one too.
            (
                400,
                "application/json",
                Some(
                    r#"{"error":"invalid_grant","error_description":"bad\u001b[31m","x":"SECRET-AT"}"#,
                ),
                Ok((
                    400,
                    "{\"error\":\"invalid_grant\",\"error_description\":\"bad\u{fffd}[31m\"}",
                )),
            ),
            (
                401,
                "application/json",
                Some(r#"{"error":"invalid_client"}"#),
                Ok((400, r#"{"error":"invalid_client"}"#)),
            ),
            (
                200,
                "application/json",
                Some(r#"{"error":"invalid_scope","error_description":"no"}"#),
                Ok((400, r#"{"error":"invalid_scope","error_description":"no"}"#)),
            ),
            (
                200,
                "text/html; charset=utf-8",
                Some(html),
                Err("200 OK (text/html; charset=utf-8), which is not a token response (not JSON)"),
            ),
            (
                200,
                "application/json",
                Some(" \n"),
                Err("200 OK (application/json), which is not a token response (an empty body)"),
            ),
            (
                200,
                "application/json",
                Some(r#"["SECRET-AT"]"#),
                Err(
                    "200 OK (application/json), which is not a token response (JSON, but not an object)",
                ),
            ),
            (
                200,
                "application/json",
                Some(r#"{"token":"SECRET-AT"}"#),
                Err(
                    "200 OK (application/json), which is not a token response (no `access_token` field)",
                ),
            ),
            (
                200,
                "application/json",
                None,
                Err("200 OK (application/json), which is not a token response (more than 1 MiB)"),
            ),
            (
                404,
                "text/html",
                Some(html),
                Err("404 Not Found (text/html), which is not a token response (not JSON)"),
            ),
            (
                400,
                "application/json",
                Some(r#"{"error":{"code":"SECRET-AT"}}"#),
                Err(
                    "400 Bad Request (application/json), which is not a token response (no `error` field)",
                ),
            ),
            (
                302,
                "no content type",
                Some(""),
                Err("302 Found (no content type), which is not a token response (an empty body)"),
            ),
            (
                500,
                "text/html",
                Some(html),
                Err("500 Internal Server Error (text/html)"),
            ),
            (
                502,
                "no content type",
                None,
                Err("502 Bad Gateway (no content type)"),
            ),
            (
                503,
                "application/json",
                Some(r#"{"error":"temporarily_unavailable","error_description":"later"}"#),
                Err("503 Service Unavailable (application/json): temporarily_unavailable: later"),
            ),
            // Even with a token in it, a 5xx is a failure.
            (
                500,
                "application/json",
                Some(ok),
                Err("500 Internal Server Error (application/json)"),
            ),
        ];
        for (status, ct, body, want) in cases {
            let got = classified(*status, ct, *body);
            let want = want
                .map(|(s, b)| (s, b.to_string()))
                .map_err(str::to_string);
            assert_eq!(got, want, "{status} {ct} {body:?}");
        }
    }
}
