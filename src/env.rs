//! A profile, loaded and rendered: where requests go, with which client, and how
//! they authenticate (bearer token or an OAuth2 session).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::auth::grant::EndpointConfig;
use crate::auth::{
    AuthHeader, Endpoints, GrantKind, LoginSettings, OAuthSettings, Persistence, Session,
};
use crate::cli::GlobalArgs;
use crate::error::{Error, InputError, Place};
use crate::http::header;
use crate::http::{self, Client, ClientOptions};
use crate::project::limits;
use crate::project::model::Spanned;
use crate::project::model::profile::{ApiKeyIn, AuthType, ClientAuth};
use crate::project::template::{Renderer, Vars};
use crate::project::{self, LoadedProfile, Project};
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::secret::Secret;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 2;

/// How requests authenticate.
pub enum Auth {
    None,
    /// A fixed credential: the header `header` (bearer, basic, api_key), or, with
    /// `in_query`, the query parameter of that name (api_key `in: query`).
    Static {
        header: String,
        value: Secret,
        in_query: bool,
    },
    OAuth {
        session: Arc<Session>,
        header: AuthHeader,
    },
}

/// A profile, loaded and rendered: everything a request needs besides its file.
pub struct Env {
    pub project: Project,
    pub profile_name: String,
    pub profile: LoadedProfile,
    pub renderer: &'static Renderer,
    pub vars: Vars,
    pub base_url: Option<url::Url>,
    pub client: Client,
    pub auth: Auth,
    pub timeout: Duration,
    pub retries: u32,
    /// Keeps the in-process sandbox alive for profiles with `sandbox: true`.
    pub sandbox: Option<Sandbox>,
}

