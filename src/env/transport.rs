//! The transport settings of a profile made live: the client certificate (mutual TLS,
//! `http.client_cert`/`http.client_key`, `http.client_pkcs12`, or `--cert`/`--key`) and the proxy
//! (`http.proxy`). Both apply to the API's client and to every OAuth2 endpoint's.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::error::{Error, InputError, Place};
use crate::http::{ClientIdentity, IdentitySource, ProxySetting, pkcs12};
use crate::project::limits;
use crate::project::model::Spanned;
use crate::project::template::{Renderer, Vars};
use crate::project::{self, LoadedProfile};
use crate::secret::Secret;

/// The command line's TLS flags: `--cacert`, `--cert` and `--key`.
#[derive(Debug, Clone, Default)]
pub struct TlsFlags {
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl From<&GlobalArgs> for TlsFlags {
    fn from(g: &GlobalArgs) -> TlsFlags {
        TlsFlags {
            cacert: g.cacert.clone(),
            cert: g.cert.clone(),
            key: g.key.clone(),
        }
    }
}

/// A file named by the profile or the command line, with where it was named.
struct Named {
    path: PathBuf,
    place: Place,
}

/// Where the client certificate comes from.
enum Files<'a> {
    /// A PEM certificate and its PEM key.
    Pem(Named, Named),
    /// A PKCS#12 file and its password's template, if any.
    Pkcs12(Named, Option<&'a Spanned<String>>),
}

/// The certificate files: `--cert`/`--key`, else the profile's, relative to its
/// folder. A certificate without its key (or a key without its certificate), a
/// PKCS#12 file beside PEM files, a password without its file: problems at the key.
fn named_files<'a>(
    profile: &'a LoadedProfile,
    flags: &TlsFlags,
) -> Result<Option<Files<'a>>, InputError> {
    if let (Some(cert), Some(key)) = (&flags.cert, &flags.key) {
        let named = |p: &PathBuf| Named {
            path: p.clone(),
            place: Place::file(project::display_path(p)),
        };
        return Ok(Some(Files::Pem(named(cert), named(key))));
    }
    let src = &profile.source;
    let http = &profile.profile.http;
    let named = |s: &Spanned<String>| Named {
        path: src.dir().join(&s.value),
        place: src.place(s),
    };
    if let Some(p12) = &http.client_pkcs12 {
        if http.client_cert.is_some() || http.client_key.is_some() {
            return Err(InputError::at(
                src.place(p12),
                "http.client_pkcs12 and http.client_cert/client_key both name a client certificate: keep one (a PKCS#12 file holds the certificate and its key)",
            ));
        }
        return Ok(Some(Files::Pkcs12(
            named(p12),
            http.client_pkcs12_password.as_ref(),
        )));
    }
    if let Some(pw) = &http.client_pkcs12_password {
        return Err(InputError::at(
            src.place(pw),
            "http.client_pkcs12_password has no file: set http.client_pkcs12 to the PKCS#12 file it opens",
        ));
    }
    match (&http.client_cert, &http.client_key) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => Ok(Some(Files::Pem(named(c), named(k)))),
        (Some(c), None) => Err(InputError::at(
            src.place(c),
            "http.client_cert has no private key: set http.client_key to its PEM key file",
        )),
        (None, Some(k)) => Err(InputError::at(
            src.place(k),
            "http.client_key has no certificate: set http.client_cert to its PEM certificate file",
        )),
    }
}

fn read(file: &Named, what: &str) -> Result<Vec<u8>, InputError> {
    limits::read(&file.path, limits::CA_CERT_FILE).map_err(|e| {
        InputError::at(
            file.place.clone(),
            e.describe(&format!(
                "{what} {}",
                project::display_path(&file.path).display()
            )),
        )
    })
}

/// The client certificate and key, read and checked; the key's text (and a PKCS#12
/// password) is a secret.
pub(super) fn client_identity(
    renderer: &Renderer,
    vars: &Vars,
    profile: &LoadedProfile,
    flags: &TlsFlags,
) -> Result<Option<ClientIdentity>, Error> {
    match named_files(profile, flags)? {
        None => Ok(None),
        Some(Files::Pem(cert, key)) => Ok(Some(read_identity(&cert, &key)?)),
        Some(Files::Pkcs12(file, password)) => {
            let password = match password {
                Some(p) => {
                    let src = &profile.source;
                    renderer.render_str(&p.value, vars, src.dir(), src.origin(p))?
                }
                None => String::new(),
            };
            let pw_place = password_place(profile);
            Ok(Some(open_pkcs12(&file, Secret::new(password), pw_place)?))
        }
    }
}

