//! Sessions: where an access token comes from (SPEC §4). Cache → refresh → password
//! grant (or client credentials), under a cross-process lock, with the new pair saved
//! before it is used. Never sees request files: the caller renders the profile.

pub mod discovery;
pub mod grant;
pub mod interactive;
pub mod store;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use crate::clock::now_unix;
use crate::secret::Secret;
use grant::{EndpointConfig, Granted, TokenEndpoint};
use store::{CachedTokens, Identity, TokenStore};

/// Retries after a 401 while each new token came from another process: a server that
/// revokes the old access token at every rotation (django-oauth-toolkit) may have
/// revoked it again meanwhile, and with many processes and short-lived tokens that can
/// happen several times in a row (3 was seen to run out on a loaded machine with 32
/// processes and 2 s tokens). A token this process obtained itself gets one more try.
pub const MAX_UNAUTHORIZED_RETRIES: u32 = 8;

/// How long a process waits for another one's refresh before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not logged in for profile `{profile}`: run `runner login -p {profile}`")]
    LoginRequired { profile: String },
    #[error("the token endpoint {url} refused the {grant} grant: {error}{}{hint}",
        description.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
        hint = server_hint(error))]
    Server {
        grant: String,
        url: String,
        error: String,
        description: Option<String>,
    },
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    BadResponse(String),
    /// The refresh request went out and its answer was lost: the server may have
    /// spent (rotated) the refresh token. [`Session`] falls back to a new grant.
    #[error(
        "the token endpoint {url} gave no answer to the refresh_token grant ({cause}); the refresh token may be spent"
    )]
    RefreshUnanswered { url: String, cause: String },
    /// As `RefreshUnanswered`, with no password to fall back on.
    #[error(
        "the token endpoint {url} gave no answer to the refresh_token grant ({cause}); the refresh token may be spent: run `runner login -p {profile}`"
    )]
    RefreshLost {
        profile: String,
        url: String,
        cause: String,
    },
    #[error(
        "the token endpoint {url} issued a `{token_type}` token, which profile `{profile}` would send as Bearer: set `auth.scheme` to the scheme the API expects"
    )]
    TokenType {
        profile: String,
        url: String,
        token_type: String,
    },
    #[error("token cache: {0}")]
    Store(String),
    #[error("waited {secs} s for the token-cache lock {} (another runner is refreshing?); giving up", path.display())]
    LockTimeout { path: PathBuf, secs: u64 },
    #[error(
        "refusing to send credentials over plain http to {0}: use https (plain http is allowed only for loopback hosts)"
    )]
    InsecureTokenUrl(String),
    #[error("the API rejected a freshly obtained access token (401 after refresh)")]
    StillUnauthorized,
    #[error("cannot read the password: {0}")]
    Prompt(String),
    /// The browser or device login could not complete.
    #[error("login failed: {0}")]
    Interactive(String),
    /// `runner logout` could not revoke the tokens (they were forgotten all the same).
    #[error("{0}")]
    Revocation(String),
    /// The authorization server said no to the login (`error=access_denied`, …).
    #[error("the authorization server {url} refused the login: {error}{}",
        description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        url: String,
        error: String,
        description: Option<String>,
    },
    /// An endpoint the grant needs is neither configured nor in the issuer's metadata.
    #[error("profile `{profile}` names no {what} (auth.{key}), and {why}")]
    NoEndpoint {
        profile: String,
        what: &'static str,
        key: &'static str,
        why: String,
    },
}

fn server_hint(error: &str) -> &'static str {
    match error {
        "invalid_client" => " (check client_id and client_secret, and client_auth: body|basic)",
        "invalid_grant" => " (wrong username or password, or an expired refresh token)",
        "unsupported_grant_type" => " (the server does not allow this grant for the client)",
        _ => "",
    }
}

/// Which grant gets a session from nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    Password,
    ClientCredentials,
    /// Interactive: a browser, PKCE and a loopback redirect.
    AuthorizationCode,
    /// Interactive: a code entered on another device.
    DeviceCode,
}

impl GrantKind {
    /// Grants that need a person: run by `runner login`, else only when stderr is a
    /// terminal, so that they never block a script.
    pub fn is_interactive(self) -> bool {
        matches!(self, GrantKind::AuthorizationCode | GrantKind::DeviceCode)
    }
}

