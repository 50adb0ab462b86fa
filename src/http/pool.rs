//! The fast path's connections: runner's own HTTP/1.1 pool over
//! `hyper::client::conn::http1`, kept per origin (the fast path is plain http only, so
//! host and port). It does what hyper-util's pooled client did for this path, with
//! less work per request: no hashed pool key, no Host header formatted per request,
//! no task or channel per checkout.
//!
//! A connection goes back to the pool only once its answer's body has been read to
//! its end and hyper says it can take another request ([`Lease::release`]); one
//! dropped mid-body is closed. An idle connection is checked with hyper's `ready()`
//! before use and dropped after 90 s idle (when next looked at). A request that hyper
//! hands back unsent from a reused connection (the server closed it while it was
//! idle) is sent again on another one; one that may have been sent is an error, for
//! `retry.rs` to judge.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{Builder, SendRequest};
use reqwest::header::{HOST, HeaderValue};
use tokio::net::{TcpSocket, TcpStream};

/// How long a connection may sit idle before it is closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

pub(super) type Body = Full<Bytes>;
type Sender = SendRequest<Body>;

/// The idle connections of a run, per origin. Cloning shares it.
#[derive(Clone, Default)]
pub(super) struct Pool {
    origins: Arc<Mutex<Vec<Origin>>>,
}

/// One origin's idle connections. Origins are only ever added, so a slot's index
/// names it for the rest of the run.
struct Origin {
    host: String,
    port: u16,
    /// The `Host` header every request to it carries unless it names its own.
    host_header: Option<HeaderValue>,
    idle: Vec<(Sender, Instant)>,
}

/// A connection in use: it goes back to the pool with [`Lease::release`], and is
/// closed if dropped.
pub(super) struct Lease {
    pool: Pool,
    slot: usize,
    sender: Sender,
}

/// Why the fast path got no answer, worded as hyper-util worded it.
#[derive(Debug)]
pub(super) enum WireError {
    /// No connection could be made (name lookup, socket or TCP connect): the request
    /// was not sent.
    Connect(std::io::Error),
    /// The exchange failed on a connection.
    Send(hyper::Error),
    /// hyper handed the request back unsent, on a new connection.
    Canceled(hyper::Error),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WireError::Connect(_) => "client error (Connect)",
            WireError::Send(_) => "client error (SendRequest)",
            WireError::Canceled(_) => "client error (Canceled)",
        })
    }
}

impl std::error::Error for WireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WireError::Connect(e) => Some(e),
            WireError::Send(e) | WireError::Canceled(e) => Some(e),
        }
    }
}

impl WireError {
    pub(super) fn is_connect(&self) -> bool {
        matches!(self, WireError::Connect(_))
    }
}

impl Pool {
    /// Sends `request` (origin-form URI) to `url`'s origin on an idle connection or a
    /// new one, up to the head of the answer; the lease holds the connection.
    pub(super) async fn send(
        &self,
        url: &url::Url,
        mut request: http::Request<Body>,
    ) -> Result<(http::Response<hyper::body::Incoming>, Lease), WireError> {
        let (slot, host_header, mut idle) = self.checkout(url);
        if let Some(host) = host_header {
            request.headers_mut().entry(HOST).or_insert(host);
        }
        loop {
            let (mut lease, reused) = match self.ready_idle(slot, idle.take()).await {
                Some(sender) => (self.lease(slot, sender), true),
                None => (self.lease(slot, connect(url).await?), false),
            };
            match lease.sender.try_send_request(request).await {
                Ok(response) => return Ok((response, lease)),
                Err(mut e) => match e.take_message() {
                    // Never written: the server had closed the idle connection.
                    Some(unsent) if reused => {
                        #[cfg(test)]
                        tests::RESENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        request = unsent;
                    }
                    Some(_) => return Err(WireError::Canceled(e.into_error())),
                    None => return Err(WireError::Send(e.into_error())),
                },
            }
        }
    }

    fn lease(&self, slot: usize, sender: Sender) -> Lease {
        Lease {
            pool: self.clone(),
            slot,
            sender,
        }
    }

    /// The origin's slot (added if new), its `Host` header, and its most recently
    /// used idle connection, if any.
    fn checkout(&self, url: &url::Url) -> (usize, Option<HeaderValue>, Option<Sender>) {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = match origins
            .iter()
            .position(|o| o.port == port && o.host == host)
        {
            Some(slot) => slot,
            None => {
                // As hyper-util wrote it: the port only when not the default.
                let value = match url.port() {
                    Some(port) => HeaderValue::try_from(format!("{host}:{port}")),
                    None => HeaderValue::try_from(host),
                };
                origins.push(Origin {
                    host: host.to_string(),
                    port,
                    host_header: value.ok(),
                    idle: Vec::new(),
                });
                origins.len() - 1
            }
        };
        let origin = &mut origins[slot];
        let idle = pop_idle(&mut origin.idle);
        (slot, origin.host_header.clone(), idle)
    }

