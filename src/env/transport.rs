//! The transport settings of a profile made live: the client certificate (mutual TLS,
//! `http.client_cert`/`http.client_key` or `--cert`/`--key`) and the proxy
//! (`http.proxy`). Both apply to the API's client and to every OAuth2 endpoint's.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::error::{Error, InputError, Place};
use crate::http::{ClientIdentity, ProxySetting};
use crate::project::limits;
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

/// The certificate and key files: `--cert`/`--key`, else the profile's, relative to
/// its folder. A certificate without its key (or a key without its certificate) is a
/// problem at the key that is there.
fn named_files(
    profile: &LoadedProfile,
    flags: &TlsFlags,
) -> Result<Option<(Named, Named)>, InputError> {
    if let (Some(cert), Some(key)) = (&flags.cert, &flags.key) {
        let named = |p: &PathBuf| Named {
            path: p.clone(),
            place: Place::file(project::display_path(p)),
        };
        return Ok(Some((named(cert), named(key))));
    }
    let src = &profile.source;
    let http = &profile.profile.http;
    let named = |s: &crate::project::model::Spanned<String>| Named {
        path: src.dir().join(&s.value),
        place: src.place(s),
    };
    match (&http.client_cert, &http.client_key) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => Ok(Some((named(c), named(k)))),
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

/// The client certificate and key, read and checked; the key's text is a secret.
pub(super) fn client_identity(
    profile: &LoadedProfile,
    flags: &TlsFlags,
) -> Result<Option<ClientIdentity>, Error> {
    let Some((cert, key)) = named_files(profile, flags)? else {
        return Ok(None);
    };
    Ok(Some(read_identity(&cert, &key)?))
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
        cert_file: cert.path.clone(),
        key_file: key.path.clone(),
    };
    identity.check().map_err(|(is_key, why)| {
        let place = if is_key { &key.place } else { &cert.place };
        InputError::at(place.clone(), why)
    })?;
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
/// anything: a certificate without its key, files that cannot be read or parsed.
pub fn transport_problems(profile: &LoadedProfile) -> Vec<InputError> {
    match named_files(profile, &TlsFlags::default()) {
        Ok(None) => Vec::new(),
        Ok(Some((cert, key))) => read_identity(&cert, &key).err().into_iter().collect(),
        Err(e) => vec![e],
    }
}
