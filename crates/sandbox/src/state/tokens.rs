//! The in-memory token store: issuing, checking, rotating and revoking tokens. No HTTP.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Above this many stored tokens, expired ones are dropped on the next issue.
const PRUNE_ABOVE: usize = 50_000;

/// The tokens that descend from one grant (a login, a code, a device approval) through
/// any number of refreshes: revoking a refresh token, or reusing an authorization
/// code, revokes the whole family (RFC 7009 §2.1, RFC 6749 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Family(u64);

impl Family {
    #[cfg(test)]
    pub(crate) fn for_tests(n: u64) -> Family {
        Family(n)
    }
}

struct AccessToken {
    expires_at_ms: u64,
    client_id: String,
    /// The user it speaks for (none for a client's own token).
    username: Option<String>,
    scope: Option<String>,
    family: Family,
}

struct RefreshToken {
    expires_at_ms: u64,
    grant: Grant,
    family: Family,
    spent: bool,
}

/// What a successful grant hands out.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub scope: Option<String>,
    pub family: Family,
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
    /// Issued to another client (RFC 6749 §6); it stays unspent.
    OtherClient,
}

/// Who a token speaks for: the client, the user (none for client credentials) and the
/// scope. A refresh carries it over to the pair that replaces the spent token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub client_id: String,
    pub username: Option<String>,
    pub scope: Option<String>,
}

/// What a revocation (RFC 7009) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revoked {
    /// An access token: it alone stops working.
    Access,
    /// A refresh token: its family stops working, `access` access tokens with it.
    Refresh { access: usize },
    /// Nothing the sandbox issued (or already revoked): nothing to do.
    Unknown,
    /// Issued to another client: left alone.
    OtherClient,
}

/// Every token the sandbox has issued. Spent refresh tokens are kept until they expire,
/// so that presenting one again is told apart from presenting garbage.
pub(crate) struct TokenStore {
    access_ttl_ms: u64,
    refresh_ttl_ms: u64,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    families: u64,
}

impl TokenStore {
    pub(crate) fn new(access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        TokenStore {
            access_ttl_ms: access_ttl_secs.saturating_mul(1000),
            refresh_ttl_ms: refresh_ttl_secs.saturating_mul(1000),
            access: HashMap::new(),
            refresh: HashMap::new(),
            families: 0,
        }
    }

    /// Issues an access token, and a refresh token when `with_refresh`, as a new family.
    pub(crate) fn issue(&mut self, now_ms: u64, grant: Grant, with_refresh: bool) -> Issued {
        self.families += 1;
        let family = Family(self.families);
        self.issue_in(now_ms, grant, family, with_refresh)
    }

