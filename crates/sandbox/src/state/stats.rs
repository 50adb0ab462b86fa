//! The counters `GET /_sandbox/stats` reports, and the fault plan's own state: the
//! failures still to answer and the rate limit's window.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::accounts::GRANTS;

/// What `GET /_sandbox/stats` reports.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stats {
    /// Attempts per grant type, successful or not.
    pub token_requests: BTreeMap<String, u64>,
    pub token_errors: u64,
    /// Token requests per Content-Type (without parameters; `none` when absent).
    pub token_content_types: BTreeMap<String, u64>,
    /// The Content-Type of the latest token request of each grant type.
    pub last_token_content_type: BTreeMap<String, String>,
    /// Token requests whose client authenticated, by where its credentials were:
    /// `basic` (the Authorization header) or `body`.
    pub token_client_auth: BTreeMap<String, u64>,
    /// Refresh tokens presented again after they were spent.
    pub refresh_reuse: u64,
    /// Authorization codes handed out by `/oauth/v2/auth`.
    pub authorization_codes_issued: u64,
    /// Authorization codes presented again after they were spent.
    pub code_reuse: u64,
    /// Device codes handed out by `/oauth/v2/device`.
    pub device_codes_issued: u64,
    /// `/oauth/v2/revoke` requests answered 200, known tokens or not.
    pub revocations: u64,
    /// Tokens those requests found and revoked, by kind (`access_token`, `refresh_token`).
    pub revoked_tokens: BTreeMap<String, u64>,
    pub assets_created: u64,
    pub assets_updated: u64,
    pub assets_deleted: u64,
    pub reports_created: u64,
    pub documents_uploaded: u64,
    /// `/api/v1` requests per "METHOD /route/{pattern}", faulted ones included.
    pub requests: BTreeMap<String, u64>,
    /// `/api/v1` responses with status 401.
    pub status_401: u64,
    /// Token exchanges answered, per `audience` (or `resource`; `(none)`).
    pub token_exchanges: BTreeMap<String, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            token_requests: GRANTS
                .iter()
                .map(|(_, key)| ((*key).to_owned(), 0))
                .collect(),
            token_errors: 0,
            token_content_types: BTreeMap::new(),
            last_token_content_type: BTreeMap::new(),
            token_client_auth: BTreeMap::new(),
            refresh_reuse: 0,
            authorization_codes_issued: 0,
            code_reuse: 0,
            device_codes_issued: 0,
            revocations: 0,
            revoked_tokens: ["access_token", "refresh_token"]
                .into_iter()
                .map(|kind| (kind.to_owned(), 0))
                .collect(),
            assets_created: 0,
            assets_updated: 0,
            assets_deleted: 0,
            reports_created: 0,
            documents_uploaded: 0,
            token_exchanges: BTreeMap::new(),
            requests: BTreeMap::new(),
            status_401: 0,
        }
    }
}

/// The next `remaining` `/api/v1` requests are answered `status`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailFirst {
    pub remaining: u64,
    pub status: u16,
}

impl FailFirst {
    /// The status to fail this request with, counting it; `None` once none are left.
    pub(crate) fn take(&mut self) -> Option<u16> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.status)
    }
}

/// The statuses `fail_first` may answer: the ones SPEC §7 retries, and 500.
pub(crate) const FAIL_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// A fixed one-second window for the rate limit.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    second: u64,
    count: u64,
}

impl RateWindow {
    /// Counts a request at `now_secs`; false when it is over `limit` for its second.
    pub(crate) fn admit(&mut self, now_secs: u64, limit: u32) -> bool {
        if now_secs != self.second {
            self.second = now_secs;
            self.count = 0;
        }
        self.count += 1;
        self.count <= u64::from(limit)
    }
}
