//! Cookie sessions of the web login (`/web/login`, `/web/me`): a session id for the
//! cookie, the CSRF token its login form must echo, and who logged in. No HTTP.

use std::collections::HashMap;

use super::tokens::random_token;

/// Above this many sessions, the oldest half is forgotten on the next start.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
struct WebSession {
    csrf: String,
    user: Option<String>,
    started: u64,
}

/// Every web session, by the id its cookie carries.
#[derive(Debug, Default)]
pub(crate) struct WebSessions {
    sessions: HashMap<String, WebSession>,
    started: u64,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginRefusal {
    /// No session cookie, or one this server never gave.
    NoSession,
    /// The form's CSRF token is not the session's.
    Csrf,
}

impl WebSessions {
    /// A new anonymous session: its id (for the cookie) and its CSRF token.
    pub(crate) fn start(&mut self) -> (String, String) {
        if self.sessions.len() >= MAX_SESSIONS {
            let cut = self.started.saturating_sub(MAX_SESSIONS as u64 / 2);
            self.sessions.retain(|_, s| s.started >= cut);
        }
        self.started += 1;
        let (id, csrf) = (random_token(), random_token());
        self.sessions.insert(
            id.clone(),
            WebSession {
                csrf: csrf.clone(),
                user: None,
                started: self.started,
            },
        );
        (id, csrf)
    }

    /// Checks the form's CSRF token against session `id`'s; on success the session is
    /// replaced by a new authenticated one (a new id: no session fixation), whose id
    /// is returned.
    pub(crate) fn login(
        &mut self,
        id: &str,
        csrf: &str,
        user: &str,
    ) -> Result<String, LoginRefusal> {
        let session = self.sessions.get(id).ok_or(LoginRefusal::NoSession)?;
        if session.csrf != csrf {
            return Err(LoginRefusal::Csrf);
        }
        self.sessions.remove(id);
        let (new_id, _) = self.start();
        if let Some(s) = self.sessions.get_mut(&new_id) {
            s.user = Some(user.to_string());
        }
        Ok(new_id)
    }

    /// Who is logged in on session `id`, if anyone.
    pub(crate) fn user(&self, id: &str) -> Option<&str> {
        self.sessions.get(id).and_then(|s| s.user.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_needs_the_sessions_csrf_and_rotates_the_id() {
        let mut w = WebSessions::default();
        let (id, csrf) = w.start();
        assert_eq!(w.login("nope", &csrf, "demo"), Err(LoginRefusal::NoSession));
        assert_eq!(w.login(&id, "wrong", "demo"), Err(LoginRefusal::Csrf));
        assert_eq!(w.user(&id), None);
        let new_id = w.login(&id, &csrf, "demo").unwrap();
        assert_ne!(new_id, id);
        assert_eq!(w.user(&new_id), Some("demo"));
        assert_eq!(w.user(&id), None);
    }
}