/// Where a profile's endpoints are: given, or to be discovered from `issuer`.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub issuer: Option<url::Url>,
    /// `auth.token_url` was given (else discovery names it).
    pub token_given: bool,
    pub authorization: Option<url::Url>,
    pub device: Option<url::Url>,
    pub revocation: Option<url::Url>,
}

/// How an interactive login runs.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// `auth.redirect_port` (0: a free port).
    pub redirect_port: u16,
    /// `auth.redirect_path`.
    pub redirect_path: String,
    /// `auth.login_timeout`.
    pub timeout: Duration,
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            redirect_port: 0,
            redirect_path: "/callback".to_string(),
            timeout: Duration::from_secs(300),
        }
    }
}

/// The endpoints [`Session::endpoint_url`] can look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Authorization,
    Device,
    Revocation,
}

/// What `runner logout` did.
#[derive(Debug, Default)]
pub struct Logout {
    /// There were cached tokens (now forgotten).
    pub had: bool,
    /// The tokens revoked at the server, by kind (`refresh_token`, `access_token`).
    pub revoked: Vec<&'static str>,
    /// The revocation endpoint, when there was one.
    pub revocation_url: Option<String>,
    /// Why revocation failed (the tokens were forgotten all the same).
    pub failure: Option<AuthError>,
}

/// A profile's OAuth2 settings, rendered.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub profile: String,
    pub grant: GrantKind,
    pub endpoint: EndpointConfig,
    pub username: String,
    /// `None` when it must be asked for.
    pub password: Option<Secret>,
    /// The profile sets `auth.scheme`, which then wins over the server's `token_type`;
    /// with the default (Bearer), a token of another type is refused.
    pub explicit_scheme: bool,
    /// The endpoints besides the token URL, and the issuer that names those missing.
    /// With an issuer and no `token_url`, `endpoint.token_url` is the issuer (which
    /// also keys the cache) until discovery names the token endpoint.
    pub endpoints: Endpoints,
    pub login: LoginSettings,
    /// Where discovery documents are cached (`None`: not cached).
    pub discovery_cache: Option<PathBuf>,
}

impl OAuthSettings {
    pub fn identity(&self) -> Identity {
        Identity {
            token_url: self.endpoint.token_url.to_string(),
            client_id: self.endpoint.client_id.clone(),
            username: self.username.clone(),
        }
    }
}

/// Refuses plain `http://` token URLs except on loopback hosts.
pub fn check_token_url(url: &url::Url) -> Result<(), AuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            if crate::http::is_loopback(url) {
                Ok(())
            } else {
                Err(AuthError::InsecureTokenUrl(url.to_string()))
            }
        }
        _ => Err(AuthError::InsecureTokenUrl(url.to_string())),
    }
}

/// Where tokens are kept between runs.
#[derive(Debug, Clone)]
pub enum Persistence {
    /// A token folder (SPEC §4).
    Dir(PathBuf),
    /// Memory only: the sandbox, whose tokens die with the process.
    Memory,
}

/// The header an access token travels in.
#[derive(Debug, Clone)]
pub struct AuthHeader {
    pub name: String,
    pub scheme: String,
}

impl AuthHeader {
    pub fn value(&self, token: &Secret) -> Secret {
        if self.scheme.is_empty() {
            token.clone()
        } else {
            Secret::new(format!("{} {}", self.scheme, token.expose()))
        }
    }
}

/// One OAuth2 session, shared by every request of a run.
pub struct Session {
    settings: OAuthSettings,
    identity: Identity,
    store: Option<TokenStore>,
    endpoint: OnceCell<TokenEndpoint>,
    /// The issuer's metadata, fetched (or read from its cache) when first needed.
    metadata: OnceCell<discovery::Metadata>,
    /// The tokens in use; its lock also makes one task refresh for all.
    current: Mutex<Option<CachedTokens>>,
}

impl Session {
    pub fn new(settings: OAuthSettings, persistence: Persistence) -> Result<Session, AuthError> {
        check_token_url(&settings.endpoint.token_url)?;
        let identity = settings.identity();
        let store = match persistence {
            Persistence::Dir(dir) => Some(TokenStore::open(&dir, &identity)?),
            Persistence::Memory => None,
        };
        Ok(Session {
            settings,
            identity,
            store,
            endpoint: OnceCell::new(),
            metadata: OnceCell::new(),
            current: Mutex::new(None),
        })
    }

    /// The cached tokens, without touching the network.
    pub fn cached(&self) -> Result<Option<CachedTokens>, AuthError> {
        match &self.store {
            Some(s) => s.load(&self.identity),
            None => Ok(None),
        }
    }

