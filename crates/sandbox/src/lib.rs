//! The Ermeo-compatible sandbox server: an OAuth2 token endpoint as FOSOAuthServerBundle
//! answers it, and an in-memory `/api/v1` (assets, users, reports, documents) behind
//! bearer tokens, with faults for tests. Besides Ermeo's grants it speaks the
//! authorization code grant with PKCE, the device grant, revocation and RFC 8414
//! metadata, so the interactive logins can be tried and tested without an account.
//! runner serves it (`runner sandbox`, profiles with `sandbox: true`) and its tests run
//! against it; this crate knows nothing of runner.

mod accounts;
mod api;
mod authorize;
mod big;
mod clock;
mod codes;
mod collection;
mod control;
mod device;
mod devices;
mod error;
mod faults;
mod metadata;
mod oauth;
mod openapi;
mod page;
mod revoke;
mod seed;
mod state;
mod tls;
mod tokens;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::clock::Clock;
use self::collection::Collection;
use self::error::ApiError;
use self::state::{AppState, read};

pub use self::accounts::{CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, USERNAME};

/// How long `shutdown` waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the sandbox is started: port, token lifetimes, data size and faults.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Access-token lifetime in seconds.
    pub access_ttl: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl: u64,
    /// How many assets are seeded.
    pub assets: usize,
    /// Added to every `/api/v1` response.
    pub latency_ms: u64,
    /// Fraction of `/api/v1` requests answered 503, from 0.0 to 1.0.
    pub fail_rate: f64,
    /// `/api/v1` requests allowed per second; over it, 429 with `Retry-After: 1`.
    pub rate_limit: Option<u32>,
    /// The first this many `/api/v1` requests are answered `fail_status`, whatever
    /// they ask: a fault tests can count on (`POST /_sandbox/fail` arms it again).
    pub fail_first: u64,
    /// The status of those failures: 429, 500, 502, 503 or 504 (429 with
    /// `Retry-After: 0`).
    pub fail_status: u16,
    /// The server's clock stands still (at the start time) until
    /// `POST /_sandbox/clock?advance=SECONDS` moves it: token expiry without sleeping.
    pub manual_clock: bool,
    /// Serve HTTPS with a certificate from a throwaway authority (see `ca_pem`).
    pub tls: bool,
    /// Approve every authorization request at once (no login form) and every device
    /// code at its first poll.
    pub auto_approve: bool,
    /// Device-code lifetime in seconds.
    pub device_ttl: u64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            access_ttl: 7200,
            refresh_ttl: 14 * 24 * 3600,
            assets: 250,
            latency_ms: 0,
            fail_rate: 0.0,
            rate_limit: None,
            fail_first: 0,
            fail_status: 503,
            manual_clock: false,
            tls: false,
            auto_approve: false,
            device_ttl: 600,
        }
    }
}

/// A running sandbox on 127.0.0.1. Dropping it stops the server too, without waiting.
pub struct Sandbox {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    ca_pem: Option<String>,
}

impl Sandbox {
    /// Binds 127.0.0.1:port and serves in a spawned tokio task.
    pub async fn start(opts: SandboxOptions) -> std::io::Result<Sandbox> {
        let clock = if opts.manual_clock {
            Clock::manual(Clock::System.now_ms())
        } else {
            Clock::System
        };
        Sandbox::start_with_clock(opts, clock).await
    }

