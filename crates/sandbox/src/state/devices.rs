//! Device codes (RFC 8628): a device code for the client to poll with, a short user
//! code for the person who approves, the polling rules (`authorization_pending`,
//! `slow_down`, `expired_token`), and single use once approved. No HTTP.

use std::collections::HashMap;

use super::tokens::random_token;

/// Consonants without look-alikes, as RFC 8628 §6.1 suggests: 20^8 user codes.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// What `slow_down` adds to a device code's interval (RFC 8628 §3.5).
const SLOW_DOWN_MS: u64 = 5_000;
/// How early a poll may come and still count as on time: a client that waits the
/// interval between sending its polls (not between the answers) sees its first poll,
/// which opened the connection, handled later than the next one.
const EARLY_SLACK_MS: u64 = 200;
/// Above this many stored device codes, expired ones are dropped on the next start.
const PRUNE_ABOVE: usize = 10_000;

/// Who asked for a device code, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRequest {
    pub client_id: String,
    pub scope: Option<String>,
}

/// The answer to a device authorization request.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    pub device_code: String,
    /// As shown to people: `WDJB-MJHT`.
    pub user_code: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// What a poll of the token endpoint finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Approved: the tokens are to be issued now, and the code is spent.
    Ready {
        request: DeviceRequest,
        username: String,
    },
    Pending,
    /// Polled sooner than the interval; the interval is now `interval` seconds.
    SlowDown {
        interval: u64,
    },
    Denied,
    Expired,
    /// Already exchanged for tokens.
    Spent,
    Unknown,
    OtherClient,
}

/// Why a user code could not be approved or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecideRefusal {
    Unknown,
    Expired,
    AlreadyDecided,
}

impl DecideRefusal {
    /// Why the user code could not be decided on, in a sentence.
    pub(crate) fn text(self) -> &'static str {
        match self {
            DecideRefusal::Unknown => "No device is waiting for this code: check it and try again.",
            DecideRefusal::Expired => "This code has expired: start again on the device.",
            DecideRefusal::AlreadyDecided => "This code was already used.",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Pending,
    Approved { username: String },
    Denied,
    Spent,
}

struct Device {
    request: DeviceRequest,
    user_code: String,
    expires_at_ms: u64,
    interval_ms: u64,
    last_poll_ms: Option<u64>,
    decision: Decision,
}

pub(crate) struct DeviceStore {
    ttl_ms: u64,
    interval_ms: u64,
    /// Approve each code at its first poll, as if someone had been quick.
    auto_approve: Option<String>,
    devices: HashMap<String, Device>,
    /// Normalised user code → device code.
    by_user_code: HashMap<String, String>,
}

impl DeviceStore {
    /// `auto_approve`: the user every code is approved for at its first poll.
    pub(crate) fn new(ttl_secs: u64, interval_secs: u64, auto_approve: Option<String>) -> Self {
        DeviceStore {
            ttl_ms: ttl_secs.saturating_mul(1000),
            interval_ms: interval_secs.saturating_mul(1000),
            auto_approve,
            devices: HashMap::new(),
            by_user_code: HashMap::new(),
        }
    }

    pub(crate) fn start(&mut self, now_ms: u64, request: DeviceRequest) -> Started {
        if self.devices.len() > PRUNE_ABOVE {
            let expired: Vec<String> = self
                .devices
                .iter()
                .filter(|(_, d)| now_ms >= d.expires_at_ms)
                .map(|(code, _)| code.clone())
                .collect();
            for code in expired {
                if let Some(device) = self.devices.remove(&code) {
                    self.by_user_code.remove(&device.user_code);
                }
            }
        }
        let user_code = loop {
            let candidate = random_user_code();
            if !self.by_user_code.contains_key(&candidate) {
                break candidate;
            }
        };
        let device_code = random_token();
        self.by_user_code
            .insert(user_code.clone(), device_code.clone());
        self.devices.insert(
            device_code.clone(),
            Device {
                request,
                user_code: user_code.clone(),
                expires_at_ms: now_ms.saturating_add(self.ttl_ms),
                interval_ms: self.interval_ms,
                last_poll_ms: None,
                decision: Decision::Pending,
            },
        );
        Started {
            device_code,
            user_code: display(&user_code),
            expires_in: self.ttl_ms / 1000,
            interval: self.interval_ms / 1000,
        }
    }

