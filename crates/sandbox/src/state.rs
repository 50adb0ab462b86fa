//! What every handler shares: options, clock, root URL, tokens, codes, collections and
//! counters.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use super::SandboxOptions;
use super::accounts::USERNAME;
use super::big::BigDocuments;
use super::clock::Clock;
use super::codes::CodeStore;
use super::collection::Collection;
use super::devices::DeviceStore;
use super::oauth::GRANTS;
use super::seed;
use super::tokens::TokenStore;

/// How often a device may poll (RFC 8628 says 5 s by default; 1 s keeps tests fast).
const DEVICE_INTERVAL_SECS: u64 = 1;

/// Cheap to clone; the server's one shared state.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub opts: SandboxOptions,
    pub clock: Clock,
    /// `http://127.0.0.1:PORT` (or `https://`) as printed: the issuer, and the base of
    /// every URL the OAuth2 endpoints hand out.
    pub root: String,
    pub tokens: Mutex<TokenStore>,
    /// Locked before `tokens` when both are needed.
    pub codes: Mutex<CodeStore>,
    /// Locked before `tokens` when both are needed.
    pub devices: Mutex<DeviceStore>,
    pub stats: Mutex<Stats>,
    pub rate: Mutex<RateWindow>,
    /// The failures still to answer before requests go through.
    pub fail_first: Mutex<FailFirst>,
    pub assets: Arc<RwLock<Collection>>,
    pub reports: Arc<RwLock<Collection>>,
    pub documents: Arc<RwLock<Collection>>,
    /// Every collection, assets first; each gets list and get routes.
    pub collections: Vec<Arc<RwLock<Collection>>>,
    /// Large documents for `GET /_sandbox/big`, generated on first request.
    pub big: BigDocuments,
}

impl AppState {
    pub(crate) fn new(opts: SandboxOptions, clock: Clock, root: String) -> Self {
        let assets = Arc::new(RwLock::new(Collection::new(
            &seed::ASSETS,
            seed::assets(opts.assets),
        )));
        let reports = Arc::new(RwLock::new(Collection::new(
            &seed::REPORTS,
            seed::reports(opts.assets),
        )));
        let documents = Arc::new(RwLock::new(Collection::new(
            &seed::DOCUMENTS,
            seed::documents(),
        )));
        let collections = vec![
            Arc::clone(&assets),
            Arc::new(RwLock::new(Collection::new(&seed::USERS, seed::users()))),
            Arc::clone(&reports),
            Arc::clone(&documents),
        ];
        AppState(Arc::new(Shared {
            tokens: Mutex::new(TokenStore::new(opts.access_ttl, opts.refresh_ttl)),
            codes: Mutex::new(CodeStore::default()),
            devices: Mutex::new(DeviceStore::new(
                opts.device_ttl,
                DEVICE_INTERVAL_SECS,
                opts.auto_approve.then(|| USERNAME.to_owned()),
            )),
            root,
            stats: Mutex::new(Stats::default()),
            rate: Mutex::new(RateWindow::default()),
            fail_first: Mutex::new(FailFirst {
                remaining: opts.fail_first,
                status: opts.fail_status,
            }),
            opts,
            clock,
            assets,
            reports,
            documents,
            collections,
            big: BigDocuments::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

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

/// Locks a mutex; a panic elsewhere while it was held does not make it unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