/// The profile name: `-p`, else `$RUNNER_PROFILE`, else `default`.
pub fn profile_name(global: &GlobalArgs) -> String {
    global
        .profile
        .clone()
        .or_else(|| {
            std::env::var("RUNNER_PROFILE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "default".to_string())
}

impl Env {
    pub async fn open(global: &GlobalArgs) -> Result<Env, Error> {
        let project = Project::discover(global.root.as_deref())?;
        let name = profile_name(global);
        let profile = project.load_profile(&name).map_err(Error::from_inputs)?;
        Env::from_profile(project, name, profile, global.cacert.as_deref()).await
    }

    /// `cacert` is `--cacert`: authorities to trust besides the profile's.
    pub async fn from_profile(
        project: Project,
        profile_name: String,
        profile: LoadedProfile,
        cacert: Option<&Path>,
    ) -> Result<Env, Error> {
        let renderer = Renderer::shared();
        let src = &profile.source;
        let dir = src.dir();
        let mut vars = Vars::new();
        for (k, v) in &profile.profile.vars {
            let value = renderer.render_value(&v.value, &vars, dir, src.origin(v))?;
            vars.set(k.clone(), value);
        }
        let sandbox = if profile.profile.sandbox {
            let sb = Sandbox::start(SandboxOptions {
                port: 0,
                ..SandboxOptions::default()
            })
            .await
            .map_err(|e| Error::io("cannot start the in-process sandbox", e))?;
            tracing::info!("sandbox started at {}", sb.url());
            Some(sb)
        } else {
            None
        };
        let base_url = match (&sandbox, &profile.profile.base_url) {
            (Some(sb), _) => Some(format!("{}/api/v1", sb.url())),
            (None, Some(b)) => Some(renderer.render_str(&b.value, &vars, dir, src.origin(b))?),
            (None, None) => None,
        };
        let base_url = match base_url {
            None => None,
            Some(s) => {
                vars.set("base_url", Value::String(s.clone()));
                let place = profile
                    .profile
                    .base_url
                    .as_ref()
                    .map(|b| src.place(b))
                    .unwrap_or_else(|| Place::file(&src.path));
                Some(parse_url(&s, place)?)
            }
        };
        let numbers = profile.http;
        let tls = tls_options(&project, &profile, &profile_name, cacert)?;
        let credentials =
            credential_policy(renderer, &vars, &profile, &profile_name, base_url.as_ref())?;
        let client = Client::new(ClientOptions {
            max_body: numbers.max_body.unwrap_or(http::DEFAULT_MAX_BODY),
            tls: tls.clone(),
            credentials,
            redirects: http::RedirectPolicy {
                follow: profile.profile.http.follow_redirects.unwrap_or(true),
                max: numbers.max_redirects.unwrap_or(http::DEFAULT_MAX_REDIRECTS),
            },
        })?;
        let timeout = numbers.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let retries = numbers.retries.unwrap_or(DEFAULT_RETRIES);
        let auth = build_auth(
            renderer,
            &vars,
            &profile,
            &profile_name,
            sandbox.as_ref(),
            timeout,
            &tls,
        )?;
        Ok(Env {
            project,
            profile_name,
            profile,
            renderer,
            vars,
            base_url,
            client,
            auth,
            timeout,
            retries,
            sandbox,
        })
    }

    /// The OAuth2 session, for the commands that need one.
    pub fn session(&self) -> Result<&Session, Error> {
        match &self.auth {
            Auth::OAuth { session, .. } => Ok(session),
            _ => Err(InputError::usage(format!(
                "profile `{}` does not use OAuth2 (auth.type is not oauth2_password or oauth2_client_credentials)",
                self.profile_name
            ))
            .into()),
        }
    }
}

/// The authorities to trust (`--cacert`, `http.ca_cert`) and `http.insecure`, which
/// warns on every run.
fn tls_options(
    project: &Project,
    profile: &LoadedProfile,
    profile_name: &str,
    cacert: Option<&Path>,
) -> Result<http::TlsOptions, Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(c) = &profile.profile.http.ca_cert {
        files.push(project.root.join(c));
    }
    if let Some(c) = cacert {
        files.push(c.to_path_buf());
    }
    let mut ca_pem = Vec::new();
    for f in files {
        let pem = limits::read(&f, limits::CA_CERT_FILE).map_err(|e| {
            InputError::at(
                Place::file(project::display_path(&f)),
                e.describe("the CA certificate"),
            )
        })?;
        ca_pem.push(pem);
    }
    let insecure = profile.profile.http.insecure;
    if insecure {
        eprintln!(
            "warning: profile `{profile_name}` sets http.insecure: TLS certificates are not verified"
        );
    }
    Ok(http::TlsOptions { ca_pem, insecure })
}

/// Where the profile's credentials may go (SPEC §4): the origins of `base_url` and
/// `auth.origins`. Plain http to a host that is not loopback is refused for them
/// unless `http.allow_plain_http`, which warns on every run.
fn credential_policy(
    renderer: &Renderer,
    vars: &Vars,
    profile: &LoadedProfile,
    profile_name: &str,
    base_url: Option<&url::Url>,
) -> Result<http::CredentialPolicy, Error> {
    let src = &profile.source;
    let p = &profile.profile;
    let auth = p.auth.as_ref().map(|a| &a.value);
    let mut listed = Vec::new();
    if let Some(base) = base_url {
        let place = p
            .base_url
            .as_ref()
            .map(|b| src.place(b))
            .unwrap_or_else(|| Place::file(&src.path));
        listed.push(("base_url", base.clone(), place));
    }
    for o in auth.map(|a| a.origins.as_slice()).unwrap_or_default() {
        let text = renderer.render_str(&o.value, vars, src.dir(), src.origin(o))?;
        let url = parse_url(&text, src.place(o))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InputError::at(
                src.place(o),
                format!("auth.origins: `{text}` is not an http or https origin"),
            )
            .into());
        }
        listed.push(("auth.origins", url, src.place(o)));
    }
    let has_credentials = auth.is_some_and(|a| a.kind != AuthType::None)
        || p.http
            .headers
            .keys()
            .any(|k| http::is_sensitive_header(k) || p.http.sensitive_headers.contains(k));
    for (key, url, place) in &listed {
        if !has_credentials || url.scheme() != "http" || http::is_loopback(url) {
            continue;
        }
        if p.http.allow_plain_http {
            eprintln!(
                "warning: profile `{profile_name}` sets http.allow_plain_http: credentials travel unencrypted to {}",
                url.origin().ascii_serialization()
            );
        } else {
            return Err(InputError::at(
                place.clone(),
                format!(
                    "profile `{profile_name}`: {key} `{url}` is plain http to a host that is not loopback, and the profile sends credentials; use https, or set http.allow_plain_http: true to send them unencrypted"
                ),
            )
            .into());
        }
    }
    let mut sensitive = p.http.sensitive_headers.clone();
    if let Some(name) = auth.and_then(|a| a.header.clone()) {
        sensitive.push(name);
    }
    // An API key's header is masked and kept to the origins like `Authorization`.
    if let Some(a) = auth
        && a.kind == AuthType::ApiKey
        && let Some(name) = &a.name
    {
        sensitive.push(name.clone());
    }
    Ok(http::CredentialPolicy {
        origins: listed.into_iter().map(|(_, url, _)| url.origin()).collect(),
        sensitive,
    })
}

