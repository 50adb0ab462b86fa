//! The Ermeo-compatible sandbox server: an OAuth2 token endpoint as FOSOAuthServerBundle
//! answers it, and an in-memory `/api/v1` (assets, users, reports, documents) behind
//! bearer tokens, with faults for tests. Besides Ermeo's grants it speaks the
//! authorization code grant with PKCE, the device grant, revocation and RFC 8414
//! metadata, so the interactive logins can be tried and tested without an account.
//! runner serves it (`runner sandbox`, profiles with `sandbox: true`) and its tests run
//! against it; this crate knows nothing of runner.
//!
//! The layers point one way: `routes` (the handlers) read and write `state` (the data:
//! stores, collections and counters, with `state::seed` building the records); below
//! both are `accounts`, `clock` and `error`. Nothing in `state` knows a route.

mod accounts;
mod clock;
mod error;
mod options;
mod routes;
mod signed;
mod state;
mod tls;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::state::AppState;

pub use self::accounts::{CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, USERNAME};
pub use self::clock::Clock;
pub use self::options::SandboxOptions;
pub use self::signed::{DEMO_KEY_ID, DEMO_PRIVATE_KEY};

/// How long `shutdown` waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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

    /// As [`Sandbox::start`], on `clock`: tests move a manual clock to cross expiries
    /// without sleeping.
    pub async fn start_with_clock(opts: SandboxOptions, clock: Clock) -> std::io::Result<Sandbox> {
        let tls = if opts.tls {
            Some(tls::generate(opts.client_ca.as_deref())?)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(opts, clock, root_url(addr, tls.is_some()));
        let app = routes::router(state);
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