    async fn start_with_clock(opts: SandboxOptions, clock: Clock) -> std::io::Result<Sandbox> {
        let tls = if opts.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(opts, clock, root_url(addr, tls.is_some()));
        let app = router(state);
        let (shutdown, stop) = oneshot::channel::<()>();
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let task = match tls {
            Some(material) => {
                tokio::spawn(async move { tls::serve(listener, app, &material, stop).await })
            }
            None => tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        // A dropped sender stops the server as a sent signal does.
                        let _ = stop.await;
                    })
                    .await
            }),
        };
        tracing::debug!(%addr, "sandbox listening");
        Ok(Sandbox {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
            ca_pem,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), without a trailing slash.
    pub fn url(&self) -> String {
        root_url(self.addr, self.ca_pem.is_some())
    }

    /// With TLS, the PEM of the authority that signed the server's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Stops accepting connections and waits (a few seconds at most) for open ones.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

/// The root URL of a sandbox on `addr`: what it prints, and its OAuth2 issuer.
fn root_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Serves until Ctrl-C or SIGTERM. The root URL goes alone on stdout's first line;
/// a short note for people goes to stderr.
/// With TLS, the authority's certificate is written to `ca_out` first.
pub async fn serve_forever(
    opts: SandboxOptions,
    ca_out: Option<&std::path::Path>,
) -> std::io::Result<()> {
    let assets = opts.assets;
    let sandbox = Sandbox::start(opts).await?;
    if let (Some(path), Some(pem)) = (ca_out, sandbox.ca_pem()) {
        std::fs::write(path, pem)?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", sandbox.url())?;
        stdout.flush()?;
    }
    let url = sandbox.url();
    eprintln!(
        "sandbox: serving {assets} assets at {url}/api/v1, tokens at {url}/oauth/v2/token \
         (client {CLIENT_ID}/{CLIENT_SECRET}, user {USERNAME}/{PASSWORD}); Ctrl-C stops it\n\
         sandbox: authorization code with PKCE and the device grant for clients {CLIENT_ID} \
         and {PUBLIC_CLIENT_ID} (no secret); metadata at {url}/.well-known/oauth-authorization-server"
    );
    wait_for_stop_signal().await;
    sandbox.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Every route. `/api/v1` sits behind the bearer check and, outside it, the fault and
/// counting layer; the OAuth2 endpoints and `/_sandbox` have neither.
fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for collection in &state.collections {
        api = collection_routes(api, collection);
    }
    let path = read(&state.assets).spec().path;
    api = api
        .route(read(&state.reports).spec().path, post(api::create_report))
        .route(
            read(&state.documents).spec().path,
            // Uploads of any size stream through: their bytes are counted, not kept.
            post(api::upload_document).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(path, post(api::create_asset))
        .route(&format!("{path}/search"), post(api::search_assets))
        .route(
            &format!("{path}/{{id}}"),
            axum::routing::put(api::update_asset)
                .patch(api::update_asset)
                .delete(api::delete_asset),
        )
        .layer(from_fn_with_state(state.clone(), oauth::require_bearer))
        .layer(from_fn_with_state(state.clone(), faults::faults));
    Router::new()
        .route("/oauth/v2/token", post(oauth::token))
        .route(
            "/oauth/v2/auth",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/v2/device", post(device::authorize))
        .route(device::VERIFY_PATH, get(device::show).post(device::submit))
        .route("/oauth/v2/revoke", post(revoke::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/openid-configuration", get(metadata::metadata))
        .route("/_sandbox/device/approve", post(control::approve_device))
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/revoke", post(control::revoke))
        .route("/_sandbox/fail", post(control::fail))
        .route("/_sandbox/clock", post(control::clock))
        .route("/_sandbox/big", get(big::big))
        .route("/_sandbox/redirect", any(control::redirect))
        .route("/_sandbox/bytes", get(control::bytes))
        .route(
            "/_sandbox/sink",
            any(control::sink).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/openapi.json", get(openapi::document))
        .route("/_sandbox/echo", any(control::echo))
        .route("/_sandbox/echo/{*rest}", any(control::echo))
        .merge(api)
        .fallback(|| async { ApiError::not_found("No route for this path").into_response() })
        .with_state(state)
}

/// `GET {path}` and `GET {path}/{id}` for one collection.
fn collection_routes(
    api: Router<AppState>,
    collection: &Arc<RwLock<Collection>>,
) -> Router<AppState> {
    let path = read(collection).spec().path;
    let for_list = Arc::clone(collection);
    let for_get = Arc::clone(collection);
    api.route(
        path,
        get(move |RawQuery(query): RawQuery| {
            std::future::ready(api::list(&for_list, query.as_deref()))
        }),
    )
    .route(
        &format!("{path}/{{id}}"),
        get(move |Path(id): Path<String>| std::future::ready(api::get_one(&for_get, &id))),
    )
}