    /// A poll by `client_id` at `now_ms` (RFC 8628 §3.4, §3.5).
    pub(crate) fn poll(&mut self, device_code: &str, client_id: &str, now_ms: u64) -> Poll {
        let Some(device) = self.devices.get_mut(device_code) else {
            return Poll::Unknown;
        };
        if device.request.client_id != client_id {
            return Poll::OtherClient;
        }
        if device.decision == Decision::Spent {
            return Poll::Spent;
        }
        if now_ms >= device.expires_at_ms {
            return Poll::Expired;
        }
        let last_poll = device.last_poll_ms.replace(now_ms);
        match &device.decision {
            Decision::Approved { username } => {
                let username = username.clone();
                device.decision = Decision::Spent;
                Poll::Ready {
                    request: device.request.clone(),
                    username,
                }
            }
            Decision::Denied => Poll::Denied,
            Decision::Spent => Poll::Spent,
            Decision::Pending => {
                if let Some(last) = last_poll
                    && now_ms.saturating_sub(last).saturating_add(EARLY_SLACK_MS)
                        < device.interval_ms
                {
                    device.interval_ms = device.interval_ms.saturating_add(SLOW_DOWN_MS);
                    return Poll::SlowDown {
                        interval: device.interval_ms / 1000,
                    };
                }
                if let Some(username) = &self.auto_approve {
                    device.decision = Decision::Approved {
                        username: username.clone(),
                    };
                }
                Poll::Pending
            }
        }
    }

    /// Approves (for `username`) or denies the code a person typed, in any case and
    /// with any punctuation.
    pub(crate) fn decide(
        &mut self,
        user_code: &str,
        approval: Option<&str>,
        now_ms: u64,
    ) -> Result<(), DecideRefusal> {
        let device = self
            .by_user_code
            .get(&normalise(user_code))
            .and_then(|code| self.devices.get_mut(code))
            .ok_or(DecideRefusal::Unknown)?;
        if now_ms >= device.expires_at_ms {
            return Err(DecideRefusal::Expired);
        }
        if device.decision != Decision::Pending {
            return Err(DecideRefusal::AlreadyDecided);
        }
        device.decision = match approval {
            Some(username) => Decision::Approved {
                username: username.to_owned(),
            },
            None => Decision::Denied,
        };
        Ok(())
    }

