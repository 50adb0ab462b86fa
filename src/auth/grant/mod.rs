//! The token endpoint, through the `oauth2` crate and an adapter over our reqwest
//! client: one method per grant, plus device authorization and revocation. The
//! adapter rewrites the form body as JSON where the profile asks for it. No caching
//! here.

mod adapter;
mod custom;
mod response;

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, StandardRevocableToken, TokenUrl,
};

use super::AuthError;
use crate::project::model::profile::{ClientAuth, TokenRequest};
use crate::secret::Secret;
pub use adapter::AdapterError;
pub use custom::ExchangeRequest;
pub use response::RunnerTokenResponse;
pub(crate) use response::server_text;

/// The fields of a token endpoint's JSON answer, as sent.
type Fields = serde_json::Map<String, serde_json::Value>;

/// How much of a token endpoint's answer is read: token and error responses are a
/// few hundred bytes; anything past this is not one.
const MAX_RESPONSE: usize = 1024 * 1024;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    RunnerTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The tokens one grant gave.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    /// Who the server says logged in: the `id_token`'s `preferred_username`, `email`
    /// or `sub`, read without checking its signature (it is shown, never trusted).
    pub subject: Option<String>,
}

/// An OAuth2 error answer (`error`, `error_description`) from an endpoint other than
/// the token endpoint's grants, as an [`AuthError`].
fn server_refusal(
    grant: &str,
    url: &url::Url,
    json: &Fields,
    status: http::StatusCode,
    client_auth: ClientAuth,
) -> AuthError {
    let text = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .map(|s| server_text(s, 300))
    };
    match text("error") {
        Some(error) => AuthError::Server {
            grant: grant.to_string(),
            url: url.to_string(),
            error,
            description: text("error_description"),
            client_auth,
        },
        None if status.is_server_error() => AuthError::Transport(format!("{url} failed: {status}")),
        None => {
            AuthError::BadResponse(format!("{url} answered {status} without an OAuth2 `error`"))
        }
    }
}

/// An HTTP client for the authorization server: redirects off (credentials go only
/// to the URLs configured or discovered), the profile's TLS settings and timeout.
pub fn plain_client(config: &EndpointConfig) -> Result<reqwest::Client, AuthError> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")));
    config
        .tls
        .apply(builder)
        .map_err(AuthError::Transport)?
        .build()
        .map_err(|e| AuthError::Transport(format!("cannot build the HTTP client: {e}")))
}

/// What a device authorization request gave (RFC 8628 §3.2).
pub type DeviceDetails = oauth2::StandardDeviceAuthorizationResponse;

/// The longest wait between two polls of a device login, whatever the server says.
pub const MAX_DEVICE_INTERVAL: Duration = Duration::from_secs(60);

/// A device authorization answer's `interval` brought within 1 s to
/// [`MAX_DEVICE_INTERVAL`], whatever number it is (a negative, a fraction, one past
/// `u64`): the server's number never reaches a `Duration` unchecked.
fn clamp_interval(json: &mut Fields) {
    let max = MAX_DEVICE_INTERVAL.as_secs();
    let clamped = match json.get("interval") {
        Some(serde_json::Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => u.clamp(1, max),
            (None, Some(f)) if f > max as f64 => max,
            _ => 1,
        },
        _ => return,
    };
    json.insert("interval".to_string(), clamped.into());
}

/// The settings of one token endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub token_request: TokenRequest,
    pub client_auth: ClientAuth,
    pub timeout: Duration,
    pub tls: crate::http::TlsOptions,
    /// `auth.params`: extra parameters of the authorize and code or device requests.
    pub params: Vec<(String, String)>,
    /// `private_key_jwt` / `client_secret_jwt`: how the client signs its assertions.
    pub assertion: Option<crate::auth::assertion::ClientAssertion>,
    /// The session's DPoP key: token requests carry a proof once it has one.
    pub dpop: std::sync::Arc<crate::auth::dpop::Dpop>,
}

impl EndpointConfig {
    /// The secret sent as it is (in Basic or the body): none for a public client or
    /// one that signs assertions.
    fn plain_secret(&self) -> Option<&Secret> {
        match self.client_auth {
            ClientAuth::Body | ClientAuth::Basic => self.client_secret.as_ref(),
            _ => None,
        }
    }

