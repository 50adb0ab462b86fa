//! The profile's `auth:` block rendered into an [`Auth`]: a fixed credential checked
//! as the header it becomes, or the settings of an OAuth2 session.

use std::sync::Arc;
use std::time::Duration;

use super::{Auth, parse_url};
use crate::auth::grant::EndpointConfig;
use crate::auth::{
    AuthError, AuthHeader, CredentialUrl, Deferred, Endpoints, GrantKind, LoginSettings,
    OAuthSettings, Persistence, Session, check_credential_url,
};
use crate::error::{Error, InputError, Place};
use crate::http::{self, header};
use crate::project::LoadedProfile;
use crate::project::model::Spanned;
use crate::project::model::profile::{ApiKeyIn, AuthConfig, AuthType, ClientAuth, TokenStoreKind};
use crate::project::template::{Renderer, Vars};
use crate::secret::Secret;
use sandbox::Sandbox;

/// `Basic base64(user:password)` (RFC 7617), as a secret; the pair is registered
/// with the masking point in every form (the base64 alone, too).
fn basic_value(username: &str, password: &Secret) -> Secret {
    use base64::Engine;
    crate::secret::register_basic(username, password.expose());
    let pair = format!("{username}:{}", password.expose());
    Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

#[path = "auth_jwt.rs"]
mod jwt;
pub use jwt::key_problems;
pub(super) use jwt::register_pem;
#[path = "auth_subject.rs"]
mod subject;

/// Where the profile is: its project (a token exchange's subject profile is another
/// of its profiles) and the command line's TLS flags (`--cacert`, `--cert`, `--key`).
#[derive(Clone, Copy)]
pub(super) struct Whereabouts<'a> {
    pub project: &'a crate::project::Project,
    pub flags: &'a super::TlsFlags,
}

/// How requests of `profile` authenticate.
#[allow(clippy::too_many_arguments)]
pub(super) async fn build_auth(
    renderer: &'static Renderer,
    vars: &Vars,
    profile: &LoadedProfile,
    profile_name: &str,
    sandbox: Option<&Sandbox>,
    timeout: Duration,
    tls: &http::TlsOptions,
    at: Whereabouts<'_>,
) -> Result<Auth, Error> {
    let Some(auth) = &profile.profile.auth else {
        return Ok(Auth::None);
    };
    let a = &auth.value;
    let header = AuthHeader {
        name: a
            .header
            .clone()
            .unwrap_or_else(|| "Authorization".to_string()),
        scheme: a.scheme.clone().unwrap_or_else(|| "Bearer".to_string()),
    };
    let block = AuthRender {
        renderer,
        vars,
        profile,
        auth,
        profile_name,
        at,
        root: &at.project.root,
    };
    match a.kind {
        AuthType::None => Ok(Auth::None),
        AuthType::AwsSigv4 => block.aws_sigv4().await,
        AuthType::Bearer | AuthType::Basic | AuthType::ApiKey => block.fixed(header),
        AuthType::Oauth2Password
        | AuthType::Oauth2ClientCredentials
        | AuthType::Oauth2AuthorizationCode
        | AuthType::Oauth2DeviceCode
        | AuthType::Oauth2JwtBearer
        | AuthType::Oauth2TokenExchange => {
            let mut settings = block.settings(profile_name, sandbox, timeout, tls)?;
            if let Some(exchange) = block.exchange().await? {
                settings.username = exchange_identity(&exchange);
                settings.exchange = Some(exchange);
            }
            let persistence = persistence(a.token_store, sandbox.is_some())?;
            let session = Session::new(settings, persistence)?;
            Ok(Auth::OAuth {
                session: Arc::new(session),
                header,
            })
        }
    }
}

/// Where a session is kept: memory for the sandbox, else `auth.token_store`, else
/// the user configuration's `token_store`, else a file.
fn persistence(written: Option<TokenStoreKind>, sandbox: bool) -> Result<Persistence, Error> {
    if sandbox {
        return Ok(Persistence::Memory);
    }
    let kind = match written {
        Some(k) => k,
        None => crate::user::load()?
            .config
            .as_ref()
            .and_then(|c| c.token_store)
            .unwrap_or(TokenStoreKind::File),
    };
    let dir = crate::auth::store::TokenStore::default_dir()?;
    Ok(match kind {
        TokenStoreKind::File => Persistence::Dir(dir),
        TokenStoreKind::Keyring => Persistence::Keyring(dir),
    })
}

