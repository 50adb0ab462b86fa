//! What a profile says of its OAuth2 session, rendered: the grant, the endpoints
//! (given or to discover), interactive login settings, where tokens are kept and the
//! header they travel in. The rule for every URL that receives credentials (https, or loopback http; a
//! discovered one on the issuer's origin or one of `auth.origins`) lives here.

use std::path::PathBuf;
use std::time::Duration;

use super::grant::EndpointConfig;
use super::store::Identity;
use super::{AuthError, Deferred};
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
    /// RFC 7523 §2.1: a signed assertion is the grant; no refresh token, a new
    /// assertion when the token expires.
    JwtBearer,
    /// RFC 8693: a subject token exchanged for a token for this API.
    TokenExchange,
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
    /// `auth.origins`: besides the issuer's, the origins a discovered endpoint may be on.
    pub origins: Vec<url::Origin>,
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
    /// `auth.client_secret`, rendered when a token request first needs it; it then
    /// fills `endpoint.client_secret` (a public client when there is none).
    pub client_secret: Deferred,
    /// `auth.password`, rendered when a password grant needs it; `None` when it
    /// must be asked for.
    pub password: Deferred,
    /// The profile sets `auth.scheme`, which then wins over the server's `token_type`;
    /// with the default (Bearer), a token of another type is refused.
    pub explicit_scheme: bool,
    /// `auth.dpop`: token requests prove a key of the session (RFC 9449).
    pub dpop: bool,
    /// The endpoints besides the token URL, and the issuer that names those missing.
    /// With an issuer and no `token_url`, `endpoint.token_url` is the issuer (which
    /// also keys the cache) until discovery names the token endpoint.
    pub endpoints: Endpoints,
    pub login: LoginSettings,
    /// Where discovery documents are cached (`None`: not cached).
    pub discovery_cache: Option<PathBuf>,
    /// `oauth2_jwt_bearer`: the grant's assertion.
    pub bearer: Option<super::assertion::BearerAssertion>,
    /// `oauth2_token_exchange`: what is exchanged.
    pub exchange: Option<Exchange>,
    /// `auth.par`: push the authorization request (also when the metadata requires it).
    pub par: bool,
}

/// Where a token exchange's subject token comes from.
#[derive(Clone)]
pub enum SubjectToken {
    /// `auth.subject_token`.
    Given(Secret),
    /// `auth.subject_profile`: that profile's session, refreshed as usual.
    Profile(String, std::sync::Arc<super::Session>),
}

impl std::fmt::Debug for SubjectToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectToken::Given(_) => f.write_str("SubjectToken::Given"),
            SubjectToken::Profile(name, _) => write!(f, "SubjectToken::Profile({name})"),
        }
    }
}

/// A token exchange's settings (RFC 8693 §2.1), besides the client's.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub subject: SubjectToken,
    pub subject_token_type: String,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub requested_token_type: Option<String>,
    pub actor: Option<(Secret, String)>,
}

impl OAuthSettings {
    pub fn identity(&self) -> Identity {
        Identity {
            token_url: self.endpoint.token_url.to_string(),
            // A JWT bearer session without a client id is keyed by its issuer.
            client_id: match &self.bearer {
                Some(b) if self.endpoint.client_id.is_empty() => b.issuer.clone(),
                _ => self.endpoint.client_id.clone(),
            },
            username: self.username.clone(),
        }
    }

    /// Every URL the profile gives that would receive credentials passes
    /// [`check_credential_url`] (the env checked them already, with their places;
    /// this keeps a session from being built around one that does not).
    pub fn check_written(&self) -> Result<(), AuthError> {
        let e = &self.endpoints;
        let token = (
            CredentialUrl::Token,
            e.token_given.then_some(&self.endpoint.token_url),
        );
        for (kind, url) in [
            token,
            (CredentialUrl::Issuer, e.issuer.as_ref()),
            (CredentialUrl::Authorization, e.authorization.as_ref()),
            (CredentialUrl::Device, e.device.as_ref()),
            (CredentialUrl::Revocation, e.revocation.as_ref()),
        ] {
            if let Some(url) = url {
                check_credential_url(kind, url)?;
            }
        }
        Ok(())
    }
}

/// A URL that receives credentials: the token endpoint gets the client's secret and
/// the user's password or refresh token, the others a client id, a code or a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialUrl {
    Token,
    Issuer,
    Authorization,
    Device,
    Revocation,
    PushedAuthorization,
}

