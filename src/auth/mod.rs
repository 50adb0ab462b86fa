//! Sessions: where an access token comes from (SPEC §4). Cache → refresh → password
//! grant (or client credentials), under a cross-process lock, with the new pair saved
//! before it is used; and the one 401 → refresh → retry mechanism every sender uses.
//! Never sees request files: the caller renders the profile.

pub mod assertion;
pub mod aws;
mod deferred;
pub mod discovery;
pub mod dpop;
mod endpoints;
pub mod grant;
pub mod interactive;
pub mod jws;
mod keyring;
mod login;
mod logout;
mod settings;
pub mod store;
mod unauthorized;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use crate::clock::now_unix;
use crate::secret::Secret;
pub use deferred::Deferred;
pub use endpoints::Which;
use grant::{Granted, TokenEndpoint};
pub use login::forbid_prompts;
pub use logout::Logout;
pub use settings::{
    AuthHeader, CredentialUrl, Endpoints, Exchange, GrantKind, LoginSettings, OAuthSettings,
    Persistence, SubjectToken, check_credential_url,
};
use store::{CachedTokens, Identity, TokenStore};
pub use unauthorized::{Answer, MAX_UNAUTHORIZED_RETRIES};

/// How long a process waits for another one's refresh before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not logged in for profile `{profile}`: run `runner login -p {profile}`")]
    LoginRequired { profile: String },
    #[error("{}: {error}{}{hint}",
        refuser(grant, url),
        description.as_ref().map(|d| format!(": {d}")).unwrap_or_default(),
        hint = server_hint(error, *client_auth))]
    Server {
        grant: String,
        url: String,
        error: String,
        description: Option<String>,
        /// How the client authenticated (named in the hint of `invalid_client`).
        client_auth: crate::project::model::profile::ClientAuth,
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
        "the token endpoint {url} issued a `{token_type}` token, which profile `{profile}` would send as Bearer: {}",
        if token_type.eq_ignore_ascii_case("dpop") {
            "a DPoP token answers a request that carried a DPoP proof, and this one carried none (set `auth.dpop: true`)"
        } else {
            "set `auth.scheme` to the scheme the API expects"
        }
    )]
    TokenType {
        profile: String,
        url: String,
        token_type: String,
    },
    #[error("token cache: {0}")]
    Store(String),
    /// `token_store: keyring` and the keyring is locked, absent or refuses.
    #[error("{0}")]
    Keyring(String),
    #[error("waited {secs} s for the token-cache lock {} (another runner is refreshing?); giving up", path.display())]
    LockTimeout { path: PathBuf, secs: u64 },
    /// A URL that would receive credentials is neither https nor loopback http.
    #[error(
        "refusing to send credentials {}to the {what} {url}: use https (plain http is allowed only for loopback hosts)",
        if *plain_http { "over plain http " } else { "" }
    )]
    InsecureUrl {
        what: &'static str,
        url: String,
        plain_http: bool,
    },
    /// A discovered endpoint on an origin that is neither the issuer's nor listed.
    #[error(
        "the issuer {issuer} names the {what} {url}, on another origin: refused (list {origin} in auth.origins to allow it)"
    )]
    ForeignEndpoint {
        what: &'static str,
        url: String,
        issuer: String,
        origin: String,
    },
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
    /// A profile value that a token request needs (`auth.client_secret`,
    /// `auth.password`) cannot be rendered: an unset `env()`, a failed `secret()`
    /// command. Found only when a login or a refresh needs the value.
    #[error("{message}")]
    Unrendered {
        place: crate::error::Place,
        message: String,
        /// A `secret()` command failed (exit 3), rather than bad input (exit 2).
        secret_command: bool,
    },
}

fn server_hint(error: &str, client_auth: crate::project::model::profile::ClientAuth) -> String {
    use crate::project::model::profile::ClientAuth;
    match error {
        "invalid_client" => {
            let check = match client_auth {
                ClientAuth::Body | ClientAuth::Basic | ClientAuth::ClientSecretJwt => {
                    "client_id and client_secret"
                }
                ClientAuth::None => "client_id (a public client sends no secret)",
                ClientAuth::PrivateKeyJwt => {
                    "client_id, private_key and key_id against the keys the server registered"
                }
                ClientAuth::TlsClientAuth => {
                    "client_id and the client certificate (its authority and subject, as the server registered them)"
                }
                ClientAuth::SelfSignedTlsClientAuth => {
                    "client_id and the client certificate (the one in the client's registered JWKS)"
                }
            };
            let others: Vec<&str> = ClientAuth::ALL
                .iter()
                .filter(|m| **m != client_auth)
                .map(|m| m.name())
                .collect();
            format!(
                " (the client authenticated with client_auth: {}: check {check}, or whether the server wants another client_auth: {})",
                client_auth.name(),
                others.join(", ")
            )
        }
        "invalid_grant" => " (wrong username or password, or an expired refresh token)".to_string(),
        "unsupported_grant_type" => {
            " (the server does not allow this grant for the client)".to_string()
        }
        _ => String::new(),
    }
}

