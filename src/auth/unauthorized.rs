//! The one 401 → refresh → retry mechanism: a request sent with the session's access
//! token, and sent again with a new one while the API answers 401 to it. `runner
//! exec` (and every other request runner sends) and `runner serve` both go through
//! [`Session::send_authorized`]; each says which of its answers count as a 401.

use std::future::Future;

use super::{AuthError, Session};
use crate::secret::Secret;

/// Retries after a 401 while each new token came from another process: a server that
/// revokes the old access token at every rotation (django-oauth-toolkit) may have
/// revoked it again meanwhile, and with many processes and short-lived tokens that can
/// happen several times in a row (3 was seen to run out on a loaded machine with 32
/// processes and 2 s tokens). A token this process obtained itself gets one more try.
pub const MAX_UNAUTHORIZED_RETRIES: u32 = 8;

/// An answer from the API, as the sender judged it.
pub enum Answer<T> {
    /// An answer the token is not to blame for: handed back as it is.
    Final(T),
    /// A 401 that may say the token is no longer good: from a host that was sent the
    /// token, to a request that can be sent again. From
    /// [`Session::send_authorized`], the last such answer once the retries ran out.
    Unauthorized(T),
}

impl Session {
    /// Sends a request with the session's access token (`send` sends it with the one
    /// it is given and judges the answer) and, while the answer is
    /// [`Answer::Unauthorized`], refreshes the token and sends the request again: up
    /// to [`MAX_UNAUTHORIZED_RETRIES`] times while each new token came from another
    /// process, once more after this process obtained one itself. Token errors come
    /// back as `E`; a refresh in flight is never cut short here.
    pub async fn send_authorized<T, E, F, Fut>(&self, mut send: F) -> Result<Answer<T>, E>
    where
        E: From<AuthError>,
        F: FnMut(&Secret) -> Fut,
        Fut: Future<Output = Result<Answer<T>, E>>,
    {
        let (mut token, _) = self.token(None).await?;
        let mut attempts = 0;
        loop {
            let answer = send(&token).await?;
            if matches!(answer, Answer::Final(_)) || attempts >= MAX_UNAUTHORIZED_RETRIES {
                return Ok(answer);
            }
            attempts += 1;
            tracing::info!("401 from the API: refreshing the token and retrying");
            let (fresh, granted_here) = self.token(Some(&token)).await?;
            token = fresh;
            if granted_here {
                // This process's own new token is the last word: one more try.
                attempts = MAX_UNAUTHORIZED_RETRIES;
            }
        }
    }
}