    /// The client that asked for a user code's device code, for the approval page.
    pub(crate) fn client_of(&self, user_code: &str) -> Option<&str> {
        let code = self.by_user_code.get(&normalise(user_code))?;
        Some(&self.devices.get(code)?.request.client_id)
    }
}

/// Letters and digits only, upper case: `wdjb mjht` and `WDJB-MJHT` are one code.
pub(crate) fn normalise(user_code: &str) -> String {
    user_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `WDJBMJHT` as `WDJB-MJHT`.
fn display(user_code: &str) -> String {
    let (head, tail) = user_code.split_at(user_code.len() / 2);
    format!("{head}-{tail}")
}

fn random_user_code() -> String {
    (0..USER_CODE_LEN)
        .map(|_| char::from(USER_CODE_ALPHABET[rand::random_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DeviceRequest {
        DeviceRequest {
            client_id: "sandbox-public".into(),
            scope: None,
        }
    }

    #[test]
    fn user_codes_look_like_the_rfc_example() {
        let mut store = DeviceStore::new(600, 1, None);
        let started = store.start(0, request());
        assert_eq!((started.expires_in, started.interval), (600, 1));
        assert_eq!(started.device_code.len(), 43);
        let code = started.user_code.as_bytes();
        assert_eq!(code.len(), 9);
        assert_eq!(code[4], b'-');
        for (i, b) in code.iter().enumerate() {
            assert!(
                i == 4 || USER_CODE_ALPHABET.contains(b),
                "{}",
                started.user_code
            );
        }
        assert_eq!(normalise(" wdjb mjht "), "WDJBMJHT");
        assert_eq!(normalise("WDJB-MJHT"), "WDJBMJHT");
        let typed = started.user_code.to_lowercase().replace('-', " ");
        assert_eq!(store.client_of(&typed), Some("sandbox-public"));
    }

    #[test]
    fn polling_goes_pending_then_ready_then_spent() {
        let mut store = DeviceStore::new(600, 1, None);
        let started = store.start(0, request());
        let code = &started.device_code;
        assert_eq!(store.poll(code, "sandbox-public", 0), Poll::Pending);
        assert_eq!(store.poll(code, "sandbox-public", 1_000), Poll::Pending);
        assert_eq!(
            store.decide(&started.user_code, Some("demo"), 1_500),
            Ok(())
        );
        assert_eq!(
            store.decide(&started.user_code, None, 1_500),
            Err(DecideRefusal::AlreadyDecided)
        );
        assert_eq!(
            store.poll(code, "sandbox", 2_000),
            Poll::OtherClient,
            "another client's poll changes nothing"
        );
        assert_eq!(
            store.poll(code, "sandbox-public", 2_000),
            Poll::Ready {
                request: request(),
                username: "demo".into()
            }
        );
        assert_eq!(store.poll(code, "sandbox-public", 3_000), Poll::Spent);
        assert_eq!(store.poll("nope", "sandbox-public", 0), Poll::Unknown);
    }

    #[test]
    fn polling_too_fast_adds_five_seconds_each_time() {
        let mut store = DeviceStore::new(600, 1, None);
        let code = store.start(0, request()).device_code;
        assert_eq!(store.poll(&code, "sandbox-public", 0), Poll::Pending);
        assert_eq!(
            store.poll(&code, "sandbox-public", 799),
            Poll::SlowDown { interval: 6 }
        );
        assert_eq!(
            store.poll(&code, "sandbox-public", 6_000),
            Poll::SlowDown { interval: 11 },
            "5 201 ms after the last poll is too early for 6 s"
        );
        assert_eq!(
            store.poll(&code, "sandbox-public", 16_800),
            Poll::Pending,
            "200 ms early is on time"
        );
    }

    #[test]
    fn denied_and_expired_codes_stay_so() {
        let mut store = DeviceStore::new(10, 1, None);
        let started = store.start(0, request());
        assert_eq!(store.decide(&started.user_code, None, 0), Ok(()));
        for now in [1_000, 2_000] {
            assert_eq!(
                store.poll(&started.device_code, "sandbox-public", now),
                Poll::Denied
            );
        }
        assert_eq!(
            store.poll(&started.device_code, "sandbox-public", 10_000),
            Poll::Expired
        );
        let late = store.start(0, request());
        assert_eq!(
            store.decide(&late.user_code, Some("demo"), 10_000),
            Err(DecideRefusal::Expired)
        );
        assert_eq!(
            store.decide("BCDF-GHJK-LMNP", Some("demo"), 0),
            Err(DecideRefusal::Unknown)
        );
    }

    #[test]
    fn auto_approval_comes_after_the_first_poll() {
        let mut store = DeviceStore::new(600, 1, Some("demo".into()));
        let code = store.start(0, request()).device_code;
        assert_eq!(store.poll(&code, "sandbox-public", 0), Poll::Pending);
        assert!(matches!(
            store.poll(&code, "sandbox-public", 1_000),
            Poll::Ready { .. }
        ));
    }
}
