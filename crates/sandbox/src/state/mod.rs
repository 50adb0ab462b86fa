//! The server's data, which the routes read and write: options, clock, root URL,
//! tokens, codes, device codes, collections and counters, and the locking helpers every
//! handler takes them with. Nothing here knows a route.

mod big_documents;
pub(crate) mod codes;
pub(crate) mod collection;
pub(crate) mod devices;
pub(crate) mod dpop;
mod locking;
pub(crate) mod seed;
mod stats;
pub(crate) mod tokens;
pub(crate) mod web;

use std::ops::Deref;
use std::sync::{Arc, Mutex, RwLock};

use self::codes::CodeStore;
use self::collection::Collection;
use self::devices::DeviceStore;
use self::tokens::TokenStore;
use crate::accounts::USERNAME;
use crate::clock::Clock;
use crate::options::SandboxOptions;

pub(crate) use self::big_documents::BigDocuments;
pub(crate) use self::locking::{lock, read, write};
pub(crate) use self::stats::{FAIL_STATUSES, FailFirst, RateWindow, Stats};

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
    /// Cookie sessions of `/web/login`.
    pub web: Mutex<web::WebSessions>,
    /// DPoP-bound tokens and the proofs seen.
    pub dpop: Mutex<dpop::DpopState>,
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
        let (opts_dpop_nonce, opts_dpop_required) = (opts.dpop_nonce, opts.dpop_required);
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
            web: Mutex::new(web::WebSessions::default()),
            dpop: Mutex::new(dpop::DpopState {
                nonce: opts_dpop_nonce.then(tokens::random_token),
                required: opts_dpop_required,
                ..Default::default()
            }),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