    /// How a form request to the server carries the client's secret (RFC 6749
    /// §2.3.1): the Basic pair to send, each part form-encoded, or `client_id` and
    /// `client_secret` added to `params` (`None`).
    fn authenticate_form(&self, params: &mut Vec<(String, String)>) -> Option<(String, String)> {
        let enc =
            |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
        let secret = self.plain_secret();
        if let (ClientAuth::Basic, Some(secret)) = (self.client_auth, secret) {
            return Some((enc(&self.client_id), enc(secret.expose())));
        }
        if !self.client_id.is_empty() && !params.iter().any(|(k, _)| k == "client_id") {
            params.push(("client_id".to_string(), self.client_id.clone()));
        }
        if let Some(secret) = secret {
            params.push(("client_secret".to_string(), secret.expose().to_string()));
        }
        None
    }

    /// The client-assertion parameters, new for each request (`None`: the client
    /// does not sign).
    fn assertion_params(&self) -> Result<Option<Vec<(String, String)>>, AuthError> {
        self.assertion
            .as_ref()
            .map(|a| a.params(&self.token_url))
            .transpose()
            .map_err(|e| AuthError::Transport(format!("cannot sign the client assertion: {e}")))
    }
}

/// A token endpoint and the HTTP client that talks to it (redirects off).
pub struct TokenEndpoint {
    client: OAuthClient,
    http: reqwest::Client,
    config: EndpointConfig,
}

impl TokenEndpoint {
    pub fn new(config: EndpointConfig) -> Result<TokenEndpoint, AuthError> {
        let token_url = TokenUrl::from_url(config.token_url.clone());
        let mut client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(match config.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                _ => AuthType::RequestBody,
            });
        if let Some(secret) = config.plain_secret() {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        let http = plain_client(&config)?;
        Ok(TokenEndpoint {
            client,
            http,
            config,
        })
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> &url::Url {
        &self.config.token_url
    }

    pub async fn password(&self, username: &str, password: &Secret) -> Result<Granted, AuthError> {
        let user = ResourceOwnerUsername::new(username.to_string());
        let pass = ResourceOwnerPassword::new(password.expose().to_string());
        let adapter = self.adapter();
        let mut req = self.client.exchange_password(&user, &pass);
        for s in &self.config.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        self.finish("password", req.request_async(&adapter).await)
    }

    /// The refresh grant. No `scope` is sent: RFC 6749 §6 then keeps the scope first
    /// granted, where asking again for the configured one can fail (a server that
    /// granted less refuses a refresh asking for more).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Granted, AuthError> {
        let rt = RefreshToken::new(refresh_token.expose().to_string());
        let adapter = self.adapter();
        let req = self.client.exchange_refresh_token(&rt);
        self.finish("refresh_token", req.request_async(&adapter).await)
    }

