//! The signing and exchange parts of a profile's `auth:` block rendered: the client
//! assertion of `private_key_jwt` / `client_secret_jwt`, the JWT bearer grant's
//! assertion (from the block or a Google service-account key file), and what a token
//! exchange trades. Keys are secrets from the moment they are read; a key that does
//! not parse is an input problem at the place of `private_key` (or `key_file`).

use std::sync::Arc;

use super::AuthRender;
use crate::auth::assertion::{
    ACCESS_TOKEN_TYPE, BearerAssertion, ClientAssertion, ServiceAccountKey, Signer,
};
use crate::auth::jws::{Alg, SigningKey};
use crate::auth::{Exchange, SubjectToken};
use crate::error::{Error, InputError, Place};
use crate::project::model::Spanned;
use crate::project::model::profile::{AuthType, ClientAuth};
use crate::secret::Secret;

/// Google's token endpoint, for a key file that names none.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// Registers a PEM key with the masking point: whole, and each line of its body.
pub(crate) fn register_pem(pem: &str) {
    crate::secret::register(pem);
    crate::secret::register(pem.trim());
    for line in pem.lines().map(str::trim) {
        if line.len() >= 16 && !line.starts_with("-----") {
            crate::secret::register(line);
        }
    }
}

impl AuthRender<'_> {
    /// The place of `v`, else of the block.
    fn place_of<T>(&self, v: &Option<Spanned<T>>) -> Place {
        let src = &self.profile.source;
        v.as_ref()
            .map_or_else(|| src.place(self.auth), |s| src.place(s))
    }

    /// `auth.signing_alg`, as the signer knows it.
    fn alg(&self) -> Option<Alg> {
        let a = self.auth.value.signing_alg.as_ref()?;
        Alg::parse(a.value.name()).ok()
    }

    /// `auth.private_key` rendered, registered and parsed, with `auth.key_id`.
    fn private_key_signer(&self) -> Result<Signer, Error> {
        let a = &self.auth.value;
        let pem = self.text(&a.private_key)?.unwrap_or_default();
        register_pem(&pem);
        let key = SigningKey::from_pem(&pem, self.alg()).map_err(|e| {
            InputError::at(
                self.place_of(&a.private_key),
                format!("auth.private_key: {e}"),
            )
        })?;
        Ok(Signer {
            key: Arc::new(key),
            key_id: self.text(&a.key_id)?.filter(|k| !k.is_empty()),
        })
    }

    /// How the client signs its assertions (`None`: it does not).
    pub(super) fn client_assertion(
        &self,
        client_id: &str,
        client_secret: Option<&Secret>,
    ) -> Result<Option<ClientAssertion>, Error> {
        let a = &self.auth.value;
        let signer = match a.client_auth {
            ClientAuth::PrivateKeyJwt => self.private_key_signer()?,
            ClientAuth::ClientSecretJwt => {
                let Some(secret) = client_secret else {
                    return Err(InputError::at(
                        self.place_of(&a.client_secret),
                        "`client_auth: client_secret_jwt` needs a non-empty `client_secret`",
                    )
                    .into());
                };
                Signer {
                    key: Arc::new(SigningKey::hmac(secret.expose().as_bytes())),
                    key_id: self.text(&a.key_id)?.filter(|k| !k.is_empty()),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(ClientAssertion {
            signer,
            client_id: client_id.to_string(),
            audience: self.text(&a.assertion_audience)?.filter(|s| !s.is_empty()),
        }))
    }

    /// `oauth2_jwt_bearer`: the assertion, and the token URL a key file names.
    pub(super) fn bearer(&self) -> Result<Option<(BearerAssertion, Option<String>)>, Error> {
        let a = &self.auth.value;
        if a.kind != AuthType::Oauth2JwtBearer {
            return Ok(None);
        }
        let subject = self.text(&a.subject)?.filter(|s| !s.is_empty());
        let audience = self.text(&a.audience)?.filter(|s| !s.is_empty());
        if a.key_file.is_none() {
            let assertion = BearerAssertion {
                signer: self.private_key_signer()?,
                issuer: self.text(&a.issuer)?.unwrap_or_default(),
                subject,
                audience,
                scope_claim: false,
            };
            return Ok(Some((assertion, None)));
        }
        let key = self.key_file()?;
        let place = self.place_of(&a.key_file);
        let signing = SigningKey::from_pem(&key.private_key, self.alg())
            .map_err(|e| InputError::at(place, format!("auth.key_file: private_key: {e}")))?;
        let key_id = match self.text(&a.key_id)? {
            Some(k) if !k.is_empty() => Some(k),
            _ => key.private_key_id.clone(),
        };
        let issuer = match self.text(&a.issuer)? {
            Some(i) if !i.is_empty() => i,
            _ => key.client_email.clone(),
        };
        let assertion = BearerAssertion {
            signer: Signer {
                key: Arc::new(signing),
                key_id,
            },
            issuer,
            subject,
            audience,
            scope_claim: true,
        };
        let token_uri = key.token_uri.or_else(|| Some(GOOGLE_TOKEN_URI.to_string()));
        Ok(Some((assertion, token_uri)))
    }

    /// The token URL a key file names, held to the rule of credential URLs at the
    /// place of `key_file`.
    pub(super) fn key_file_token_url(
        &self,
        uri: Option<String>,
    ) -> Result<Option<url::Url>, Error> {
        let Some(text) = uri else { return Ok(None) };
        let place = self.place_of(&self.auth.value.key_file);
        let url = url::Url::parse(&text).map_err(|e| {
            InputError::at(
                place.clone(),
                format!("auth.key_file: its token_uri is not a URL: {e}"),
            )
        })?;
        crate::auth::check_credential_url(crate::auth::CredentialUrl::Token, &url)
            .map_err(|e| InputError::at(place, format!("auth.key_file: {e}")))?;
        Ok(Some(url))
    }

    /// `auth.key_file` read (relative to the project root) and parsed; its key is a
    /// secret at once.
    fn key_file(&self) -> Result<ServiceAccountKey, Error> {
        let a = &self.auth.value;
        let place = self.place_of(&a.key_file);
        let name = self.text(&a.key_file)?.unwrap_or_default();
        let path = self.root.join(&name);
        let bytes = crate::project::limits::read(&path, crate::project::limits::CA_CERT_FILE)
            .map_err(|e| {
                InputError::at(
                    place.clone(),
                    format!("auth.key_file: {}", e.describe("the key file")),
                )
            })?;
        // Registered before anything else can print it.
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(&bytes)
            && let Some(pem) = m.get("private_key").and_then(|v| v.as_str())
        {
            register_pem(pem);
        }
        let key: ServiceAccountKey = serde_json::from_slice(&bytes).map_err(|e| {
            // serde_json's message names a line and a column, never the text.
            InputError::at(
                place.clone(),
                format!(
                    "auth.key_file: {name} is not a service-account key file (JSON with client_email and private_key): {e}"
                ),
            )
        })?;
        if let Some(kind) = &key.kind
            && kind != "service_account"
        {
            return Err(InputError::at(
                place,
                format!(
                    "auth.key_file: {name} is a `{}` key, not a `service_account` key",
                    crate::auth::grant::server_text(kind, 60)
                ),
            )
            .into());
        }
        Ok(key)
    }

    /// `oauth2_token_exchange`: what is exchanged. A subject profile's session is
    /// built here (its own cache, lock and refresh).
    pub(super) async fn exchange(&self) -> Result<Option<Exchange>, Error> {
        let a = &self.auth.value;
        if a.kind != AuthType::Oauth2TokenExchange {
            return Ok(None);
        }
        let secret = |v| -> Result<Option<Secret>, Error> {
            Ok(self.text(v)?.filter(|s| !s.is_empty()).map(Secret::new))
        };
        let subject = match (&a.subject_profile, secret(&a.subject_token)?) {
            (Some(name), _) => {
                let name = self.text(&Some(name.clone()))?.unwrap_or_default();
                SubjectToken::Profile(name.clone(), self.subject_session(&name).await?)
            }
            (None, Some(token)) => SubjectToken::Given(token),
            (None, None) => {
                return Err(InputError::at(
                    self.place_of(&a.subject_token),
                    "auth.subject_token is empty",
                )
                .into());
            }
        };
        let actor = match secret(&a.actor_token)? {
            Some(t) => Some((
                t,
                self.text(&a.actor_token_type)?
                    .unwrap_or_else(|| ACCESS_TOKEN_TYPE.to_string()),
            )),
            None => None,
        };
        let opt =
            |v| -> Result<Option<String>, Error> { Ok(self.text(v)?.filter(|s| !s.is_empty())) };
        Ok(Some(Exchange {
            subject,
            subject_token_type: opt(&a.subject_token_type)?
                .unwrap_or_else(|| ACCESS_TOKEN_TYPE.to_string()),
            audience: opt(&a.audience)?,
            resource: opt(&a.resource)?,
            requested_token_type: opt(&a.requested_token_type)?,
            actor,
        }))
    }
}

/// `runner check`'s part: a `private_key` that renders without the environment (a
/// literal or `file()`) and does not parse, or names a signing_alg it cannot sign
/// with, is a problem at the place of `private_key`. One that needs the environment
/// is checked when a run renders it.
pub fn key_problems(profile: &crate::project::LoadedProfile) -> Vec<InputError> {
    let Some(auth) = &profile.profile.auth else {
        return Vec::new();
    };
    let a = &auth.value;
    let Some(pk) = &a.private_key else {
        return Vec::new();
    };
    if !a.signs_with_private_key() || pk.value.contains("env(") || pk.value.contains("secret(") {
        return Vec::new();
    }
    let src = &profile.source;
    let renderer = crate::project::template::Renderer::shared();
    let vars = crate::project::template::Vars::new();
    let Ok(pem) = renderer.render_str(&pk.value, &vars, src.dir(), src.origin(pk)) else {
        return Vec::new();
    };
    register_pem(&pem);
    let alg = a
        .signing_alg
        .as_ref()
        .and_then(|s| Alg::parse(s.value.name()).ok());
    match SigningKey::from_pem(&pem, alg) {
        Ok(_) => Vec::new(),
        Err(e) => vec![InputError::at(
            src.place(pk),
            format!("auth.private_key: {e}"),
        )],
    }
}
