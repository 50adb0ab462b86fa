//! A profile value rendered only when a token request needs it: the client secret
//! and the password. A valid cached session never renders them, so an `env()` that
//! only a login uses may be unset, and a `secret()` command that only a login uses is
//! not run, until a login or a refresh actually needs it.

use std::sync::{Arc, Mutex};

use super::AuthError;
use crate::secret::Secret;

/// How a deferred value is rendered: `Ok(None)` when it is not written, or renders
/// empty. The closure registers the value with the masking point as it renders it.
type Render = dyn Fn() -> Result<Option<Secret>, AuthError> + Send + Sync;

/// A value rendered the first time it is asked for, and kept.
#[derive(Clone)]
pub struct Deferred {
    render: Option<Arc<Render>>,
    value: Arc<Mutex<Option<Option<Secret>>>>,
}

impl Deferred {
    /// A value known already (`None`: not given).
    pub fn ready(value: Option<Secret>) -> Deferred {
        Deferred {
            render: None,
            value: Arc::new(Mutex::new(Some(value))),
        }
    }

    /// A value `render` gives when first asked for. A failed render is not kept: the
    /// next request renders again (the variable may have been set meanwhile).
    pub fn new(
        render: impl Fn() -> Result<Option<Secret>, AuthError> + Send + Sync + 'static,
    ) -> Deferred {
        Deferred {
            render: Some(Arc::new(render)),
            value: Arc::new(Mutex::new(None)),
        }
    }

    /// The value, rendered now if it has not been.
    pub fn get(&self) -> Result<Option<Secret>, AuthError> {
        let mut kept = self
            .value
            .lock()
            .map_err(|_| AuthError::Store("a profile value's lock is poisoned".into()))?;
        if let Some(v) = kept.as_ref() {
            return Ok(v.clone());
        }
        let rendered = match &self.render {
            Some(render) => render()?,
            None => None,
        };
        *kept = Some(rendered.clone());
        Ok(rendered)
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred(***)")
    }
}

impl Default for Deferred {
    fn default() -> Self {
        Deferred::ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn renders_once_when_asked_and_again_after_a_failure() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let d = Deferred::new(move || match c.fetch_add(1, Ordering::SeqCst) {
            0 => Err(AuthError::Transport("not yet".into())),
            _ => Ok(Some(Secret::new("s3cr&t value"))),
        });
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "nothing rendered before asked"
        );
        assert!(d.get().is_err());
        let v = d.get().unwrap().unwrap();
        assert_eq!(v.expose(), "s3cr&t value");
        d.get().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(format!("{d:?}"), "Deferred(***)");
        assert!(Deferred::ready(None).get().unwrap().is_none());
    }
}
