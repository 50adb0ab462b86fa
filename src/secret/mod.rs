//! Secrets: values that must never reach output, logs or errors.
//!
//! [`Secret`] prints as `***` through `Debug` and `Display`; only [`Secret::expose`]
//! gives the value, and only the code that puts it on the wire or in the token store
//! calls it. Every secret is also registered in a process-wide list so that
//! [`redact`] can mask it in any text about to be printed, as a second line of defence.

pub mod log;

use std::fmt;
use std::sync::{Mutex, OnceLock};

/// A string that must not be shown. Cloning keeps it registered for redaction.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it for [`redact`].
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The secret value, for the wire or the token store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds `value` to the values [`redact`] masks. Values shorter than 4 characters are
/// not registered: masking them would garble ordinary text.
pub fn register(value: &str) {
    if value.chars().count() < 4 {
        return;
    }
    if let Ok(mut list) = registry().lock()
        && !list.iter().any(|s| s == value)
    {
        list.push(value.to_string());
        // Longest first, so a secret that contains another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let Ok(list) = registry().lock() else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redact_masks_registered_values_longest_first() {
        let _a = Secret::new("abcd-token");
        let _b = Secret::new("abcd-token-and-more");
        assert_eq!(
            redact("x abcd-token-and-more y abcd-token z"),
            "x *** y *** z"
        );
        assert_eq!(redact("abc"), "abc");
    }
}
