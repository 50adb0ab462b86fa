//! The session commands: `login`, `logout`, `token`, `profiles`.

use crate::auth::store::CachedTokens;
use crate::cli::GlobalArgs;
use crate::clock::{now_unix, rfc3339};
use crate::env::{Auth, Env};
use crate::error::Error;
use crate::output::Output;
use crate::project::Project;

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
    format!("{access}; {refresh}")
}

pub async fn login(global: &GlobalArgs) -> Result<u8, Error> {
    let env = Env::open(global).await?;
    let session = env.session()?;
    let tokens = session.login().await?;
    if !global.quiet {
        eprintln!(
            "logged in with profile `{}`: {}",
            env.profile_name,
            describe(&tokens)
        );
    }
    Ok(0)
}

pub async fn logout(global: &GlobalArgs) -> Result<u8, Error> {
    let env = Env::open(global).await?;
    let had = env.session()?.logout().await?;
    if !global.quiet {
        if had {
            eprintln!(
                "logged out of profile `{}`: cached tokens removed",
                env.profile_name
            );
        } else {
            eprintln!("profile `{}` had no cached tokens", env.profile_name);
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
        Auth::Static { .. } | Auth::None => {
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
            Err(e) => {
                let first = e.render();
                let first = first
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                format!("invalid: {first}")
            }
        };
        write_line(&mut out, &format!("{name:width$}  {line}"))?;
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
    if loaded.profile.sandbox {
        return Ok(format!("{kind:26} sandbox (tokens in memory only)"));
    }
    if kind == "none" || kind == "bearer" {
        return Ok(kind.to_string());
    }
    let env = Env::from_profile(project.clone(), name.to_string(), loaded, None).await?;
    let state = match env.session()?.cached()? {
        Some(t) => describe(&t),
        None => "no session (run `runner login`)".to_string(),
    };
    Ok(format!("{kind:26} {state}"))
}
