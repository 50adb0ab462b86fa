//! `runner logout`: the tokens revoked at the server where it offers revocation
//! (RFC 7009), then forgotten.

use super::endpoints::Which;
use super::store::CachedTokens;
use super::{AuthError, LOCK_WAIT, Session};

/// What `runner logout` did.
#[derive(Debug, Default)]
pub struct Logout {
    /// There were cached tokens (now forgotten).
    pub had: bool,
    /// The tokens revoked at the server, by kind (`refresh_token`, `access_token`).
    pub revoked: Vec<&'static str>,
    /// The revocation endpoint, when there was one.
    pub revocation_url: Option<String>,
    /// Why revocation failed (the tokens were forgotten all the same).
    pub failure: Option<AuthError>,
}

impl Session {
    /// `runner logout`: revokes the refresh token, then the access token, at the
    /// revocation endpoint when there is one and `revoke` (RFC 7009), then forgets
    /// them, whether or not revocation worked.
    pub async fn logout(&self, revoke: bool) -> Result<Logout, AuthError> {
        let mut current = self.current.lock().await;
        let in_memory = current.take();
        let _lock = match &self.store {
            Some(s) => Some(s.lock(LOCK_WAIT).await?),
            None => None,
        };
        let cached = match &self.store {
            Some(s) => s.load(&self.identity)?,
            None => in_memory,
        };
        let mut report = Logout {
            had: cached.is_some(),
            ..Logout::default()
        };
        if revoke
            && let Some(t) = &cached
            && let Err(e) = self.revoke(t, &mut report).await
        {
            report.failure = Some(e);
        }
        if let Some(s) = &self.store {
            s.remove()?;
        }
        Ok(report)
    }

    async fn revoke(&self, t: &CachedTokens, report: &mut Logout) -> Result<(), AuthError> {
        let Some(url) = self.endpoint_url(Which::Revocation).await? else {
            return Ok(());
        };
        report.revocation_url = Some(url.to_string());
        let endpoint = self.endpoint().await?;
        // The refresh token first: while it lives, new access tokens can be made.
        if let Some(rt) = &t.refresh_token {
            endpoint.revoke(&url, rt, "refresh_token").await?;
            report.revoked.push("refresh_token");
        }
        endpoint
            .revoke(&url, &t.access_token, "access_token")
            .await?;
        report.revoked.push("access_token");
        Ok(())
    }
}