    /// Issues a pair into an existing family: the one a spent refresh token belonged to.
    pub(crate) fn issue_in(
        &mut self,
        now_ms: u64,
        grant: Grant,
        family: Family,
        with_refresh: bool,
    ) -> Issued {
        self.prune(now_ms);
        let access_token = random_token();
        self.access.insert(
            access_token.clone(),
            AccessToken {
                expires_at_ms: now_ms.saturating_add(self.access_ttl_ms),
                client_id: grant.client_id.clone(),
                username: grant.username.clone(),
                scope: grant.scope.clone(),
                family,
            },
        );
        let refresh_token = with_refresh.then(|| {
            let token = random_token();
            self.refresh.insert(
                token.clone(),
                RefreshToken {
                    expires_at_ms: now_ms.saturating_add(self.refresh_ttl_ms),
                    grant: grant.clone(),
                    family,
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
            family,
        }
    }

    /// Spends a refresh token presented by `client_id`: on success it can never be used
    /// again, and the grant and family it carried are handed back for its successor.
    pub(crate) fn spend_refresh(
        &mut self,
        token: &str,
        client_id: &str,
        now_ms: u64,
    ) -> Result<(Grant, Family), RefreshRefusal> {
        let Some(stored) = self.refresh.get_mut(token) else {
            return Err(RefreshRefusal::Unknown);
        };
        if stored.grant.client_id != client_id {
            return Err(RefreshRefusal::OtherClient);
        }
        if stored.spent {
            return Err(RefreshRefusal::Spent);
        }
        if now_ms >= stored.expires_at_ms {
            return Err(RefreshRefusal::Expired);
        }
        stored.spent = true;
        Ok((stored.grant.clone(), stored.family))
    }

    /// Who a live access token speaks for: its grant (token exchange's subject).
    pub(crate) fn live_grant(&self, token: &str, now_ms: u64) -> Option<Grant> {
        let t = self
            .access
            .get(token)
            .filter(|t| now_ms < t.expires_at_ms)?;
        Some(Grant {
            client_id: t.client_id.clone(),
            username: t.username.clone(),
            scope: t.scope.clone(),
        })
    }

    pub(crate) fn check_access(&self, token: &str, now_ms: u64) -> AccessCheck {
        match self.access.get(token) {
            None => AccessCheck::Unknown,
            Some(t) if now_ms >= t.expires_at_ms => AccessCheck::Expired,
            Some(_) => AccessCheck::Valid,
        }
    }

    /// Revokes `token` for `client_id` (RFC 7009 §2.1). `hint` says where to look
    /// first; the other kind is searched too, as the RFC asks.
    pub(crate) fn revoke(&mut self, token: &str, client_id: &str, hint: Option<&str>) -> Revoked {
        let refresh_first = hint == Some("refresh_token");
        for look_in_refresh in [refresh_first, !refresh_first] {
            if look_in_refresh {
                if let Some(stored) = self.refresh.get(token) {
                    if stored.grant.client_id != client_id {
                        return Revoked::OtherClient;
                    }
                    let access = self.revoke_family(stored.family).0;
                    return Revoked::Refresh { access };
                }
            } else if let Some(stored) = self.access.get(token) {
                if stored.client_id != client_id {
                    return Revoked::OtherClient;
                }
                self.access.remove(token);
                return Revoked::Access;
            }
        }
        Revoked::Unknown
    }

    /// Forgets every token of a family; returns how many access and refresh tokens
    /// that was.
    pub(crate) fn revoke_family(&mut self, family: Family) -> (usize, usize) {
        let (access, refresh) = (self.access.len(), self.refresh.len());
        self.access.retain(|_, t| t.family != family);
        self.refresh.retain(|_, t| t.family != family);
        (access - self.access.len(), refresh - self.refresh.len())
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
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Grant {
        Grant {
            client_id: "sandbox".into(),
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
        let issued = store.issue(0, demo(), true);
        let refresh = issued.refresh_token.unwrap();
        assert_eq!(
            store.spend_refresh(&refresh, "sandbox", 5_000),
            Ok((demo(), issued.family))
        );
        assert_eq!(
            store.spend_refresh(&refresh, "sandbox", 5_001),
            Err(RefreshRefusal::Spent)
        );
        let other = store.issue(0, demo(), true).refresh_token.unwrap();
        assert_eq!(
            store.spend_refresh(&other, "sandbox", 100_000),
            Err(RefreshRefusal::Expired)
        );
        assert_eq!(
            store.spend_refresh("x", "sandbox", 0),
            Err(RefreshRefusal::Unknown)
        );
    }

    #[test]
    fn refresh_tokens_belong_to_their_client() {
        let mut store = TokenStore::new(10, 100);
        let refresh = store.issue(0, demo(), true).refresh_token.unwrap();
        assert_eq!(
            store.spend_refresh(&refresh, "sandbox-public", 0),
            Err(RefreshRefusal::OtherClient)
        );
        assert!(
            store.spend_refresh(&refresh, "sandbox", 0).is_ok(),
            "not spent by the other client"
        );
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

    #[test]
    fn families_are_kept_across_refreshes_and_revoked_together() {
        let mut store = TokenStore::new(10, 100);
        let first = store.issue(0, demo(), true);
        let bystander = store.issue(0, demo(), true);
        assert_ne!(first.family, bystander.family);
        let (grant, family) = store
            .spend_refresh(first.refresh_token.as_deref().unwrap(), "sandbox", 0)
            .unwrap();
        let second = store.issue_in(0, grant, family, true);
        assert_eq!(second.family, first.family);
        // The first, spent refresh token still names the family.
        assert_eq!(
            store.revoke(first.refresh_token.as_deref().unwrap(), "sandbox", None),
            Revoked::Refresh { access: 2 }
        );
        for token in [&first.access_token, &second.access_token] {
            assert_eq!(store.check_access(token, 0), AccessCheck::Unknown);
        }
        assert_eq!(
            store.spend_refresh(second.refresh_token.as_deref().unwrap(), "sandbox", 0),
            Err(RefreshRefusal::Unknown)
        );
        assert_eq!(
            store.check_access(&bystander.access_token, 0),
            AccessCheck::Valid
        );
        assert_eq!(store.revoke_family(bystander.family), (1, 1));
    }

    #[test]
    fn revoking_an_access_token_leaves_its_refresh_token() {
        let mut store = TokenStore::new(10, 100);
        let issued = store.issue(0, demo(), true);
        let refresh = issued.refresh_token.as_deref().unwrap();
        // A wrong hint is only where to look first.
        assert_eq!(
            store.revoke(&issued.access_token, "sandbox", Some("refresh_token")),
            Revoked::Access
        );
        assert_eq!(
            store.check_access(&issued.access_token, 0),
            AccessCheck::Unknown
        );
        assert_eq!(
            store.revoke(&issued.access_token, "sandbox", None),
            Revoked::Unknown
        );
        assert_eq!(
            store.revoke(refresh, "sandbox-public", Some("refresh_token")),
            Revoked::OtherClient
        );
        assert!(store.spend_refresh(refresh, "sandbox", 0).is_ok());
    }
}