    /// The token endpoint: the configured one, or the one the issuer's metadata names.
    async fn endpoint(&self) -> Result<&TokenEndpoint, AuthError> {
        self.endpoint
            .get_or_try_init(|| async {
                let mut config = self.settings.endpoint.clone();
                if !self.settings.endpoints.token_given {
                    let m = self.metadata("token endpoint", "token_url").await?;
                    config.token_url = self.discovered(
                        m.token_endpoint.as_deref(),
                        "token endpoint",
                        "token_url",
                    )?;
                    check_token_url(&config.token_url)?;
                }
                TokenEndpoint::new(config)
            })
            .await
    }

    /// The issuer's metadata (for the endpoint `what`, configured as `key`).
    async fn metadata(
        &self,
        what: &'static str,
        key: &'static str,
    ) -> Result<&discovery::Metadata, AuthError> {
        let Some(issuer) = &self.settings.endpoints.issuer else {
            return Err(AuthError::NoEndpoint {
                profile: self.settings.profile.clone(),
                what,
                key,
                why: "it has no auth.issuer to discover it from".to_string(),
            });
        };
        self.metadata
            .get_or_try_init(|| async {
                let http = grant::plain_client(&self.settings.endpoint)?;
                discovery::metadata(&http, issuer, self.settings.discovery_cache.as_deref()).await
            })
            .await
    }

    /// A URL the issuer's metadata gave (`None`: it gave none).
    fn discovered(
        &self,
        value: Option<&str>,
        what: &'static str,
        key: &'static str,
    ) -> Result<url::Url, AuthError> {
        let issuer = self
            .settings
            .endpoints
            .issuer
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let Some(text) = value else {
            return Err(AuthError::NoEndpoint {
                profile: self.settings.profile.clone(),
                what,
                key,
                why: format!("the metadata of the issuer {issuer} names none"),
            });
        };
        url::Url::parse(text).map_err(|e| {
            AuthError::BadResponse(format!(
                "the issuer {issuer} names the {what} `{text}`, which is not a URL: {e}"
            ))
        })
    }

    /// An endpoint a grant cannot do without.
    async fn required_url(&self, which: Which) -> Result<url::Url, AuthError> {
        self.endpoint_url(which)
            .await?
            .ok_or_else(|| AuthError::NoEndpoint {
                profile: self.settings.profile.clone(),
                what: "endpoint",
                key: "issuer",
                why: format!("no {which:?} endpoint is known"),
            })
    }

    /// The authorization, device or revocation endpoint: configured, else discovered.
    /// `Ok(None)` only for revocation, which a server need not offer.
    pub async fn endpoint_url(&self, which: Which) -> Result<Option<url::Url>, AuthError> {
        let e = &self.settings.endpoints;
        let (given, what, key) = match which {
            Which::Authorization => (
                &e.authorization,
                "authorization endpoint",
                "authorization_url",
            ),
            Which::Device => (
                &e.device,
                "device authorization endpoint",
                "device_authorization_url",
            ),
            Which::Revocation => (&e.revocation, "revocation endpoint", "revocation_url"),
        };
        if let Some(u) = given {
            return Ok(Some(u.clone()));
        }
        if which == Which::Revocation && e.issuer.is_none() {
            return Ok(None);
        }
        let m = self.metadata(what, key).await?;
        let value = match which {
            Which::Authorization => m.authorization_endpoint.as_deref(),
            Which::Device => m.device_authorization_endpoint.as_deref(),
            Which::Revocation => m.revocation_endpoint.as_deref(),
        };
        if which == Which::Revocation && value.is_none() {
            return Ok(None);
        }
        let url = self.discovered(value, what, key)?;
        check_token_url(&url)?;
        Ok(Some(url))
    }

    /// A cached access token that is still valid, without any network or waiting.
    pub fn peek(&self) -> Option<Secret> {
        if let Ok(current) = self.current.try_lock()
            && let Some(t) = current.as_ref()
            && t.access_valid_at(now_unix())
        {
            return Some(t.access_token.clone());
        }
        let t = self.cached().ok()??;
        t.access_valid_at(now_unix())
            .then(|| t.access_token.clone())
    }

    /// A valid access token. `rejected` is a token the API just answered 401 to: it is
    /// not used again, even if the cache still holds it.
    pub async fn access_token(&self, rejected: Option<&Secret>) -> Result<Secret, AuthError> {
        self.token(rejected).await.map(|(t, _)| t)
    }