    pub async fn client_credentials(&self) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let mut req = self.client.exchange_client_credentials();
        for s in &self.config.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        self.finish("client_credentials", req.request_async(&adapter).await)
    }

    /// The authorization code grant (RFC 6749 §4.1.3) with its PKCE verifier.
    pub async fn authorization_code(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let redirect = oauth2::RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| AuthError::Interactive(format!("invalid redirect URI: {e}")))?;
        let mut req = self
            .client
            .exchange_code(oauth2::AuthorizationCode::new(code.expose().to_string()))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier.expose().to_string()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        for (k, v) in &self.config.params {
            req = req.add_extra_param(k.clone(), v.clone());
        }
        self.finish("authorization_code", req.request_async(&adapter).await)
    }

    /// Asks `url` for a device code (RFC 8628 §3.1).
    pub async fn device_authorization(&self, url: &url::Url) -> Result<DeviceDetails, AuthError> {
        let mut params = Vec::new();
        if !self.config.scopes.is_empty() {
            params.push(("scope".to_string(), self.config.scopes.join(" ")));
        }
        params.extend(self.config.params.iter().cloned());
        let (status, body) = self.form_post(url, params).await?;
        let json: Fields = serde_json::from_slice(&body).map_err(|_| {
            AuthError::BadResponse(format!(
                "the device authorization endpoint {url} answered {status} with something that is not JSON"
            ))
        })?;
        if !status.is_success() {
            return Err(server_refusal(
                "device authorization",
                url,
                &json,
                status,
                self.config.client_auth,
            ));
        }
        let mut json = json;
        clamp_interval(&mut json);
        serde_json::from_value(serde_json::Value::Object(json)).map_err(|e| {
            AuthError::BadResponse(format!(
                "the device authorization endpoint {url} answered without what RFC 8628 asks ({e})"
            ))
        })
    }

    /// Polls the token endpoint for the device code of `details` (RFC 8628 §3.4):
    /// at its interval, 5 s more on `slow_down` (never more than
    /// [`MAX_DEVICE_INTERVAL`] between two polls), on through `authorization_pending`,
    /// until a token, a refusal, or `deadline`. The caller bounds it by its own clock
    /// as well: this deadline is the `oauth2` crate's, read from the wall clock.
    pub async fn device_token(
        &self,
        details: &DeviceDetails,
        deadline: Duration,
    ) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let sleep = |d: Duration| tokio::time::sleep(d.min(MAX_DEVICE_INTERVAL));
        let result = self
            .client
            .exchange_device_access_token(details)
            .request_async(&adapter, sleep, Some(deadline))
            .await;
        self.finish("device_code", result)
    }

    /// Revokes `token` at `url` (RFC 7009); `hint` is `refresh_token` or `access_token`.
    pub async fn revoke(
        &self,
        url: &url::Url,
        token: &Secret,
        hint: &str,
    ) -> Result<(), AuthError> {
        let params = vec![
            ("token".to_string(), token.expose().to_string()),
            ("token_type_hint".to_string(), hint.to_string()),
        ];
        let (status, body) = self.form_post(url, params).await?;
        if status.is_success() {
            return Ok(());
        }
        let json: Fields = serde_json::from_slice(&body).unwrap_or_default();
        Err(server_refusal(
            "revocation",
            url,
            &json,
            status,
            self.config.client_auth,
        ))
    }

    /// A form POST to `url` with the client's authentication, and the answer (at most
    /// [`MAX_RESPONSE`]).
    async fn form_post(
        &self,
        url: &url::Url,
        mut params: Vec<(String, String)>,
    ) -> Result<(http::StatusCode, Vec<u8>), AuthError> {
        let c = &self.config;
        let secret = c.plain_secret();
        let mut req = self.http.post(url.clone());
        match c.authenticate_form(&mut params) {
            Some((user, pass)) => req = req.basic_auth(user, Some(pass)),
            None => params.extend(c.assertion_params()?.unwrap_or_default()),
        }
        let transport = |e: String| AuthError::Transport(format!("request to {url} failed: {e}"));
        let what = if params.iter().any(|(k, _)| k == "token") {
            "revocation"
        } else if params.iter().any(|(k, _)| k == "response_type") {
            "pushed authorization"
        } else {
            "device"
        };
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let basic = matches!((c.client_auth, secret), (ClientAuth::Basic, Some(_)));
        let beside = crate::secret::log::Beside {
            basic,
            certificate: c.tls.client_identity.is_some(),
        };
        crate::secret::log::credential_request(what, "POST", url.as_str(), beside, form.as_bytes());
        crate::http::note_proxy(&c.tls, url);
        let mut resp = req
            .form(&params)
            .send()
            .await
            .map_err(|e| transport(crate::http::root_cause(&e)))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(crate::http::error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(AuthError::BadResponse(format!(
                    "{url} answered with more than 1 MiB"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        crate::secret::log::credential_response(what, status.as_u16(), &body);
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_intervals_are_clamped_to_a_minute() {
        let cases = [
            ("18446744073709551615", Some(60)),
            ("1e300", Some(60)),
            ("100000", Some(60)),
            ("60", Some(60)),
            ("7", Some(7)),
            ("0", Some(1)),
            ("-5", Some(1)),
            ("0.5", Some(1)),
            ("null", None),
        ];
        for (given, want) in cases {
            let mut json: Fields =
                serde_json::from_str(&format!("{{\"interval\": {given}}}")).unwrap();
            clamp_interval(&mut json);
            let got = json.get("interval").and_then(|v| v.as_u64());
            assert_eq!(got, want, "{given}");
        }
        let mut none = Fields::new();
        clamp_interval(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn a_clamped_answer_reads_as_a_device_authorization() {
        let mut json: Fields = serde_json::from_str(
            r#"{"device_code": "d", "user_code": "U", "verification_uri": "https://idp.example/v",
                "expires_in": 600, "interval": 18446744073709551615}"#,
        )
        .unwrap();
        clamp_interval(&mut json);
        let d: DeviceDetails = serde_json::from_value(serde_json::Value::Object(json)).unwrap();
        assert_eq!(d.interval(), Duration::from_secs(60));
        // What the oauth2 crate adds on `slow_down` cannot overflow from here.
        assert!(d.interval().checked_add(Duration::from_secs(5)).is_some());
    }
}
