//! A session from nothing: the password grant (asking for the password on a
//! terminal), client credentials, or an interactive login in a browser or on another
//! device; and `runner login`, which runs one on demand.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::endpoints::Which;
use super::grant::{ExchangeRequest, Granted, TokenEndpoint, server_text};
use super::settings::{GrantKind, SubjectToken};
use super::store::CachedTokens;
use super::{AuthError, LOCK_WAIT, Session, interactive};
use crate::secret::Secret;

/// Set by [`forbid_prompts`]: no interactive login, no password prompt.
static NO_PROMPTS: AtomicBool = AtomicBool::new(false);

/// From now on this process never logs in interactively nor asks for a password:
/// a session that needs either fails with [`AuthError::LoginRequired`]. For
/// `runner mcp`, whose stdin and stdout belong to the MCP client.
pub fn forbid_prompts() {
    NO_PROMPTS.store(true, Ordering::Relaxed);
}

fn prompts_allowed() -> bool {
    !NO_PROMPTS.load(Ordering::Relaxed)
}

impl Session {
    /// A grant from nothing: the password grant (asking for the password on a
    /// terminal when the profile does not give it), client credentials, or a browser
    /// or device login. `interactive_login` is `runner login`, which runs the
    /// interactive grants with or without a terminal; other commands run them only
    /// when stderr is a terminal. `no_browser` is `runner login --no-browser`.
    pub(super) async fn grant_new(
        &self,
        interactive_login: bool,
        no_browser: bool,
    ) -> Result<CachedTokens, AuthError> {
        let kind = self.settings.grant;
        let may_prompt = prompts_allowed() && std::io::stderr().is_terminal();
        if kind.is_interactive() && !interactive_login && !may_prompt {
            return Err(AuthError::LoginRequired {
                profile: self.settings.profile.clone(),
            });
        }
        let endpoint = self.endpoint().await?;
        let granted = match kind {
            GrantKind::AuthorizationCode => self.browser_login(endpoint, no_browser).await?,
            GrantKind::DeviceCode => self.device_login(endpoint).await?,
            GrantKind::ClientCredentials => endpoint.client_credentials().await?,
            GrantKind::JwtBearer | GrantKind::TokenExchange => self.signed_grant(endpoint).await?,
            GrantKind::Password => {
                let password = match self.settings.password.get()? {
                    Some(p) if !p.is_empty() => p,
                    _ if prompts_allowed() && std::io::stdin().is_terminal() => self.prompt()?,
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

    /// The JWT bearer grant (a new assertion) or a token exchange (the subject
    /// profile's token, refreshed as that profile's session does).
    async fn signed_grant(&self, endpoint: &TokenEndpoint) -> Result<Granted, AuthError> {
        let s = &self.settings;
        if let Some(b) = &s.bearer {
            let jwt = b
                .sign(endpoint.token_url(), &s.endpoint.scopes)
                .map_err(|e| AuthError::Transport(format!("cannot sign the assertion: {e}")))?;
            tracing::info!("JWT bearer grant for profile {}", s.profile);
            return endpoint.jwt_bearer(&jwt, !b.scope_claim).await;
        }
        let Some(e) = &s.exchange else {
            return Err(AuthError::LoginRequired {
                profile: s.profile.clone(),
            });
        };
        let subject_token = match &e.subject {
            SubjectToken::Given(t) => t.clone(),
            SubjectToken::Profile(name, session) => {
                tracing::info!("token exchange: the subject token of profile {name}");
                Box::pin(session.access_token(None)).await?
            }
        };
        endpoint
            .token_exchange(&ExchangeRequest {
                subject_token,
                subject_token_type: e.subject_token_type.clone(),
                audience: e.audience.clone(),
                resource: e.resource.clone(),
                requested_token_type: e.requested_token_type.clone(),
                actor: e.actor.clone(),
            })
            .await
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
        let url = if let Some(why) = self.wants_par().await? {
            self.pushed(endpoint, &auth_url, &url, why).await?
        } else {
            url
        };
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
        let callback = tokio::time::timeout(login.timeout, wait)
            .await
            .map_err(|_| self.login_timed_out())??;
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

    /// RFC 9126: the authorization request's parameters (those of `full`) pushed with
    /// the client's authentication; the address to open carries only the client id
    /// and the `request_uri` the server gave.
    async fn pushed(
        &self,
        endpoint: &TokenEndpoint,
        auth_url: &url::Url,
        full: &url::Url,
        why: &str,
    ) -> Result<url::Url, AuthError> {
        let par = self.required_url(Which::PushedAuthorization).await?;
        let params: Vec<(String, String)> = full
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        tracing::info!("pushing the authorization request to {par} ({why})");
        let request_uri = endpoint.push_authorization(&par, params).await?;
        let mut url = auth_url.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.settings.endpoint.client_id)
            .append_pair("request_uri", &request_uri);
        Ok(url)
    }

    /// The device authorization grant: the code shown (escaped: it is the server's
    /// text), the verification page opened when the server gives a complete https
    /// URL, the token endpoint polled until `auth.login_timeout` (or the code's
    /// expiry), by the monotonic clock, whatever interval the server asks for.
    async fn device_login(&self, endpoint: &TokenEndpoint) -> Result<Granted, AuthError> {
        let url = self.required_url(Which::Device).await?;
        let details = endpoint.device_authorization(&url).await?;
        eprintln!(
            "To log in with profile `{}`, visit {} and enter the code {}",
            self.settings.profile,
            server_text(details.verification_uri().as_str(), 300),
            server_text(details.user_code().secret(), 100)
        );
        if let Some(complete) = details.verification_uri_complete() {
            interactive::open_browser(complete.secret());
        }
        let timeout = self.settings.login.timeout;
        let deadline = timeout.min(details.expires_in());
        tracing::info!(
            "polling {} every {} s for at most {} s",
            self.settings.endpoint.token_url,
            details.interval().as_secs(),
            deadline.as_secs()
        );
        // The crate's own deadline (wall clock) comes a little later than ours.
        let backstop = deadline.saturating_add(Duration::from_secs(1));
        match tokio::time::timeout(deadline, endpoint.device_token(&details, backstop)).await {
            Ok(result) => result,
            Err(_) if deadline < timeout => Err(AuthError::Interactive(format!(
                "the device code expired after {} s before the login was approved; run `runner login -p {}` to try again",
                deadline.as_secs(),
                self.settings.profile
            ))),
            Err(_) => Err(self.login_timed_out()),
        }
    }

    /// The error of an interactive login nobody completed in `auth.login_timeout`.
    fn login_timed_out(&self) -> AuthError {
        AuthError::Interactive(format!(
            "no login within {} s (auth.login_timeout); run `runner login -p {}` to try again",
            self.settings.login.timeout.as_secs(),
            self.settings.profile
        ))
    }

    fn prompt(&self) -> Result<Secret, AuthError> {
        let host = self.settings.endpoint.token_url.host_str().unwrap_or("");
        let text = format!("Password for {} at {host}: ", self.settings.username);
        let p = rpassword::prompt_password(text).map_err(|e| AuthError::Prompt(e.to_string()))?;
        Ok(Secret::new(p))
    }

    /// `runner login`: a fresh grant (password, client credentials, browser or
    /// device), cached.
    pub async fn login(&self, no_browser: bool) -> Result<CachedTokens, AuthError> {
        let mut current = self.current.lock().await;
        let _lock = match &self.store {
            Some(s) => Some(s.lock(LOCK_WAIT).await?),
            None => None,
        };
        // A new login gets a new DPoP key.
        self.prepare_dpop(None)?;
        let fresh = self.grant_new(true, no_browser).await?;
        self.adopt(&fresh);
        *current = Some(fresh.clone());
        Ok(fresh)
    }
}
