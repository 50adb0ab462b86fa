//! `runner serve` (SPEC §10): the profile's session as a local gateway. A request in,
//! checked (access key, origin, method, no userinfo), its client credentials dropped,
//! the profile's credential and `http.headers` added; the answer streamed back unchanged. Bodies are never held whole.
//! Here: starting the gateway on a TCP port or a Unix socket, and stopping it.

mod access;
mod forward;
mod headers;
mod listener;
mod refusal;

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tokio::sync::Semaphore;

use access::{new_key, open_log, shown_target};
use headers::{ProfileHeader, profile_headers};
use listener::Limited;

use crate::auth::{AuthHeader, Session};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::env::{Auth, Env};
use crate::error::{Error, InputError};
use crate::http::CredentialPolicy;
use crate::secret::Secret;

/// How long requests in flight may finish after SIGINT or SIGTERM.
pub const GRACE: Duration = Duration::from_secs(10);
/// The header a client presents the access key in.
pub const KEY_HEADER: &str = "x-runner-key";
/// The query parameter a client may present the access key in instead.
pub const KEY_PARAM: &str = "runner_key";

/// The credentials the gateway adds to every forwarded request.
enum Credential {
    None,
    Static(HeaderName, HeaderValue),
    OAuth {
        session: Arc<Session>,
        header: AuthHeader,
        name: HeaderName,
    },
}

/// Everything a request needs, shared by all connections.
struct Gateway {
    profile: String,
    base: url::Url,
    client: reqwest::Client,
    policy: CredentialPolicy,
    credential: Credential,
    /// The profile's `http.headers`, added to every forwarded request.
    headers: Vec<ProfileHeader>,
    key: Option<Secret>,
    /// `Host` values (lower case) that name the gateway itself.
    hosts: Vec<String>,
    timeout: Duration,
    access_log: Option<Mutex<std::fs::File>>,
}

/// `runner serve`.
pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<u8, Error> {
    if args.no_key && args.unix.is_none() {
        return Err(InputError::usage(
            "--no-key needs --unix: on a TCP port any local user could use the session",
        )
        .into());
    }
    let env = Env::open(global).await?;
    let gateway = gateway(&env, args).await?;
    let limit = Arc::new(Semaphore::new(usize::from(args.max_connections)));
    match &args.unix {
        Some(path) => serve_unix(path, gateway, limit, global.quiet).await,
        None => serve_tcp(args.port, gateway, limit, global.quiet).await,
    }
}

/// The gateway for `env`'s profile, before it knows the names it listens by.
async fn gateway(env: &Env, args: &ServeArgs) -> Result<Gateway, Error> {
    let Some(base) = env.base_url.clone() else {
        return Err(InputError::usage(format!(
            "profile `{}` has no base_url: runner serve forwards to it",
            env.profile_name
        ))
        .into());
    };
    let headers = profile_headers(env)?;
    let credential = credential(env).await?;
    let key = (!args.no_key).then(new_key);
    let access_log = match &args.access_log {
        Some(path) => Some(Mutex::new(open_log(path)?)),
        None => None,
    };
    Ok(Gateway {
        profile: env.profile_name.clone(),
        base,
        client: env.client.reqwest().clone(),
        policy: env.client.credentials().clone(),
        credential,
        headers,
        key,
        hosts: Vec::new(),
        timeout: env.timeout,
        access_log,
    })
}

/// Serves on the Unix socket `path` (`--unix`), made owner-only, removed at the end.
async fn serve_unix(
    path: &Path,
    mut gateway: Gateway,
    limit: Arc<Semaphore>,
    quiet: bool,
) -> Result<u8, Error> {
    if path.exists() {
        return Err(InputError::usage(format!(
            "{} exists: remove it if no gateway listens there",
            path.display()
        ))
        .into());
    }
    let listener = tokio::net::UnixListener::bind(path)
        .map_err(|e| Error::io(format!("cannot listen on {}", path.display()), e))?;
    set_owner_only(path)?;
    gateway.hosts = vec!["localhost".to_string()];
    announce(&format!("unix:{}", path.display()), &gateway, quiet)?;
    let out = run(
        Limited {
            inner: listener,
            limit,
        },
        gateway,
        quiet,
    )
    .await;
    let _ = std::fs::remove_file(path);
    out
}

