//! A profile, loaded and rendered: where requests go, with which client, and how
//! they authenticate (bearer token or an OAuth2 session).
//!
//! `auth_block` turns the profile's `auth:` block into an [`Auth`].

mod auth_block;
mod transport;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use self::auth_block::build_auth;
pub use self::auth_block::{key_problems, written_endpoint_problems};
pub use self::transport::{TlsFlags, transport_problems};
use crate::auth::{AuthHeader, Session};
use crate::cli::GlobalArgs;
use crate::error::{Error, InputError, Place};
use crate::http::{self, Client, ClientOptions};
use crate::project::limits;
use crate::project::model::profile::AuthType;
use crate::project::template::{Renderer, Vars};
use crate::project::{self, LoadedProfile, Project};
use crate::secret::Secret;
use sandbox::{Sandbox, SandboxOptions};

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
    /// AWS Signature V4: each request signed as it is sent. `marker` stands for the
    /// header value, which only the signature gives.
    AwsSigv4 {
        signer: http::sigv4::Signer,
        marker: Secret,
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
    /// Where `http.cookies: persist` keeps the profile's cookies.
    pub cookie_file: Option<http::JarFile>,
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
        Env::from_profile(project, name, profile, &TlsFlags::from(global)).await
    }

    /// `flags` are `--cacert`, `--cert` and `--key`: they win over the profile's.
    pub async fn from_profile(
        project: Project,
        profile_name: String,
        profile: LoadedProfile,
        flags: &TlsFlags,
    ) -> Result<Env, Error> {
        let renderer = Renderer::shared();
        let mut vars = profile_vars(renderer, &profile)?;
        let sandbox = start_sandbox(&profile).await?;
        let base_url = base_url(renderer, &mut vars, &profile, sandbox.as_ref())?;
        let numbers = profile.http;
        let mut tls = tls_options(&project, &profile, &profile_name, flags.cacert.as_deref())?;
        tls.client_identity = transport::client_identity(renderer, &vars, &profile, flags)?;
        tls.proxy = transport::proxy(renderer, &vars, &profile)?;
        let credentials =
            credential_policy(renderer, &vars, &profile, &profile_name, base_url.as_ref())?;
        let cookie_file = cookie_file(&project, &profile, &profile_name, base_url.as_ref())?;
        let cookies = cookie_jar(&profile, cookie_file.as_ref()).await?;
        let client = Client::new(ClientOptions {
            cookies,
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
            auth_block::Whereabouts {
                project: &project,
                flags,
            },
        )
        .await?;
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
            cookie_file,
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

/// The profile's `vars`, rendered in order (each may use those before it).
fn profile_vars(renderer: &Renderer, profile: &LoadedProfile) -> Result<Vars, Error> {
    let src = &profile.source;
    let mut vars = Vars::new();
    for (k, v) in &profile.profile.vars {
        let value = renderer.render_value(&v.value, &vars, src.dir(), src.origin(v))?;
        vars.set(k.clone(), value);
    }
    Ok(vars)
}

/// The in-process sandbox, for a profile with `sandbox: true`.
async fn start_sandbox(profile: &LoadedProfile) -> Result<Option<Sandbox>, Error> {
    if !profile.profile.sandbox {
        return Ok(None);
    }
    let sb = Sandbox::start(SandboxOptions {
        port: 0,
        ..SandboxOptions::default()
    })
    .await
    .map_err(|e| Error::io("cannot start the in-process sandbox", e))?;
    tracing::info!("sandbox started at {}", sb.url());
    Ok(Some(sb))
}

/// `base_url` rendered and parsed (the sandbox's own, with one), and set as the
/// variable `base_url`.
fn base_url(
    renderer: &Renderer,
    vars: &mut Vars,
    profile: &LoadedProfile,
    sandbox: Option<&Sandbox>,
) -> Result<Option<url::Url>, Error> {
    let src = &profile.source;
    let text = match (sandbox, &profile.profile.base_url) {
        (Some(sb), _) => format!("{}/api/v1", sb.url()),
        (None, Some(b)) => renderer.render_str(&b.value, vars, src.dir(), src.origin(b))?,
        (None, None) => return Ok(None),
    };
    vars.set("base_url", Value::String(text.clone()));
    let place = profile
        .profile
        .base_url
        .as_ref()
        .map(|b| src.place(b))
        .unwrap_or_else(|| Place::file(&src.path));
    Ok(Some(parse_url(&text, place)?))
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
    Ok(http::TlsOptions {
        ca_pem,
        insecure,
        ..Default::default()
    })
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
        || p.http.headers.keys().any(|k| {
            http::is_sensitive_header(k)
                || p.http
                    .sensitive_headers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(k))
        });
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

/// The file of the profile's persisted cookies (`http.cookies: persist`), in the state
/// folder beside the token cache: one per profile of each project and `base_url`. A
/// sandbox profile, whose server lives for one command, keeps them in memory.
pub fn cookie_file(
    project: &Project,
    profile: &LoadedProfile,
    profile_name: &str,
    base_url: Option<&url::Url>,
) -> Result<Option<http::JarFile>, Error> {
    use crate::project::model::profile::Cookies;
    if profile.profile.http.cookies != Cookies::Persist || profile.profile.sandbox {
        return Ok(None);
    }
    let dir = crate::auth::store::TokenStore::default_dir()?.with_file_name("cookies");
    let key = format!(
        "{}\n{}",
        project.root.display(),
        base_url.map(|u| u.as_str()).unwrap_or("")
    );
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let name: String = profile_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(Some(http::JarFile::new(
        &dir,
        &format!("{name}-{hash:016x}"),
    )))
}

/// The run's cookie jar: none, for this run, or loaded from `file`.
async fn cookie_jar(
    profile: &LoadedProfile,
    file: Option<&http::JarFile>,
) -> Result<Option<Arc<http::CookieJar>>, Error> {
    use crate::project::model::profile::Cookies;
    let jar = match (profile.profile.http.cookies, file) {
        (Cookies::Off, _) => return Ok(None),
        (_, Some(f)) => http::CookieJar::persisted(f.clone())
            .await
            .map_err(|e| Error::io("cannot open the cookie jar", std::io::Error::other(e)))?,
        (_, None) => http::CookieJar::in_memory(),
    };
    Ok(Some(Arc::new(jar)))
}

/// `s` as a URL, or a problem at `place`. Its userinfo, a credential, is registered
/// with the masking point first (the problem quotes `s`).
pub fn parse_url(s: &str, place: Place) -> Result<url::Url, InputError> {
    crate::secret::register_userinfo(s);
    url::Url::parse(s).map_err(|e| InputError::at(place, format!("invalid URL `{s}`: {e}")))
}