    /// As [`Session::access_token`], and whether this process obtained the token
    /// from the token endpoint just now (rather than from a cache).
    pub async fn token(&self, rejected: Option<&Secret>) -> Result<(Secret, bool), AuthError> {
        let usable =
            |t: &CachedTokens| t.access_valid_at(now_unix()) && Some(&t.access_token) != rejected;
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && usable(t)
        {
            return Ok((t.access_token.clone(), false));
        }
        let Some(store) = &self.store else {
            // Memory only: nothing to share with other processes.
            let previous = current.take();
            let fresh = self.renew(previous.as_ref()).await?;
            let token = fresh.access_token.clone();
            *current = Some(fresh);
            return Ok((token, true));
        };
        if let Some(t) = store.load(&self.identity)?
            && usable(&t)
        {
            let token = t.access_token.clone();
            *current = Some(t);
            return Ok((token, false));
        }
        let _lock = store.lock(LOCK_WAIT).await?;
        // Another process may have refreshed while we waited for the lock.
        let on_disk = store.load(&self.identity)?;
        if let Some(t) = &on_disk
            && usable(t)
        {
            let token = t.access_token.clone();
            *current = on_disk;
            return Ok((token, false));
        }
        let fresh = self.renew(on_disk.as_ref()).await?;
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok((token, true))
    }

    /// New tokens from `previous`'s refresh token, else from nothing. Saved (when
    /// there is a store) before they are returned. The caller holds the lock.
    async fn renew(&self, previous: Option<&CachedTokens>) -> Result<CachedTokens, AuthError> {
        if let Some(prev) = previous
            && let Some(rt) = &prev.refresh_token
        {
            tracing::info!(
                "refreshing the access token of profile {}",
                self.settings.profile
            );
            match self.endpoint().await?.refresh(rt).await {
                Ok(granted) => return self.keep(granted, Some(prev)),
                Err(AuthError::Server { error, .. }) if error == "invalid_grant" => {
                    tracing::info!("refresh token refused (invalid_grant)");
                    // Re-read under the lock: someone may have saved a newer pair.
                    if let Some(store) = &self.store
                        && let Some(newer) = store.load(&self.identity)?
                        && newer.refresh_token.as_ref() != Some(rt)
                    {
                        if newer.access_valid_at(now_unix()) {
                            return Ok(newer);
                        }
                        if let Some(rt2) = &newer.refresh_token
                            && let Ok(granted) = self.endpoint().await?.refresh(rt2).await
                        {
                            return self.keep(granted, Some(&newer));
                        }
                    }
                }
                Err(AuthError::RefreshUnanswered { url, cause }) => {
                    // Refreshing again could present a spent token (which some servers
                    // punish by revoking the grant): get a new pair instead, once.
                    tracing::info!("no answer to the refresh ({cause}): a new grant instead");
                    return match self.grant_new(false, false).await {
                        Err(AuthError::LoginRequired { profile }) => Err(AuthError::RefreshLost {
                            profile,
                            url,
                            cause,
                        }),
                        other => other,
                    };
                }
                Err(e) => return Err(e),
            }
        }
        self.grant_new(false, false).await
    }

    /// A grant from nothing: the password grant (asking for the password on a
    /// terminal when the profile does not give it), client credentials, or a browser
    /// or device login. `interactive_login` is `runner login`, which runs the
    /// interactive grants with or without a terminal; other commands run them only
    /// when stderr is a terminal. `no_browser` is `runner login --no-browser`.
    async fn grant_new(
        &self,
        interactive_login: bool,
        no_browser: bool,
    ) -> Result<CachedTokens, AuthError> {
        let kind = self.settings.grant;
        if kind.is_interactive() && !interactive_login && !std::io::stderr().is_terminal() {
            return Err(AuthError::LoginRequired {
                profile: self.settings.profile.clone(),
            });
        }
        let endpoint = self.endpoint().await?;
        let granted = match kind {
            GrantKind::AuthorizationCode => self.browser_login(endpoint, no_browser).await?,
            GrantKind::DeviceCode => self.device_login(endpoint).await?,
            GrantKind::ClientCredentials => endpoint.client_credentials().await?,
            GrantKind::Password => {
                let password = match &self.settings.password {
                    Some(p) if !p.is_empty() => p.clone(),
                    _ if std::io::stdin().is_terminal() => self.prompt()?,
                    _ => {
                        return Err(AuthError::LoginRequired {
                            profile: self.settings.profile.clone(),
                        });
                    }
                };
                tracing::info!("password grant for profile {}", self.settings.profile);
                endpoint
                    .password(&self.settings.username, &password)
                    .await?
            }
        };
        self.keep(granted, None)
    }