/// Who refused what: the token endpoint a grant, or another endpoint its request.
fn refuser(grant: &str, url: &str) -> String {
    match grant {
        "pushed authorization" | "revocation" | "device authorization" => {
            format!("the {grant} endpoint {url} refused the request")
        }
        _ => format!("the token endpoint {url} refused the {grant} grant"),
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
    /// The session's DPoP key (RFC 9449), shared with its token endpoint.
    dpop: std::sync::Arc<dpop::Dpop>,
    /// Whether the tokens in use are DPoP-bound (`token_type: DPoP`).
    dpop_bound: std::sync::atomic::AtomicBool,
    /// The last auth header value made, with the token, binding and scheme it was
    /// made for: a bulk run sends thousands of requests with one token.
    last_header: std::sync::Mutex<Option<(Secret, bool, String, Secret)>>,
}

impl Session {
    pub fn new(settings: OAuthSettings, persistence: Persistence) -> Result<Session, AuthError> {
        settings.check_written()?;
        let identity = settings.identity();
        let dpop = settings.endpoint.dpop.clone();
        let store = match persistence {
            Persistence::Dir(dir) => Some(TokenStore::open(&dir, &identity)?),
            Persistence::Keyring(dir) => Some(TokenStore::open(&dir, &identity)?.in_keyring()),
            Persistence::Memory => None,
        };
        Ok(Session {
            settings,
            identity,
            store,
            endpoint: OnceCell::new(),
            metadata: OnceCell::new(),
            current: Mutex::new(None),
            dpop,
            dpop_bound: std::sync::atomic::AtomicBool::new(false),
            last_header: std::sync::Mutex::new(None),
        })
    }

    /// The DPoP key when the tokens in use are bound to it: API requests then carry a
    /// proof and the `DPoP` scheme.
    pub fn dpop_bound(&self) -> Option<&dpop::Dpop> {
        self.dpop_bound
            .load(std::sync::atomic::Ordering::Relaxed)
            .then_some(&*self.dpop)
    }

    /// The auth header's value for `token`: `DPoP <token>` for a DPoP-bound token.
    pub fn header_value(&self, header: &AuthHeader, token: &Secret) -> Secret {
        let bound = self.dpop_bound().is_some();
        let mut last = self.last_header.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, b, scheme, value)) = last.as_ref()
            && t == token
            && *b == bound
            && *scheme == header.scheme
        {
            return value.clone();
        }
        let value = if bound {
            Secret::new(format!("DPoP {}", token.expose()))
        } else {
            header.value(token)
        };
        *last = Some((token.clone(), bound, header.scheme.clone(), value.clone()));
        value
    }

    /// What proves possession of `token`'s key on each request, when it is bound.
    pub fn proofs<'a>(&'a self, token: &'a Secret) -> Option<dpop::Binding<'a>> {
        self.dpop_bound().map(|dpop| dpop::Binding { dpop, token })
    }

    /// Takes on `t`'s DPoP key (and binding) when it has one.
    pub(super) fn adopt(&self, t: &CachedTokens) {
        let bound = t.token_type.eq_ignore_ascii_case("dpop");
        if let Some(key) = &t.dpop_key
            && !self.dpop.active()
        {
            let _ = self.dpop.install(Some(key));
        }
        self.dpop_bound.store(
            bound && self.dpop.active(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Where the tokens are kept between runs (`None`: memory only).
    pub fn location(&self) -> Option<String> {
        self.store.as_ref().map(TokenStore::location)
    }

    /// The cached tokens, without touching the network.
    pub fn cached(&self) -> Result<Option<CachedTokens>, AuthError> {
        match &self.store {
            Some(s) => s.load(&self.identity),
            None => Ok(None),
        }
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
            self.adopt(t);
            return Ok((t.access_token.clone(), false));
        }
        let Some(store) = &self.store else {
            // Memory only: nothing to share with other processes.
            let previous = current.take();
            // Boxed: a rare path, whose future would otherwise make every request's larger.
            let fresh = Box::pin(self.renew(previous.as_ref())).await?;
            self.adopt(&fresh);
            let token = fresh.access_token.clone();
            *current = Some(fresh);
            return Ok((token, true));
        };
        if let Some(t) = store.load(&self.identity)?
            && usable(&t)
        {
            self.adopt(&t);
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
            self.adopt(t);
            let token = t.access_token.clone();
            *current = on_disk;
            return Ok((token, false));
        }
        let fresh = Box::pin(self.renew(on_disk.as_ref())).await?;
        self.adopt(&fresh);
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok((token, true))
    }

    /// New tokens from `previous`'s refresh token, else from nothing. Saved (when
    /// there is a store) before they are returned. The caller holds the lock.
    async fn renew(&self, previous: Option<&CachedTokens>) -> Result<CachedTokens, AuthError> {
        self.prepare_dpop(previous)?;
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

    /// With `auth.dpop` (or a key cached with `previous`), the key the next token
    /// requests prove: the cached one, so that every process presents the same key
    /// and a bound refresh token stays usable, else a new one.
    pub(super) fn prepare_dpop(&self, previous: Option<&CachedTokens>) -> Result<(), AuthError> {
        let stored = previous.and_then(|p| p.dpop_key.as_ref());
        if self.settings.dpop || stored.is_some() {
            self.dpop
                .install(stored)
                .map_err(|e| AuthError::Transport(format!("cannot make a DPoP key: {e}")))?;
        }
        Ok(())
    }

    /// Turns a grant into cached tokens and saves them before anyone uses them.
    fn keep(
        &self,
        granted: Granted,
        previous: Option<&CachedTokens>,
    ) -> Result<CachedTokens, AuthError> {
        // Refused before it is saved: a cached token would be sent the wrong way.
        let dpop = granted.token_type.eq_ignore_ascii_case("dpop") && self.dpop.active();
        if !self.settings.explicit_scheme
            && !dpop
            && !granted.token_type.eq_ignore_ascii_case("bearer")
        {
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
            dpop_key: self.dpop.stored(),
        };
        if let Some(store) = &self.store {
            store.save(&tokens)?;
        }
        Ok(tokens)
    }
}
