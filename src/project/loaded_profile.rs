//! Loading a profile: its YAML parsed, then every template, number and header in it
//! checked, so that `runner check` finds what a run would trip on.

use std::path::Path;

use super::validate::{AuthNumbers, HttpNumbers, header_problems};
use super::{SourceFile, parse_yaml};
use crate::error::InputError;
use crate::http::header;
use crate::project::model::Spanned;
use crate::project::model::profile::{ApiKeyIn, AuthType, Profile};
use crate::project::template::Renderer;

/// A parsed profile with its source.
#[derive(Debug)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub source: SourceFile,
    /// The numbers of `http:`, range-checked.
    pub http: HttpNumbers,
    /// The numbers of `auth:`, range-checked.
    pub auth: AuthNumbers,
}

/// Loads and validates one profile file.
pub fn load_profile_file(path: &Path) -> Result<LoadedProfile, Vec<InputError>> {
    parse_profile(SourceFile::read(path).map_err(|e| vec![e])?)
}

/// Parses and validates a profile's text.
pub fn parse_profile(source: SourceFile) -> Result<LoadedProfile, Vec<InputError>> {
    let profile: Profile = parse_yaml(&source).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let renderer = Renderer::shared();
    let mut check = |s: &Spanned<String>| {
        if let Err(e) = renderer.check_str(&s.value, source.origin(s)) {
            problems.push(InputError::at(e.place, e.message));
        }
    };
    let h = &profile.http;
    for s in [&profile.base_url, &h.client_pkcs12_password]
        .into_iter()
        .flatten()
        .chain(h.headers.values())
    {
        check(s);
    }
    if let Some(auth) = &profile.auth {
        let a = &auth.value;
        for s in [
            &a.token_url,
            &a.issuer,
            &a.authorization_url,
            &a.device_authorization_url,
            &a.revocation_url,
            &a.client_id,
            &a.client_secret,
            &a.username,
            &a.password,
            &a.token,
            &a.key,
            &a.private_key,
            &a.key_id,
            &a.assertion_audience,
            &a.subject,
            &a.audience,
            &a.key_file,
            &a.subject_token,
            &a.subject_token_type,
            &a.resource,
            &a.requested_token_type,
            &a.actor_token,
            &a.actor_token_type,
        ]
        .into_iter()
        .flatten()
        .chain(&a.origins)
        {
            check(s);
        }
        for p in a.shape_problems(profile.sandbox) {
            problems.push(InputError::at(source.place(auth), p));
        }
    }
    for v in profile.vars.values() {
        if let Err(e) = renderer.check_value(&v.value, source.origin(v)) {
            problems.push(InputError::at(e.place, e.message));
        }
    }
    let http = HttpNumbers::check(h, &source, &mut problems);
    let auth_numbers = profile
        .auth
        .as_ref()
        .map(|a| AuthNumbers::check(&a.value, &source, &mut problems))
        .unwrap_or_default();
    header_problems(&source, &h.headers, &mut problems);
    auth_header_problems(&profile, &source, &mut problems);
    if problems.is_empty() {
        Ok(LoadedProfile {
            profile,
            source,
            http,
            auth: auth_numbers,
        })
    } else {
        Err(problems)
    }
}

/// A problem when the auth header (`header: scheme token`), or an `api_key`'s header
/// name, cannot be sent as it is. The token itself is checked once known.
fn auth_header_problems(profile: &Profile, source: &SourceFile, problems: &mut Vec<InputError>) {
    let Some(auth) = &profile.auth else {
        return;
    };
    let a = &auth.value;
    let name = a.header.as_deref().unwrap_or("Authorization");
    if let Some(p) = header::problem(name, a.scheme.as_deref().unwrap_or("")) {
        problems.push(InputError::at(source.place(auth), format!("auth: {p}")));
    }
    if a.kind == AuthType::ApiKey
        && a.key_in != Some(ApiKeyIn::Query)
        && let Some(key_name) = &a.name
        && let Some(p) = header::name_problem(key_name)
    {
        problems.push(InputError::at(
            source.place(auth),
            format!("auth.name: {p}"),
        ));
    }
}
