//! What a profile says of its OAuth2 session, rendered: the grant, the endpoints
//! (given or to discover), interactive login settings, where tokens are kept and the
//! header they travel in. The rule that token URLs are https (or loopback) lives here.

use std::path::PathBuf;
use std::time::Duration;

use super::AuthError;
use super::grant::EndpointConfig;
use super::store::Identity;
use crate::secret::Secret;

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
