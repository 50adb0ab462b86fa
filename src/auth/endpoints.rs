//! Where a session's endpoints are: configured in the profile, else named by the
//! issuer's metadata (fetched once, when first needed). A discovered endpoint passes
//! the rule of every credential URL and stays on the issuer's origin (or one of
//! `auth.origins`).

use super::grant::{self, TokenEndpoint};
use super::settings::{CredentialUrl, check_credential_url, check_discovered_origin};
use super::{AuthError, Session, discovery};
use crate::project::model::profile::ClientAuth;

/// The endpoints [`Session::endpoint_url`] can look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Authorization,
    Device,
    Revocation,
    /// RFC 9126, discovered only.
    PushedAuthorization,
}

impl Session {
    /// The token endpoint: the configured one, or the one the issuer's metadata names.
    pub(super) async fn endpoint(&self) -> Result<&TokenEndpoint, AuthError> {
        self.endpoint
            .get_or_try_init(|| async {
                let mut config = self.settings.endpoint.clone();
                self.client_secret_into(&mut config)?;
                if !self.settings.endpoints.token_given {
                    let m = self.metadata("token endpoint", "token_url").await?;
                    config.token_url =
                        self.discovered(m.token_endpoint.as_deref(), CredentialUrl::Token)?;
                }
                // Whether an ambiguous refusal may mean "send a DPoP proof" (dpop.rs):
                // only an issuer that says it supports DPoP, when one is named.
                if self.settings.endpoints.issuer.is_some()
                    && let Ok(m) = self.metadata("token endpoint", "token_url").await
                {
                    config
                        .dpop
                        .advertise(m.dpop_signing_alg_values_supported.is_some());
                }
                TokenEndpoint::new(config)
            })
            .await
    }

    /// `auth.client_secret`, rendered now that a request to the token endpoint needs
    /// it. Without one the client is public and sends only its id.
    fn client_secret_into(&self, config: &mut grant::EndpointConfig) -> Result<(), AuthError> {
        if config.client_secret.is_none() {
            config.client_secret = self.settings.client_secret.get()?;
        }
        match &config.client_secret {
            // A client that signs (or shows a certificate) needs no secret.
            None if matches!(config.client_auth, ClientAuth::Body | ClientAuth::Basic) => {
                config.client_auth = ClientAuth::None
            }
            None => {}
            Some(s) if config.client_auth == ClientAuth::Basic => {
                // RFC 6749 §2.3.1: the pair a token request sends, each part form-encoded.
                let enc = |s: &str| -> String {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
                };
                crate::secret::register_basic(&enc(&config.client_id), &enc(s.expose()));
            }
            Some(_) => {}
        }
        Ok(())
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
                crate::http::note_proxy(&self.settings.endpoint.tls, issuer);
                discovery::metadata(&http, issuer, self.settings.discovery_cache.as_deref()).await
            })
            .await
    }

    /// A URL the issuer's metadata gave (`None`: it gave none), once it passes the
    /// credential-URL rule and the origin rule.
    fn discovered(&self, value: Option<&str>, kind: CredentialUrl) -> Result<url::Url, AuthError> {
        let (what, key) = (kind.what(), kind.key());
        let e = &self.settings.endpoints;
        let issuer_url = e.issuer.as_ref();
        let issuer = issuer_url.map(|u| u.to_string()).unwrap_or_default();
        let Some(text) = value else {
            return Err(AuthError::NoEndpoint {
                profile: self.settings.profile.clone(),
                what,
                key,
                why: format!("the metadata of the issuer {issuer} names none"),
            });
        };
        let url = url::Url::parse(text).map_err(|e| {
            AuthError::BadResponse(format!(
                "the issuer {issuer} names the {what} `{}`, which is not a URL: {e}",
                grant::server_text(text, 300)
            ))
        })?;
        check_credential_url(kind, &url)?;
        if let Some(i) = issuer_url {
            check_discovered_origin(kind, &url, i, &e.origins)?;
        }
        Ok(url)
    }

    /// Why the authorization request is pushed first (RFC 9126), if it is: `auth.par`,
    /// or the issuer's metadata requires it (`require_pushed_authorization_requests`).
    pub(super) async fn wants_par(&self) -> Result<Option<&'static str>, AuthError> {
        if self.settings.par {
            return Ok(Some("auth.par"));
        }
        if self.settings.endpoints.issuer.is_none() {
            return Ok(None);
        }
        let m = self
            .metadata("authorization endpoint", "authorization_url")
            .await?;
        Ok(m.require_pushed_authorization_requests
            .then_some("the issuer's metadata requires it"))
    }

    /// An endpoint a grant cannot do without.
    pub(super) async fn required_url(&self, which: Which) -> Result<url::Url, AuthError> {
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
        let (given, kind) = match which {
            Which::Authorization => (&e.authorization, CredentialUrl::Authorization),
            Which::Device => (&e.device, CredentialUrl::Device),
            Which::Revocation => (&e.revocation, CredentialUrl::Revocation),
            Which::PushedAuthorization => (&None, CredentialUrl::PushedAuthorization),
        };
        if let Some(u) = given {
            check_credential_url(kind, u)?;
            return Ok(Some(u.clone()));
        }
        if which == Which::Revocation && e.issuer.is_none() {
            return Ok(None);
        }
        let m = self.metadata(kind.what(), kind.key()).await?;
        let value = match which {
            Which::Authorization => m.authorization_endpoint.as_deref(),
            Which::Device => m.device_authorization_endpoint.as_deref(),
            Which::Revocation => m.revocation_endpoint.as_deref(),
            Which::PushedAuthorization => m.pushed_authorization_request_endpoint.as_deref(),
        };
        if which == Which::Revocation && value.is_none() {
            return Ok(None);
        }
        self.discovered(value, kind).map(Some)
    }
}