/// A token exchange's cache key besides the client: what it trades for what, so that
/// a new subject or audience never reuses another's token (a given subject token by
/// its digest only).
fn exchange_identity(e: &crate::auth::Exchange) -> String {
    use base64::Engine as _;
    let subject = match &e.subject {
        crate::auth::SubjectToken::Profile(name, _) => format!("profile {name}"),
        crate::auth::SubjectToken::Given(t) => {
            let d = ring::digest::digest(&ring::digest::SHA256, t.expose().as_bytes());
            let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
            format!("token {}", &b[..16])
        }
    };
    format!(
        "token-exchange {subject} audience={} resource={} type={}",
        e.audience.as_deref().unwrap_or(""),
        e.resource.as_deref().unwrap_or(""),
        e.requested_token_type.as_deref().unwrap_or("")
    )
}

/// What rendering a profile's auth block needs.
struct AuthRender<'a> {
    renderer: &'static Renderer,
    vars: &'a Vars,
    profile: &'a LoadedProfile,
    auth: &'a Spanned<AuthConfig>,
    profile_name: &'a str,
    at: Whereabouts<'a>,
    /// The project root, which `key_file` is relative to.
    root: &'a std::path::Path,
}

impl AuthRender<'_> {
    /// A credential that does not change: bearer, basic or api_key, checked as the
    /// header (or query parameter) it becomes.
    fn fixed(&self, header: AuthHeader) -> Result<Auth, Error> {
        let a = &self.auth.value;
        let src = &self.profile.source;
        let place_of = |v: &Option<Spanned<String>>| {
            v.as_ref()
                .map_or_else(|| src.place(self.auth), |t| src.place(t))
        };
        let (name, value, in_query) = match a.kind {
            AuthType::Bearer => {
                let token = Secret::new(self.text(&a.token)?.unwrap_or_default());
                let value = header.value(&token);
                if let Some(p) = header::value_problem(&header.name, value.expose()) {
                    return Err(
                        InputError::at(place_of(&a.token), format!("auth.token: {p}")).into(),
                    );
                }
                (header.name, value, false)
            }
            AuthType::Basic => {
                let username = self.text(&a.username)?.unwrap_or_default();
                let password = Secret::new(self.text(&a.password)?.unwrap_or_default());
                let value = basic_value(&username, &password);
                if username.contains(':') {
                    return Err(InputError::at(
                        src.place(self.auth),
                        "auth.username: a Basic user name cannot contain `:` (RFC 7617)",
                    )
                    .into());
                }
                if let Some(p) = header::value_problem("Authorization", value.expose()) {
                    return Err(InputError::at(src.place(self.auth), format!("auth: {p}")).into());
                }
                ("Authorization".to_string(), value, false)
            }
            _ => {
                let name = a.name.clone().unwrap_or_default();
                let value = Secret::new(self.text(&a.key)?.unwrap_or_default());
                let in_query = a.key_in == Some(ApiKeyIn::Query);
                // A query parameter is encoded on the way; a header must be one as it is.
                if !in_query && let Some(p) = header::problem(&name, value.expose()) {
                    return Err(InputError::at(place_of(&a.key), format!("auth.key: {p}")).into());
                }
                (name, value, in_query)
            }
        };
        Ok(Auth::Static {
            header: name,
            value,
            in_query,
        })
    }

    /// `aws_sigv4`: the region and service rendered, the credentials found.
    async fn aws_sigv4(&self) -> Result<Auth, Error> {
        let a = &self.auth.value;
        let creds = crate::auth::aws::resolve(a.aws_profile.as_deref()).await?;
        tracing::info!("AWS credentials from {}", creds.source);
        let signer = http::sigv4::Signer {
            access_key_id: creds.access_key_id,
            secret_access_key: creds.secret_access_key,
            session_token: creds.session_token,
            region: self.text(&a.region)?.unwrap_or_default(),
            service: self.text(&a.service)?.unwrap_or_default(),
        };
        Ok(Auth::AwsSigv4 {
            signer,
            marker: Secret::default(),
        })
    }

    /// A template value of the auth block, rendered.
    fn text(&self, v: &Option<Spanned<String>>) -> Result<Option<String>, Error> {
        let src = &self.profile.source;
        match v {
            None => Ok(None),
            Some(s) => Ok(Some(self.renderer.render_str(
                &s.value,
                self.vars,
                src.dir(),
                src.origin(s),
            )?)),
        }
    }

    /// A secret of the auth block that only a token request uses (`key`), rendered
    /// when one first needs it: a valid cached session never does. A literal is
    /// taken (and registered) at once.
    fn deferred(&self, key: &'static str, v: &Option<Spanned<String>>, profile: &str) -> Deferred {
        let Some(spanned) = v else {
            return Deferred::ready(None);
        };
        if !crate::project::template::has_markup(&spanned.value) {
            let text = Some(spanned.value.clone()).filter(|s| !s.is_empty());
            return Deferred::ready(text.map(Secret::new));
        }
        let renderer = self.renderer;
        let vars = std::sync::Mutex::new(self.vars.clone());
        let source = self.profile.source.clone();
        let spanned = spanned.clone();
        let profile = profile.to_string();
        Deferred::new(move || {
            let vars = vars
                .lock()
                .map_err(|_| AuthError::Store("vars lock".into()))?;
            let origin = source.origin(&spanned);
            let text = renderer
                .render_str(&spanned.value, &vars, source.dir(), origin)
                .map_err(|e| AuthError::Unrendered {
                    place: e.place,
                    message: format!(
                        "profile `{profile}` needs auth.{key} to get a token: {}",
                        e.message
                    ),
                    secret_command: e.secret_command,
                })?;
            Ok(Some(text).filter(|s| !s.is_empty()).map(Secret::new))
        })
    }

    /// A URL of the auth block, rendered and parsed (`None`: not given).
    fn url(&self, v: &Option<Spanned<String>>) -> Result<Option<url::Url>, Error> {
        match (self.text(v)?, v) {
            // A preview with this URL's env() unset (warned already): the session
            // sends nothing, and a URL that names no host keeps it whole.
            (Some(text), Some(_)) if !crate::secret::placeholders_in(&text).is_empty() => {
                Ok(url::Url::parse("https://unset.invalid/").ok())
            }
            (Some(text), Some(spanned)) => {
                let place = self.profile.source.place(spanned);
                if let Some(e) = markup_left(&text, &place) {
                    return Err(e.into());
                }
                Ok(Some(parse_url(&text, place)?))
            }
            _ => Ok(None),
        }
    }

    /// A URL of the auth block that receives credentials: rendered, parsed and held
    /// to [`check_credential_url`], a problem at its key's place.
    fn credential_url(
        &self,
        kind: CredentialUrl,
        v: &Option<Spanned<String>>,
    ) -> Result<Option<url::Url>, Error> {
        let url = self.url(v)?;
        if let (Some(u), Some(spanned)) = (&url, v) {
            credential_url_problem(kind, u, self.profile.source.place(spanned))?;
        }
        Ok(url)
    }

    /// `auth.origins`, rendered (the credential policy has checked them already).
    fn origins(&self) -> Result<Vec<url::Origin>, Error> {
        let mut out = Vec::new();
        for o in &self.auth.value.origins {
            if let Some(u) = self.url(&Some(o.clone()))? {
                out.push(u.origin());
            }
        }
        Ok(out)
    }

    /// The mutual TLS methods need the certificate that is their credential.
    fn certificate_present(&self, profile_name: &str, tls: &http::TlsOptions) -> Result<(), Error> {
        let method = self.auth.value.client_auth;
        if !method.is_tls() || tls.client_identity.is_some() {
            return Ok(());
        }
        let method = method.name();
        Err(InputError::at(
            self.profile.source.place(self.auth),
            format!(
                "profile `{profile_name}`: auth.client_auth {method} needs a client certificate: set http.client_cert and http.client_key (or http.client_pkcs12), or pass --cert FILE --key FILE"
            ),
        )
        .into())
    }

    /// The session's settings. The sandbox serves every endpoint itself.
    fn settings(
        &self,
        profile_name: &str,
        sandbox: Option<&Sandbox>,
        timeout: Duration,
        tls: &http::TlsOptions,
    ) -> Result<OAuthSettings, Error> {
        let a = &self.auth.value;
        let bearer = self.bearer()?;
        let key_file_uri = bearer.as_ref().and_then(|(_, u)| u.clone());
        let (endpoints, token_url) = self.endpoints(sandbox, key_file_uri)?;
        let client_id = self.text(&a.client_id)?.unwrap_or_default();
        let client_secret = self.deferred("client_secret", &a.client_secret, profile_name);
        // `client_secret_jwt` signs with the secret, so it is rendered now; for `body`
        // and `basic` it is rendered when the session first talks to the token
        // endpoint (`Session::endpoint`), which also decides whether the client is public.
        let signing_secret = match a.client_auth {
            ClientAuth::ClientSecretJwt => client_secret.get()?,
            _ => None,
        };
        let assertion = self.client_assertion(&client_id, signing_secret.as_ref())?;
        self.certificate_present(profile_name, tls)?;
        // A public client (no secret) sends only its id; a client that signs, or
        // shows a certificate, needs none.
        let client_auth = match a.client_auth {
            ClientAuth::Body | ClientAuth::Basic if a.client_secret.is_none() => ClientAuth::None,
            other => other,
        };
        Ok(OAuthSettings {
            profile: profile_name.to_string(),
            grant: match a.kind {
                AuthType::Oauth2Password => GrantKind::Password,
                AuthType::Oauth2AuthorizationCode => GrantKind::AuthorizationCode,
                AuthType::Oauth2DeviceCode => GrantKind::DeviceCode,
                AuthType::Oauth2JwtBearer => GrantKind::JwtBearer,
                AuthType::Oauth2TokenExchange => GrantKind::TokenExchange,
                _ => GrantKind::ClientCredentials,
            },
            endpoint: EndpointConfig {
                token_url,
                client_id,
                client_secret: None,
                scopes: a.scopes.clone(),
                token_request: a.token_request,
                client_auth,
                timeout,
                tls: tls.clone(),
                params: a
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                assertion,
                dpop: Default::default(),
            },
            username: match &bearer {
                Some((b, _)) => b.subject.clone().unwrap_or_default(),
                None => self.text(&a.username)?.unwrap_or_default(),
            },
            client_secret,
            password: self.deferred("password", &a.password, profile_name),
            explicit_scheme: a.scheme.is_some(),
            dpop: a.dpop,
            endpoints,
            login: self.login(),
            discovery_cache: match sandbox {
                Some(_) => None,
                None => crate::auth::store::TokenStore::default_dir()?
                    .parent()
                    .map(|p| p.join("discovery")),
            },
            bearer: bearer.map(|(b, _)| b),
            exchange: None,
            par: a.par,
        })
    }

    /// The authorization server's endpoints, and the token URL (the sandbox's own,
    /// else `token_url`, else the issuer until discovery names it).
    fn endpoints(
        &self,
        sandbox: Option<&Sandbox>,
        key_file_uri: Option<String>,
    ) -> Result<(Endpoints, url::Url), Error> {
        let a = &self.auth.value;
        // A JWT bearer grant's `issuer` is the assertion's, not a server to discover.
        let issuer = match a.kind {
            AuthType::Oauth2JwtBearer => &None,
            _ => &a.issuer,
        };
        let src = &self.profile.source;
        let at = |path: &str| {
            sandbox
                .map(|sb| url::Url::parse(&format!("{}{path}", sb.url())))
                .transpose()
                .map_err(|e| Error::Input(InputError::usage(format!("sandbox URL: {e}"))))
        };
        let written = |kind, v| self.credential_url(kind, v);
        let mut endpoints = Endpoints {
            issuer: written(CredentialUrl::Issuer, issuer)?,
            token_given: true,
            authorization: at("/oauth/v2/auth")?
                .or(written(CredentialUrl::Authorization, &a.authorization_url)?),
            device: at("/oauth/v2/device")?
                .or(written(CredentialUrl::Device, &a.device_authorization_url)?),
            revocation: at("/oauth/v2/revoke")?
                .or(written(CredentialUrl::Revocation, &a.revocation_url)?),
            origins: self.origins()?,
        };
        // With an issuer and no token URL, the issuer keys the cache until discovery
        // names the token endpoint (only when a token is needed).
        let written_token = match written(CredentialUrl::Token, &a.token_url)? {
            Some(u) => Some(u),
            None => self.key_file_token_url(key_file_uri)?,
        };
        let token_url = match (at("/oauth/v2/token")?, written_token, &endpoints.issuer) {
            (Some(u), _, _) | (None, Some(u), _) => u,
            (None, None, Some(issuer)) => {
                endpoints.token_given = false;
                issuer.clone()
            }
            (None, None, None) => {
                return Err(InputError::at(
                    src.place(self.auth),
                    format!(
                        "auth type `{}` needs `token_url` (or `issuer`)",
                        a.kind_name()
                    ),
                )
                .into());
            }
        };
        Ok((endpoints, token_url))
    }

    /// How an interactive login listens and how long it may take.
    fn login(&self) -> LoginSettings {
        let a = &self.auth.value;
        let numbers = &self.profile.auth;
        LoginSettings {
            redirect_port: numbers.redirect_port.unwrap_or(0),
            redirect_path: a
                .redirect_path
                .clone()
                .unwrap_or_else(|| "/callback".to_string()),
            timeout: numbers.login_timeout.unwrap_or(Duration::from_secs(300)),
        }
    }
}

