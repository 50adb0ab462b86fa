//! The session commands: `login`, `logout`, `token`, `profiles`.

use crate::auth::AuthError;
use crate::auth::store::CachedTokens;
use crate::cli::{GlobalArgs, LoginArgs, LogoutArgs};
use crate::clock::{now_unix, rfc3339};
use crate::env::{Auth, Env};
use crate::error::Error;
use crate::project::Project;
use crate::run::output::Output;

fn write_line(out: &mut Output, text: &str) -> Result<(), Error> {
    match out.line(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

fn describe(t: &CachedTokens) -> String {
    let now = now_unix();
    let access = match t.expires_at {
        Some(exp) if exp > now => format!("access token valid until {}", rfc3339(exp)),
        Some(exp) => format!("access token expired at {}", rfc3339(exp)),
        None => "access token of unknown lifetime".to_string(),
    };
    let refresh = match (&t.refresh_token, t.refresh_obtained_at) {
        (Some(_), Some(at)) => format!("refresh token obtained at {}", rfc3339(at)),
        (Some(_), None) => "refresh token held".to_string(),
        (None, _) => "no refresh token".to_string(),
    };
    match &t.subject {
        Some(who) => format!("logged in as {who}; {access}; {refresh}"),
        None => format!("{access}; {refresh}"),
    }
}

pub async fn login(global: &GlobalArgs, args: &LoginArgs) -> Result<u8, Error> {
    let env = Env::open(global).await?;
    let session = env.session()?;
    let tokens = session.login(args.no_browser).await?;
    if !global.quiet {
        eprintln!(
            "logged in with profile `{}`: {}",
            env.profile_name,
            describe(&tokens)
        );
    }
    Ok(0)
}

/// `runner logout`: revokes, then forgets; says what it did. A failed revocation
/// still forgets, and is exit 3.
pub async fn logout(global: &GlobalArgs, args: &LogoutArgs) -> Result<u8, Error> {
    let env = Env::open(global).await?;
    let name = &env.profile_name;
    if let Some(file) = &env.cookie_file {
        let had = file
            .remove()
            .await
            .map_err(|e| Error::io("cannot forget the cookies", std::io::Error::other(e)))?;
        if !global.quiet {
            match had {
                true => eprintln!("profile `{name}`: saved cookies forgotten"),
                false => eprintln!("profile `{name}` had no saved cookies"),
            }
        }
        if !matches!(env.auth, Auth::OAuth { .. }) {
            return Ok(0);
        }
    }
    let report = env.session()?.logout(!args.local).await?;
    if !report.had {
        if !global.quiet {
            eprintln!("profile `{name}` had no cached tokens");
        }
        return Ok(0);
    }
    let revoked = match report.revoked.as_slice() {
        [] => None,
        kinds => Some(
            kinds
                .iter()
                .map(|k| k.replace('_', " "))
                .collect::<Vec<_>>()
                .join(" and "),
        ),
    };
    let at = report.revocation_url.as_deref().unwrap_or("");
    if let Some(e) = report.failure {
        let at = if at.is_empty() {
            String::new()
        } else {
            format!(" at {at}")
        };
        let done = revoked
            .map(|r| format!(" (revoked the {r} first)"))
            .unwrap_or_default();
        return Err(AuthError::Revocation(format!(
            "revoking the tokens of profile `{name}`{at} failed{done}: {e}; they are forgotten here all the same"
        ))
        .into());
    }
    if !global.quiet {
        match (args.local, revoked) {
            (true, _) => eprintln!(
                "logged out of profile `{name}`: cached tokens forgotten (not revoked: --local)"
            ),
            (false, Some(r)) => eprintln!(
                "logged out of profile `{name}`: revoked the {r} at {at}, then forgot them"
            ),
            (false, None) => eprintln!(
                "logged out of profile `{name}`: cached tokens forgotten (not revoked: no revocation endpoint, from auth.revocation_url or auth.issuer)"
            ),
        }
    }
    Ok(0)
}

pub async fn token(global: &GlobalArgs) -> Result<u8, Error> {
    let env = Env::open(global).await?;
    let mut out = Output::new();
    match &env.auth {
        Auth::OAuth { session, .. } => {
            let t = session.access_token(None).await?;
            write_line(&mut out, t.expose())?;
        }
        Auth::Static { .. } | Auth::None | Auth::AwsSigv4 { .. } => {
            return Err(crate::error::InputError::usage(format!(
                "profile `{}` has no OAuth2 session to print a token from",
                env.profile_name
            ))
            .into());
        }
    }
    Ok(0)
}

pub async fn profiles(global: &GlobalArgs) -> Result<u8, Error> {
    let project = Project::discover(global.root.as_deref())?;
    let mut out = Output::new();
    let names = project.profile_names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in names {
        let line = match profile_line(&project, &name).await {
            Ok(state) => state,
            Err(e) => format!("invalid: {}", e.headline()),
        };
        // A listing, not response data: masked like every message (an error about a
        // profile may quote a value it rendered).
        let line = crate::secret::redact(&format!("{name:width$}  {line}"));
        write_line(&mut out, &line)?;
    }
    Ok(0)
}

async fn profile_line(project: &Project, name: &str) -> Result<String, Error> {
    let loaded = project.load_profile(name).map_err(|mut l| match l.len() {
        1 => Error::Input(l.remove(0)),
        _ => Error::Inputs(l),
    })?;
    let kind = loaded
        .profile
        .auth
        .as_ref()
        .map(|a| a.value.kind_name())
        .unwrap_or("none");
    use crate::project::model::profile::Cookies;
    let cookies = loaded.profile.http.cookies;
    if cookies == Cookies::Persist && !loaded.profile.sandbox {
        let env = Env::from_profile(
            project.clone(),
            name.to_string(),
            loaded,
            &Default::default(),
        )
        .await?;
        let file = env
            .cookie_file
            .as_ref()
            .map(|f| f.path().display().to_string());
        let session = match &env.auth {
            Auth::OAuth { session, .. } => {
                let state = match session.cached()? {
                    Some(t) => describe(&t),
                    None => "no session (run `runner login`)".to_string(),
                };
                format!("{state}{}; ", login_needs(&env.profile))
            }
            _ => String::new(),
        };
        return Ok(format!(
            "{kind:26} {session}cookies in {}",
            file.unwrap_or_default()
        ));
    }
    if cookies == Cookies::Run {
        return Ok(format!("{kind:26} cookies for each run, in memory"));
    }
    if loaded.profile.sandbox {
        return Ok(format!("{kind:26} sandbox (tokens in memory only)"));
    }
    if !loaded
        .profile
        .auth
        .as_ref()
        .is_some_and(|a| a.value.kind.is_oauth2())
    {
        return Ok(kind.to_string());
    }
    let env = Env::from_profile(
        project.clone(),
        name.to_string(),
        loaded,
        &Default::default(),
    )
    .await?;
    let session = env.session()?;
    let state = match session.cached()? {
        Some(t) => describe(&t),
        None => "no session (run `runner login`)".to_string(),
    };
    let kept = session.location().unwrap_or_default();
    Ok(format!(
        "{kind:26} {state}; kept in {kept}{}",
        login_needs(&env.profile)
    ))
}

/// `; needs NAME to log in`: the unset variables of the values only a token request
/// renders (`auth.client_secret`, `auth.password`); empty when there are none.
fn login_needs(profile: &crate::project::LoadedProfile) -> String {
    let Some(auth) = &profile.profile.auth else {
        return String::new();
    };
    let mut names: Vec<String> = Vec::new();
    for v in [&auth.value.client_secret, &auth.value.password]
        .into_iter()
        .flatten()
    {
        for n in crate::project::template::unset_env_names(&v.value) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    match names.is_empty() {
        true => String::new(),
        false => format!("; needs {} to log in", names.join(", ")),
    }
}
