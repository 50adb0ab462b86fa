//! The in-memory token store: issuing, checking, rotating and revoking tokens. No HTTP.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Above this many stored tokens, expired ones are dropped on the next issue.
const PRUNE_ABOVE: usize = 50_000;

struct AccessToken {
    expires_at_ms: u64,
}

struct RefreshToken {
    expires_at_ms: u64,
    username: Option<String>,
    scope: Option<String>,
    spent: bool,
}

/// What a successful grant hands out.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub scope: Option<String>,
}

/// The state of a presented access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessCheck {
    Valid,
    Expired,
    Unknown,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    Unknown,
    /// Presented again after it was exchanged: refresh tokens are single-use.
    Spent,
    Expired,
}

/// The identity a spent refresh token carried, for the pair that replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub username: Option<String>,
    pub scope: Option<String>,
}

/// Every token the sandbox has issued. Spent refresh tokens are kept until they expire,
/// so that presenting one again is told apart from presenting garbage.
pub(crate) struct TokenStore {
    access_ttl_ms: u64,
    refresh_ttl_ms: u64,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
}

impl TokenStore {
    pub(crate) fn new(access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        TokenStore {
            access_ttl_ms: access_ttl_secs.saturating_mul(1000),
            refresh_ttl_ms: refresh_ttl_secs.saturating_mul(1000),
            access: HashMap::new(),
            refresh: HashMap::new(),
        }
    }

    /// Issues an access token, and a refresh token when `with_refresh`.
    pub(crate) fn issue(&mut self, now_ms: u64, grant: Grant, with_refresh: bool) -> Issued {
        self.prune(now_ms);
        let access_token = random_token();
        self.access.insert(
            access_token.clone(),
            AccessToken {
                expires_at_ms: now_ms.saturating_add(self.access_ttl_ms),
            },
        );
        let refresh_token = with_refresh.then(|| {
            let token = random_token();
            self.refresh.insert(
                token.clone(),
                RefreshToken {
                    expires_at_ms: now_ms.saturating_add(self.refresh_ttl_ms),
                    username: grant.username.clone(),
                    scope: grant.scope.clone(),
                    spent: false,
                },
            );
            token
        });
        Issued {
            access_token,
            refresh_token,
            expires_in: self.access_ttl_ms / 1000,
            scope: grant.scope,
        }
    }

    /// Spends a refresh token: on success it can never be used again.
    pub(crate) fn spend_refresh(
        &mut self,
        token: &str,
        now_ms: u64,
    ) -> Result<Grant, RefreshRefusal> {
        let Some(stored) = self.refresh.get_mut(token) else {
            return Err(RefreshRefusal::Unknown);
        };
        if stored.spent {
            return Err(RefreshRefusal::Spent);
        }
        if now_ms >= stored.expires_at_ms {
            return Err(RefreshRefusal::Expired);
        }
        stored.spent = true;
        Ok(Grant {
            username: stored.username.clone(),
            scope: stored.scope.clone(),
        })
    }

    pub(crate) fn check_access(&self, token: &str, now_ms: u64) -> AccessCheck {
        match self.access.get(token) {
            None => AccessCheck::Unknown,
            Some(t) if now_ms >= t.expires_at_ms => AccessCheck::Expired,
            Some(_) => AccessCheck::Valid,
        }
    }

    /// Forgets every access token; returns how many were still valid. Refresh tokens stay.
    pub(crate) fn revoke_access(&mut self, now_ms: u64) -> usize {
        let live = self
            .access
            .values()
            .filter(|t| now_ms < t.expires_at_ms)
            .count();
        self.access.clear();
        live
    }

    fn prune(&mut self, now_ms: u64) {
        if self.access.len() > PRUNE_ABOVE {
            self.access.retain(|_, t| now_ms < t.expires_at_ms);
        }
        if self.refresh.len() > PRUNE_ABOVE {
            self.refresh.retain(|_, t| now_ms < t.expires_at_ms);
        }
    }
}

/// 32 random bytes, base64url without padding: 43 characters.
fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Grant {
        Grant {
            username: Some("demo".into()),
            scope: Some("read".into()),
        }
    }

    #[test]
    fn access_tokens_expire_at_their_ttl() {
        let mut store = TokenStore::new(10, 100);
        let issued = store.issue(1_000, demo(), true);
        assert_eq!(issued.expires_in, 10);
        assert_eq!(issued.access_token.len(), 43);
        assert_eq!(
            store.check_access(&issued.access_token, 10_999),
            AccessCheck::Valid
        );
        assert_eq!(
            store.check_access(&issued.access_token, 11_000),
            AccessCheck::Expired
        );
        assert_eq!(store.check_access("nope", 0), AccessCheck::Unknown);
    }

    #[test]
    fn refresh_tokens_are_single_use_and_expire() {
        let mut store = TokenStore::new(10, 100);
        let refresh = store.issue(0, demo(), true).refresh_token.unwrap();
        assert_eq!(store.spend_refresh(&refresh, 5_000), Ok(demo()));
        assert_eq!(
            store.spend_refresh(&refresh, 5_001),
            Err(RefreshRefusal::Spent)
        );
        let other = store.issue(0, demo(), true).refresh_token.unwrap();
        assert_eq!(
            store.spend_refresh(&other, 100_000),
            Err(RefreshRefusal::Expired)
        );
        assert_eq!(store.spend_refresh("x", 0), Err(RefreshRefusal::Unknown));
    }

    #[test]
    fn revoking_counts_only_live_access_tokens() {
        let mut store = TokenStore::new(10, 100);
        let a = store.issue(0, demo(), false);
        assert!(a.refresh_token.is_none());
        store.issue(20_000, demo(), false);
        assert_eq!(store.revoke_access(20_000), 1);
        assert_eq!(store.check_access(&a.access_token, 0), AccessCheck::Unknown);
    }
}