/// `Basic base64(user:password)` (RFC 7617), as a secret.
fn basic_value(username: &str, password: &Secret) -> Secret {
    use base64::Engine;
    let pair = format!("{username}:{}", password.expose());
    Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

pub fn parse_url(s: &str, place: Place) -> Result<url::Url, InputError> {
    url::Url::parse(s).map_err(|e| InputError::at(place, format!("invalid URL `{s}`: {e}")))
}

fn build_auth(
    renderer: &Renderer,
    vars: &Vars,
    profile: &LoadedProfile,
    profile_name: &str,
    sandbox: Option<&Sandbox>,
    timeout: Duration,
    tls: &http::TlsOptions,
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
    };
    match a.kind {
        AuthType::None => Ok(Auth::None),
        AuthType::Bearer | AuthType::Basic | AuthType::ApiKey => block.fixed(header),
        AuthType::Oauth2Password
        | AuthType::Oauth2ClientCredentials
        | AuthType::Oauth2AuthorizationCode
        | AuthType::Oauth2DeviceCode => {
            let settings = block.settings(profile_name, sandbox, timeout, tls)?;
            let persistence = if sandbox.is_some() {
                Persistence::Memory
            } else {
                Persistence::Dir(crate::auth::store::TokenStore::default_dir()?)
            };
            let session = Session::new(settings, persistence)?;
            Ok(Auth::OAuth {
                session: Arc::new(session),
                header,
            })
        }
    }
}

/// What rendering a profile's auth block needs.
struct AuthRender<'a> {
    renderer: &'a Renderer,
    vars: &'a Vars,
    profile: &'a LoadedProfile,
    auth: &'a Spanned<crate::project::model::profile::AuthConfig>,
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

    /// A URL of the auth block, rendered and parsed (`None`: not given).
    fn url(&self, v: &Option<Spanned<String>>) -> Result<Option<url::Url>, Error> {
        match (self.text(v)?, v) {
            (Some(text), Some(spanned)) => {
                Ok(Some(parse_url(&text, self.profile.source.place(spanned))?))
            }
            _ => Ok(None),
        }
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
        let src = &self.profile.source;
        let at = |path: &str| {
            sandbox
                .map(|sb| url::Url::parse(&format!("{}{path}", sb.url())))
                .transpose()
                .map_err(|e| Error::Input(InputError::usage(format!("sandbox URL: {e}"))))
        };
        let mut endpoints = Endpoints {
            issuer: self.url(&a.issuer)?,
            token_given: true,
            authorization: at("/oauth/v2/auth")?.or(self.url(&a.authorization_url)?),
            device: at("/oauth/v2/device")?.or(self.url(&a.device_authorization_url)?),
            revocation: at("/oauth/v2/revoke")?.or(self.url(&a.revocation_url)?),
        };
        // With an issuer and no token URL, the issuer keys the cache until discovery
        // names the token endpoint (only when a token is needed).
        let token_url = match (
            at("/oauth/v2/token")?,
            self.url(&a.token_url)?,
            &endpoints.issuer,
        ) {
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
        let secret = |v| -> Result<Option<Secret>, Error> {
            Ok(self.text(v)?.filter(|s| !s.is_empty()).map(Secret::new))
        };
        let client_secret = secret(&a.client_secret)?;
        // A public client (no secret) sends only its id.
        let client_auth = if client_secret.is_none() {
            ClientAuth::None
        } else {
            a.client_auth
        };
        let numbers = &self.profile.auth;
        let login = LoginSettings {
            redirect_port: numbers.redirect_port.unwrap_or(0),
            redirect_path: a
                .redirect_path
                .clone()
                .unwrap_or_else(|| "/callback".to_string()),
            timeout: numbers.login_timeout.unwrap_or(Duration::from_secs(300)),
        };
        Ok(OAuthSettings {
            profile: profile_name.to_string(),
            grant: match a.kind {
                AuthType::Oauth2Password => GrantKind::Password,
                AuthType::Oauth2AuthorizationCode => GrantKind::AuthorizationCode,
                AuthType::Oauth2DeviceCode => GrantKind::DeviceCode,
                _ => GrantKind::ClientCredentials,
            },
            endpoint: EndpointConfig {
                token_url,
                client_id: self.text(&a.client_id)?.unwrap_or_default(),
                client_secret,
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
            },
            username: self.text(&a.username)?.unwrap_or_default(),
            password: secret(&a.password)?,
            explicit_scheme: a.scheme.is_some(),
            endpoints,
            login,
            discovery_cache: match sandbox {
                Some(_) => None,
                None => crate::auth::store::TokenStore::default_dir()?
                    .parent()
                    .map(|p| p.join("discovery")),
            },
        })
    }
}