/// Serves on `127.0.0.1:port` (0: a free port).
async fn serve_tcp(
    port: u16,
    mut gateway: Gateway,
    limit: Arc<Semaphore>,
    quiet: bool,
) -> Result<u8, Error> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Error::io(format!("cannot listen on 127.0.0.1:{port}"), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the listening address", e))?
        .port();
    gateway.hosts = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .map(|h| format!("{h}:{port}"))
        .collect();
    announce(&format!("http://127.0.0.1:{port}"), &gateway, quiet)?;
    // Headers and body go out as separate writes: without this, Nagle may
    // hold the second until the client acknowledges the first.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    run(
        Limited {
            inner: listener,
            limit,
        },
        gateway,
        quiet,
    )
    .await
}

/// The profile's credentials; an OAuth2 session gets its token now, so that a
/// missing login is said at start rather than to the first client.
async fn credential(env: &Env) -> Result<Credential, Error> {
    Ok(match &env.auth {
        Auth::None => Credential::None,
        Auth::Static {
            in_query: true,
            header,
            ..
        } => {
            return Err(InputError::usage(format!(
                "runner serve cannot add an api_key sent in the query (`{header}`) yet; use `in: header` if the API takes it"
            ))
            .into());
        }
        Auth::Static { header, value, .. } => {
            let name = header_name(header)?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                InputError::usage(format!("the auth header `{header}` has an invalid value"))
            })?;
            value.set_sensitive(true);
            Credential::Static(name, value)
        }
        Auth::AwsSigv4 { .. } => {
            return Err(InputError::usage(
                "runner serve cannot sign AWS SigV4 requests yet; use runner exec",
            )
            .into());
        }
        Auth::OAuth { session, header } => {
            session.token(None).await?;
            Credential::OAuth {
                session: Arc::clone(session),
                name: header_name(&header.name)?,
                header: header.clone(),
            }
        }
    })
}

fn header_name(name: &str) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        InputError::usage(format!("`{name}` is not a valid header name (auth.header)")).into()
    })
}

fn set_owner_only(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("cannot make {} 0600", path.display()), e))?;
    }
    Ok(())
}

/// The address alone on stdout's first line, for scripts; the rest on stderr.
fn announce(address: &str, gw: &Gateway, quiet: bool) -> Result<(), Error> {
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{address}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("cannot write to stdout", e))?;
    }
    if !quiet {
        eprintln!(
            "serve: {address} forwards to {} with the credentials of profile `{}`; Ctrl-C stops it",
            gw.base, gw.profile
        );
    }
    // Even with -q: without the key the gateway is no use.
    match &gw.key {
        // Written raw, past the masking point (the key is a registered secret): this
        // is the one place the key is shown.
        Some(key) => {
            let line = format!(
                "serve: access key (send it as the {KEY_HEADER} header or ?{KEY_PARAM}=): {}\n",
                key.expose()
            );
            std::io::stderr()
                .lock()
                .write_all(line.as_bytes())
                .map_err(|e| Error::io("cannot write to stderr", e))?;
        }
        None => eprintln!("serve: no access key (--no-key): the socket's permissions guard it"),
    }
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then lets the requests in flight finish for up to
/// [`GRACE`].
async fn run<L>(listener: Limited<L>, gw: Gateway, quiet: bool) -> Result<u8, Error>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::new(gw));
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&stopping);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop_signal().await;
        if !quiet {
            eprintln!(
                "serve: stopping; requests in flight may finish (up to {} s)",
                GRACE.as_secs()
            );
        }
        notify.notify_one();
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        out = &mut server => {
            out.map_err(|e| Error::io("the gateway stopped", e))?;
        }
        () = async { stopping.notified().await; tokio::time::sleep(GRACE).await } => {
            eprintln!("serve: requests still in flight after {} s were cut", GRACE.as_secs());
        }
    }
    Ok(0)
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// One request: forwarded, or refused; logged either way.
async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let shown = shown_target(req.uri());
    let response = match gw.forward(req).await {
        Ok(r) => r,
        Err(refusal) => {
            tracing::debug!("refused: {}", refusal.message);
            refusal.response()
        }
    };
    gw.log(&method, &shown, response.status(), started.elapsed());
    response
}
