//! A token exchange's subject profile made live: another profile of the project
//! whose session (its own cache, lock and refresh) gives the subject token. Profiles
//! that name each other in a circle are refused before any is built.

use std::sync::Arc;

use super::AuthRender;
use crate::auth::Session;
use crate::env::{Auth, Env};
use crate::error::{Error, InputError};
use crate::project::model::profile::AuthType;

impl AuthRender<'_> {
    /// The session of profile `name`, this profile's `auth.subject_profile`.
    pub(super) async fn subject_session(&self, name: &str) -> Result<Arc<Session>, Error> {
        let a = &self.auth.value;
        let src = &self.profile.source;
        let place = a
            .subject_profile
            .as_ref()
            .map_or_else(|| src.place(self.auth), |s| src.place(s));
        let project = self.at.project;
        let mut chain = vec![self.profile_name.to_string()];
        let mut next = name.to_string();
        loop {
            if chain.contains(&next) {
                chain.push(next);
                return Err(InputError::at(
                    place,
                    format!(
                        "auth.subject_profile: the profiles go round in a circle ({})",
                        chain.join(" → ")
                    ),
                )
                .into());
            }
            chain.push(next.clone());
            let loaded = project.load_profile(&next).map_err(Error::from_inputs)?;
            let further = loaded
                .profile
                .auth
                .as_ref()
                .filter(|x| x.value.kind == AuthType::Oauth2TokenExchange)
                .and_then(|x| x.value.subject_profile.as_ref())
                .map(|s| s.value.clone());
            match further {
                Some(n) => next = n,
                None => break,
            }
        }
        let loaded = project.load_profile(name).map_err(Error::from_inputs)?;
        let env = Box::pin(Env::from_profile(
            project.clone(),
            name.to_string(),
            loaded,
            self.at.flags,
        ))
        .await?;
        // A subject profile's in-process sandbox stops when dropped; it serves the
        // session it issued for as long as this process runs.
        if let Some(sb) = env.sandbox {
            Box::leak(Box::new(sb));
        }
        match env.auth {
            Auth::OAuth { session, .. } => Ok(session),
            _ => Err(InputError::at(
                place,
                format!(
                    "auth.subject_profile: profile `{name}` does not use OAuth2, so it has no token to exchange"
                ),
            )
            .into()),
        }
    }
}
