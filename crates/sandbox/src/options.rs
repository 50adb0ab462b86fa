//! How a sandbox is started.

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
    /// With `tls`: client certificates are required, signed by one of these PEM
    /// authorities (mutual TLS).
    pub client_ca: Option<String>,
    /// DPoP proofs must carry the server's nonce (`DPoP-Nonce`, RFC 9449 §8 and §9).
    pub dpop_nonce: bool,
    /// The token endpoint refuses a request without a DPoP proof (`invalid_dpop_proof`,
    /// as Okta answers for an application that requires DPoP).
    pub dpop_required: bool,
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
            client_ca: None,
            dpop_nonce: false,
            dpop_required: false,
        }
    }
}