    /// An idle connection of the slot that hyper says can take a request: `first`,
    /// else the next ones in the pool; `None` when none is left.
    async fn ready_idle(&self, slot: usize, first: Option<Sender>) -> Option<Sender> {
        let mut next = first;
        loop {
            let mut sender = match next.take() {
                Some(sender) => sender,
                None => {
                    let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
                    pop_idle(&mut origins.get_mut(slot)?.idle)?
                }
            };
            // Ready at once (it went back ready); an error says it was closed since.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }
}

/// The most recently used idle connection not yet timed out or closed; the ones
/// passed over are dropped (closed).
fn pop_idle(idle: &mut Vec<(Sender, Instant)>) -> Option<Sender> {
    while let Some((sender, since)) = idle.pop() {
        if sender.is_closed() {
            continue;
        }
        if since.elapsed() >= IDLE_TIMEOUT {
            // Every one below it has been idle longer.
            idle.clear();
            return None;
        }
        return Some(sender);
    }
    None
}

impl Lease {
    /// Puts the connection back for another request: call once the answer's body
    /// has been read to its end.
    pub(super) fn release(mut self) {
        if self.sender.is_ready() {
            self.put_back();
            return;
        }
        if self.sender.is_closed() {
            return;
        }
        // Still finishing the exchange (the request's body being written): back once
        // hyper says it can take another, as hyper-util did for every request. Never
        // made to wait on at checkout. Outside a runtime (one shutting down) it closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if self.sender.ready().await.is_ok() {
                    self.put_back();
                }
            });
        }
    }

    fn put_back(self) {
        let mut origins = self
            .pool
            .origins
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(origin) = origins.get_mut(self.slot) {
            origin.idle.push((self.sender, Instant::now()));
        }
    }
}

/// A new connection to `url`'s origin, its task spawned on the current runtime, ready
/// for a request.
async fn connect(url: &url::Url) -> Result<Sender, WireError> {
    let stream = open(url).await.map_err(WireError::Connect)?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = Builder::new()
        .handshake(io)
        .await
        .map_err(WireError::Send)?;
    let (failed, failure) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            let _ = failed.send(e);
        }
    });
    match sender.ready().await {
        Ok(()) => Ok(sender),
        // The connection's own error says more than "closed", when it has one.
        Err(e) if e.is_closed() => Err(WireError::Send(failure.await.unwrap_or(e))),
        Err(e) => Err(WireError::Send(e)),
    }
}

/// A TCP connection to `url`'s host: every address of its name tried (`localhost` may
/// name `::1` and `127.0.0.1` and a server listen on one only).
async fn open(url: &url::Url) -> std::io::Result<TcpStream> {
    use std::net::{IpAddr, SocketAddr};
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port)).await?.collect(),
        None => Vec::new(),
    };
    open_any(addrs).await
}

/// The first of `addrs` that takes the connection, as hyper-util's connector chose
/// it: the addresses of the first one's family in turn and, when the other family has
/// some, those too, from 300 ms on or as soon as the first family has failed
/// (RFC 8305's "happy eyeballs"); the last failure said if all fail.
async fn open_any(addrs: Vec<std::net::SocketAddr>) -> std::io::Result<TcpStream> {
    let v6_first = addrs.first().is_some_and(std::net::SocketAddr::is_ipv6);
    let (first, other): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| a.is_ipv6() == v6_first);
    if other.is_empty() {
        return open_in_turn(first).await;
    }
    let mut first = std::pin::pin!(open_in_turn(first));
    let mut other = std::pin::pin!(open_in_turn(other));
    tokio::select! {
        biased;
        r = &mut first => return match r {
            Ok(stream) => Ok(stream),
            Err(_) => other.await,
        },
        () = tokio::time::sleep(FALLBACK_DELAY) => {}
    }
    tokio::select! {
        biased;
        r = &mut first => match r {
            Ok(stream) => Ok(stream),
            Err(_) => other.await,
        },
        r = &mut other => match r {
            Ok(stream) => Ok(stream),
            Err(_) => first.await,
        },
    }
}

/// How long the first family of addresses has before the other is tried beside it.
const FALLBACK_DELAY: Duration = Duration::from_millis(300);

/// `addrs` one after the other; the first failure said if all fail.
async fn open_in_turn(addrs: Vec<std::net::SocketAddr>) -> std::io::Result<TcpStream> {
    let mut first_error = None;
    for addr in addrs {
        match open_one(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotConnected, "Network unreachable")
    }))
}

/// One address, with the socket settings reqwest gives its own: TCP keepalive (15 s,
/// every 15 s, 3 probes), a 30 s user timeout on Linux, no delay.
async fn open_one(addr: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(15));
    #[cfg(any(
        target_os = "android",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "ios",
        target_os = "linux",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "windows",
    ))]
    let keepalive = keepalive
        .with_interval(Duration::from_secs(15))
        .with_retries(3);
    // As hyper-util: a setting the system refuses is not a reason to fail.
    let _ = socket.set_tcp_keepalive(&keepalive);
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let _ = socket.set_tcp_user_timeout(Some(Duration::from_secs(30)));
    let stream = TcpSocket::from_std_stream(socket.into())
        .connect(addr)
        .await?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