/// `url`, written at `place` as the profile's `kind`, held to the rule of every URL
/// that receives credentials: an input problem (exit 2) at the key's place.
fn credential_url_problem(
    kind: CredentialUrl,
    url: &url::Url,
    place: Place,
) -> Result<(), InputError> {
    check_credential_url(kind, url)
        .map_err(|e| InputError::at(place, format!("auth.{}: {e}", kind.key())))
}

/// A URL that still holds template markup once rendered, raw or percent-encoded
/// (`{{ env(…) }}` spliced into a URL and encoded): no server can use it.
fn markup_left(text: &str, place: &Place) -> Option<InputError> {
    let lower = text.to_ascii_lowercase();
    let left = ["{{", "{%", "%7b%7b", "%7b%25"]
        .iter()
        .any(|m| lower.contains(m));
    left.then(|| {
        InputError::at(
            place.clone(),
            "the URL holds template markup after rendering (a template inside a URL?): write the whole URL as one `{{ env('NAME') }}` or as text".to_string(),
        )
    })
}

/// `runner check`'s part of the rule: every credential URL the profile writes as a
/// literal (a template is checked when a run renders it), without sending anything.
pub fn written_endpoint_problems(profile: &LoadedProfile) -> Vec<InputError> {
    let Some(auth) = &profile.profile.auth else {
        return Vec::new();
    };
    let a = &auth.value;
    let src = &profile.source;
    let mut problems = Vec::new();
    let issuer = match a.kind {
        AuthType::Oauth2JwtBearer => &None,
        _ => &a.issuer,
    };
    for (kind, v) in [
        (CredentialUrl::Token, &a.token_url),
        (CredentialUrl::Issuer, issuer),
        (CredentialUrl::Authorization, &a.authorization_url),
        (CredentialUrl::Device, &a.device_authorization_url),
        (CredentialUrl::Revocation, &a.revocation_url),
    ] {
        let Some(s) = v else { continue };
        if s.value.contains("{{") || s.value.contains("{%") {
            continue;
        }
        let place = src.place(s);
        if let Some(e) = markup_left(&s.value, &place) {
            problems.push(e);
            continue;
        }
        let checked = parse_url(&s.value, place.clone())
            .and_then(|u| credential_url_problem(kind, &u, place));
        if let Err(e) = checked {
            problems.push(e);
        }
    }
    problems
}