impl CredentialUrl {
    /// The profile key that names it.
    pub fn key(self) -> &'static str {
        match self {
            CredentialUrl::Token => "token_url",
            CredentialUrl::Issuer => "issuer",
            CredentialUrl::Authorization => "authorization_url",
            CredentialUrl::Device => "device_authorization_url",
            CredentialUrl::Revocation => "revocation_url",
            CredentialUrl::PushedAuthorization => "par",
        }
    }

    /// What it is, in a sentence.
    pub fn what(self) -> &'static str {
        match self {
            CredentialUrl::Token => "token endpoint",
            CredentialUrl::Issuer => "issuer",
            CredentialUrl::Authorization => "authorization endpoint",
            CredentialUrl::Device => "device authorization endpoint",
            CredentialUrl::Revocation => "revocation endpoint",
            CredentialUrl::PushedAuthorization => "pushed authorization request endpoint",
        }
    }
}

/// The one rule for every URL that receives a credential, written in a profile or
/// discovered: `https`, or plain `http` to a loopback host. Nothing else.
pub fn check_credential_url(kind: CredentialUrl, url: &url::Url) -> Result<(), AuthError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::http::is_loopback(url) => Ok(()),
        scheme => Err(AuthError::InsecureUrl {
            what: kind.what(),
            url: url.to_string(),
            plain_http: scheme == "http",
        }),
    }
}

/// The second rule for a discovered endpoint: it is on the issuer's origin, or on one
/// the profile lists in `auth.origins`.
pub fn check_discovered_origin(
    kind: CredentialUrl,
    url: &url::Url,
    issuer: &url::Url,
    origins: &[url::Origin],
) -> Result<(), AuthError> {
    let origin = url.origin();
    if origin == issuer.origin() || origins.contains(&origin) {
        return Ok(());
    }
    Err(AuthError::ForeignEndpoint {
        what: kind.what(),
        url: url.to_string(),
        issuer: issuer.to_string(),
        origin: origin.ascii_serialization(),
    })
}

/// Where tokens are kept between runs.
#[derive(Debug, Clone)]
pub enum Persistence {
    /// A token folder (SPEC §4).
    Dir(PathBuf),
    /// The OS keyring (`token_store: keyring`); the folder keeps the lock files.
    Keyring(PathBuf),
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
    fn every_credential_url_is_https_or_loopback_http() {
        let kinds = [
            CredentialUrl::Token,
            CredentialUrl::Issuer,
            CredentialUrl::Authorization,
            CredentialUrl::Device,
            CredentialUrl::Revocation,
        ];
        let ok = [
            "https://api.ermeo.com/oauth/v2/token",
            "http://127.0.0.1:8080/t",
            "http://localhost/t",
            "http://[::1]:9/t",
        ];
        for kind in kinds {
            for u in ok {
                assert!(
                    check_credential_url(kind, &url::Url::parse(u).unwrap()).is_ok(),
                    "{u}"
                );
            }
            for u in [
                "http://api.ermeo.com/t",
                "http://10.0.0.1/t",
                "http://127.0.0.1.example/t",
                "ftp://x/t",
                "file:///etc/passwd",
            ] {
                assert!(
                    check_credential_url(kind, &url::Url::parse(u).unwrap()).is_err(),
                    "{u}"
                );
            }
        }
        let e = check_credential_url(
            CredentialUrl::Revocation,
            &url::Url::parse("http://idp.example/revoke").unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to send credentials over plain http to the revocation endpoint http://idp.example/revoke: use https (plain http is allowed only for loopback hosts)"
        );
        let e = check_credential_url(
            CredentialUrl::Token,
            &url::Url::parse("ftp://idp.example/t").unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to send credentials to the token endpoint ftp://idp.example/t: use https (plain http is allowed only for loopback hosts)"
        );
    }

    #[test]
    fn a_discovered_endpoint_stays_on_the_issuers_origin_or_a_listed_one() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let issuer = u("https://idp.example/realms/a");
        let kind = CredentialUrl::Revocation;
        assert!(check_discovered_origin(kind, &u("https://idp.example/r"), &issuer, &[]).is_ok());
        for other in [
            "https://evil.example/r",
            "http://idp.example/r",
            "https://idp.example:8443/r",
        ] {
            assert!(
                check_discovered_origin(kind, &u(other), &issuer, &[]).is_err(),
                "{other}"
            );
        }
        let listed = [u("https://evil.example").origin()];
        assert!(
            check_discovered_origin(kind, &u("https://evil.example/r"), &issuer, &listed).is_ok()
        );
        let e =
            check_discovered_origin(kind, &u("https://evil.example/r"), &issuer, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the issuer https://idp.example/realms/a names the revocation endpoint https://evil.example/r, on another origin: refused (list https://evil.example in auth.origins to allow it)"
        );
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