    /// The authorization code grant with PKCE (S256): the authorize URL printed and
    /// opened, the code taken by the loopback listener (or pasted, `no_browser`).
    async fn browser_login(
        &self,
        endpoint: &TokenEndpoint,
        no_browser: bool,
    ) -> Result<Granted, AuthError> {
        use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
        let auth_url = self.required_url(Which::Authorization).await?;
        let login = &self.settings.login;
        let redirect =
            interactive::Redirect::bind(login.redirect_port, &login.redirect_path).await?;
        let redirect_uri = redirect.uri();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let verifier = Secret::new(verifier.secret().clone());
        // 256 random bits: the redirect that carries anything else is refused.
        let state = CsrfToken::new_random_len(32);
        let client = oauth2::basic::BasicClient::new(ClientId::new(
            self.settings.endpoint.client_id.clone(),
        ))
        .set_auth_uri(AuthUrl::from_url(auth_url.clone()))
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.clone())
                .map_err(|e| AuthError::Interactive(format!("invalid redirect URI: {e}")))?,
        );
        let mut request = client
            .authorize_url(|| state.clone())
            .set_pkce_challenge(challenge);
        for s in &self.settings.endpoint.scopes {
            request = request.add_scope(Scope::new(s.clone()));
        }
        for (k, v) in &self.settings.endpoint.params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let (url, _) = request.url();
        eprintln!(
            "To log in with profile `{}`, open this address in a browser:\n  {url}",
            self.settings.profile
        );
        if no_browser {
            eprintln!("Then paste here the address the browser is sent to (or just its code):");
        } else {
            interactive::open_browser(url.as_str());
        }
        let wait = async {
            if no_browser {
                tokio::select! {
                    r = redirect.callback(state.secret()) => r,
                    line = interactive::read_stdin_line() => interactive::read_pasted(&line?, state.secret()),
                }
            } else {
                redirect.callback(state.secret()).await
            }
        };
        let callback = tokio::time::timeout(login.timeout, wait).await.map_err(|_| {
            AuthError::Interactive(format!(
                "no login within {} s (auth.login_timeout); run `runner login -p {}` to try again",
                login.timeout.as_secs(),
                self.settings.profile
            ))
        })??;
        match callback {
            interactive::Callback::Code(code) => {
                let code = Secret::new(code);
                tracing::info!("authorization code received; exchanging it");
                endpoint
                    .authorization_code(&code, &redirect_uri, &verifier)
                    .await
            }
            interactive::Callback::Refused(error, description) => Err(AuthError::Refused {
                url: auth_url.to_string(),
                error,
                description,
            }),
        }
    }

    /// The device authorization grant: the code shown, the verification page opened
    /// when the server gives a complete URL, the token endpoint polled.
    async fn device_login(&self, endpoint: &TokenEndpoint) -> Result<Granted, AuthError> {
        let url = self.required_url(Which::Device).await?;
        let details = endpoint.device_authorization(&url).await?;
        eprintln!(
            "To log in with profile `{}`, visit {} and enter the code {}",
            self.settings.profile,
            details.verification_uri().as_str(),
            details.user_code().secret()
        );
        if let Some(complete) = details.verification_uri_complete() {
            interactive::open_browser(complete.secret());
        }
        let deadline = self.settings.login.timeout.min(details.expires_in());
        tracing::info!(
            "polling {} every {} s for at most {} s",
            self.settings.endpoint.token_url,
            details.interval().as_secs(),
            deadline.as_secs()
        );
        endpoint.device_token(&details, deadline).await
    }

    fn prompt(&self) -> Result<Secret, AuthError> {
        let host = self.settings.endpoint.token_url.host_str().unwrap_or("");
        let text = format!("Password for {} at {host}: ", self.settings.username);
        let p = rpassword::prompt_password(text).map_err(|e| AuthError::Prompt(e.to_string()))?;
        Ok(Secret::new(p))
    }

    /// Turns a grant into cached tokens and saves them before anyone uses them.
    fn keep(
        &self,
        granted: Granted,
        previous: Option<&CachedTokens>,
    ) -> Result<CachedTokens, AuthError> {
        // Refused before it is saved: a cached token would be sent the wrong way.
        if !self.settings.explicit_scheme && !granted.token_type.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::TokenType {
                profile: self.settings.profile.clone(),
                url: self.settings.endpoint.token_url.to_string(),
                token_type: granted.token_type,
            });
        }
        let now = now_unix();
        // A server that does not rotate keeps the old refresh token valid.
        let (refresh_token, refresh_obtained_at) = match granted.refresh_token {
            Some(rt) => (Some(rt), Some(now)),
            None => (
                previous.and_then(|p| p.refresh_token.clone()),
                previous.and_then(|p| p.refresh_obtained_at),
            ),
        };
        let tokens = CachedTokens {
            identity: self.identity.clone(),
            access_token: granted.access_token,
            token_type: granted.token_type,
            obtained_at: now,
            expires_at: granted.expires_in.map(|s| now.saturating_add(s)),
            refresh_token,
            refresh_obtained_at,
            scope: granted.scope,
            // A refresh rarely brings a new id_token: the account stays the one named.
            subject: granted
                .subject
                .or_else(|| previous.and_then(|p| p.subject.clone())),
        };
        if let Some(store) = &self.store {
            store.save(&tokens)?;
        }
        Ok(tokens)
    }

    /// `runner login`: a fresh grant (password, client credentials, browser or
    /// device), cached.
    pub async fn login(&self, no_browser: bool) -> Result<CachedTokens, AuthError> {
        let mut current = self.current.lock().await;
        let _lock = match &self.store {
            Some(s) => Some(s.lock(LOCK_WAIT).await?),
            None => None,
        };
        let fresh = self.grant_new(true, no_browser).await?;
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    /// `runner logout`: revokes the refresh token, then the access token, at the
    /// revocation endpoint when there is one and `revoke` (RFC 7009), then forgets
    /// them, whether or not revocation worked.
    pub async fn logout(&self, revoke: bool) -> Result<Logout, AuthError> {
        let mut current = self.current.lock().await;
        let in_memory = current.take();
        let _lock = match &self.store {
            Some(s) => Some(s.lock(LOCK_WAIT).await?),
            None => None,
        };
        let cached = match &self.store {
            Some(s) => s.load(&self.identity)?,
            None => in_memory,
        };
        let mut report = Logout {
            had: cached.is_some(),
            ..Logout::default()
        };
        if revoke
            && let Some(t) = &cached
            && let Err(e) = self.revoke(t, &mut report).await
        {
            report.failure = Some(e);
        }
        if let Some(s) = &self.store {
            s.remove()?;
        }
        Ok(report)
    }

    async fn revoke(&self, t: &CachedTokens, report: &mut Logout) -> Result<(), AuthError> {
        let Some(url) = self.endpoint_url(Which::Revocation).await? else {
            return Ok(());
        };
        report.revocation_url = Some(url.to_string());
        let endpoint = self.endpoint().await?;
        // The refresh token first: while it lives, new access tokens can be made.
        if let Some(rt) = &t.refresh_token {
            endpoint.revoke(&url, rt, "refresh_token").await?;
            report.revoked.push("refresh_token");
        }
        endpoint
            .revoke(&url, &t.access_token, "access_token")
            .await?;
        report.revoked.push("access_token");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_token_urls_only_on_loopback() {
        let ok = [
            "https://api.ermeo.com/oauth/v2/token",
            "http://127.0.0.1:8080/t",
            "http://localhost/t",
            "http://[::1]:9/t",
        ];
        for u in ok {
            assert!(check_token_url(&url::Url::parse(u).unwrap()).is_ok(), "{u}");
        }
        for u in ["http://api.ermeo.com/t", "http://10.0.0.1/t", "ftp://x/t"] {
            assert!(
                check_token_url(&url::Url::parse(u).unwrap()).is_err(),
                "{u}"
            );
        }
    }

    #[test]
    fn header_value_uses_the_scheme() {
        let h = AuthHeader {
            name: "Authorization".into(),
            scheme: "Bearer".into(),
        };
        assert_eq!(h.value(&Secret::new("tok-123")).expose(), "Bearer tok-123");
        let bare = AuthHeader {
            name: "X-Token".into(),
            scheme: String::new(),
        };
        assert_eq!(bare.value(&Secret::new("tok-123")).expose(), "tok-123");
    }
}