fn read_identity(cert: &Named, key: &Named) -> Result<ClientIdentity, InputError> {
    let cert_pem = read(cert, "the client certificate")?;
    let key_bytes = read(key, "the client key")?;
    let key_text = String::from_utf8(key_bytes).map_err(|_| {
        InputError::at(
            key.place.clone(),
            "the client key is not a PEM file (not text)",
        )
    })?;
    // Secret::new registers the key's text with the masking point.
    let key_pem = Secret::new(key_text);
    let identity = ClientIdentity {
        cert_pem,
        key_pem,
        source: IdentitySource::Pem {
            cert_file: cert.path.clone(),
            key_file: key.path.clone(),
        },
    };
    identity.check().map_err(|(is_key, why)| {
        let place = if is_key { &key.place } else { &cert.place };
        InputError::at(place.clone(), why)
    })?;
    Ok(identity)
}

fn password_place(profile: &LoadedProfile) -> Option<Place> {
    let pw = profile.profile.http.client_pkcs12_password.as_ref()?;
    Some(profile.source.place(pw))
}

/// `file` decrypted with `password` (registered as a secret by the caller), its
/// key registered the moment it exists. Problems are at `http.client_pkcs12`, a
/// wrong password at `http.client_pkcs12_password` (`pw_place`).
fn open_pkcs12(
    file: &Named,
    password: Secret,
    pw_place: Option<Place>,
) -> Result<ClientIdentity, InputError> {
    let der = read(file, "the PKCS#12 file")?;
    let shown = project::display_path(&file.path);
    let at = |place: &Place, why: String| {
        InputError::at(
            place.clone(),
            format!("http.client_pkcs12 {}: {why}", shown.display()),
        )
    };
    let opened = pkcs12::open(&der, password.expose()).map_err(|e| {
        match (e, &pw_place) {
        (pkcs12::Pkcs12Error::WrongPassword, Some(pw)) => at(
            pw,
            "wrong password: http.client_pkcs12_password does not open it".to_string(),
        ),
        (pkcs12::Pkcs12Error::WrongPassword, None) => at(
            &file.place,
            "it has a password: set http.client_pkcs12_password, e.g. \"{{ env('P12_PASSWORD') }}\""
                .to_string(),
        ),
        (e, _) => at(&file.place, e.to_string()),
    }
    })?;
    super::auth_block::register_pem(&opened.key_pem);
    let identity = ClientIdentity {
        cert_pem: opened.cert_pem,
        key_pem: Secret::new(opened.key_pem),
        source: IdentitySource::Pkcs12 {
            file: file.path.clone(),
            password,
        },
    };
    identity.check().map_err(|(_, why)| at(&file.place, why))?;
    Ok(identity)
}

/// `http.proxy`, rendered: `none`, a URL, or unset (the environment's).
pub(super) fn proxy(
    renderer: &Renderer,
    vars: &Vars,
    profile: &LoadedProfile,
) -> Result<ProxySetting, Error> {
    let Some(p) = &profile.profile.http.proxy else {
        return Ok(ProxySetting::Environment);
    };
    let src = &profile.source;
    let text = renderer.render_str(&p.value, vars, src.dir(), src.origin(p))?;
    if text == "none" {
        return Ok(ProxySetting::Off);
    }
    let url = super::parse_url(&text, src.place(p))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(InputError::at(
            src.place(p),
            format!("http.proxy: `{text}` is not an http:// or https:// proxy URL (or `none`)"),
        )
        .into());
    }
    Ok(ProxySetting::Url(url))
}

/// What `runner check` finds in a profile's transport settings without sending
/// anything: a certificate without its key, files that cannot be read or parsed, a
/// PKCS#12 file that does not open with a password written in the profile (one from
/// `env()` or `secret()` is checked when a run renders it: here only the container).
pub fn transport_problems(profile: &LoadedProfile) -> Vec<InputError> {
    let files = match named_files(profile, &TlsFlags::default()) {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    let result = match files {
        None => Ok(()),
        Some(Files::Pem(cert, key)) => read_identity(&cert, &key).map(|_| ()),
        Some(Files::Pkcs12(file, password)) => check_pkcs12(profile, &file, password),
    };
    result.err().into_iter().collect()
}

fn check_pkcs12(
    profile: &LoadedProfile,
    file: &Named,
    password: Option<&Spanned<String>>,
) -> Result<(), InputError> {
    let written = match password {
        None => Some(String::new()),
        Some(p) if p.value.contains("env(") || p.value.contains("secret(") => None,
        Some(p) => {
            let src = &profile.source;
            let renderer = Renderer::shared();
            renderer
                .render_str(&p.value, &Vars::new(), src.dir(), src.origin(p))
                .ok()
        }
    };
    match written {
        Some(pw) => open_pkcs12(file, Secret::new(pw), password_place(profile)).map(|_| ()),
        None => {
            let der = read(file, "the PKCS#12 file")?;
            pkcs12::looks_like_pkcs12(&der).map_err(|e| {
                InputError::at(
                    file.place.clone(),
                    format!(
                        "http.client_pkcs12 {}: {e}",
                        project::display_path(&file.path).display()
                    ),
                )
            })
        }
    }
}
