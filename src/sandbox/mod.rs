//! Temporary stand-in: the real sandbox lands from the sandbox branch.
use std::net::SocketAddr;

#[derive(Clone, Debug)]
pub struct SandboxOptions {
    pub port: u16,
    pub access_ttl: u64,
    pub refresh_ttl: u64,
    pub assets: usize,
    pub latency_ms: u64,
    pub fail_rate: f64,
    pub rate_limit: Option<u32>,
}
impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions { port: 0, access_ttl: 7200, refresh_ttl: 1209600, assets: 250, latency_ms: 0, fail_rate: 0.0, rate_limit: None }
    }
}
pub struct Sandbox { addr: SocketAddr }
impl Sandbox {
    pub async fn start(_opts: SandboxOptions) -> std::io::Result<Sandbox> { Err(std::io::Error::other("stub")) }
    pub fn addr(&self) -> SocketAddr { self.addr }
    pub fn url(&self) -> String { format!("http://{}", self.addr) }
    pub async fn shutdown(self) {}
}
pub async fn serve_forever(_opts: SandboxOptions) -> std::io::Result<()> { Ok(()) }
