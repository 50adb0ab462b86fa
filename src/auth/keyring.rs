//! `token_store: keyring`: a session's tokens kept in the OS keyring (the Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows) through
//! `keyring-core` and each platform's store crate, as the same JSON the file store
//! writes. The lock file and the
//! save-before-use rule stay with [`super::store::TokenStore`]; a keyring that is
//! locked or absent is an error that names `token_store: file`, never a fallback.

use std::sync::OnceLock;

use keyring_core::Error as KeyringError;

use super::AuthError;

/// The service name every runner entry is kept under (`secret-tool search service runner`).
pub const SERVICE: &str = "runner";

/// One identity's entry: service [`SERVICE`], account the identity's file stem.
#[derive(Debug, Clone)]
pub struct KeyringEntry {
    account: String,
}

impl KeyringEntry {
    pub fn new(account: String) -> KeyringEntry {
        KeyringEntry { account }
    }

    /// Where the tokens are, for `runner profiles` and messages.
    pub fn describe(&self) -> String {
        format!(
            "the OS keyring (service {SERVICE}, account {})",
            self.account
        )
    }

    fn entry(&self) -> Result<keyring_core::Entry, AuthError> {
        self.entry_named(&self.account)
    }

    fn entry_named(&self, account: &str) -> Result<keyring_core::Entry, AuthError> {
        if let Err(e) = platform_store() {
            return Err(self.unusable(e));
        }
        keyring_core::Entry::new(SERVICE, account).map_err(|e| self.unusable(&e))
    }

    /// The stored bytes, or `None` when there is no entry.
    pub fn load(&self) -> Result<Option<Vec<u8>>, AuthError> {
        match self.entry()?.get_secret() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(self.unusable(&e)),
        }
    }

    pub fn save(&self, bytes: &[u8]) -> Result<(), AuthError> {
        self.entry()?
            .set_secret(bytes)
            .map_err(|e| self.unusable(&e))
    }

    /// Forgets the entry. Returns whether there was one.
    pub fn remove(&self) -> Result<bool, AuthError> {
        match self.entry()?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(self.unusable(&e)),
        }
    }

    /// Whether an entry can be written now (a locked keyring may still be read):
    /// a probe entry beside this one, written and removed.
    pub fn probe(&self) -> Result<(), AuthError> {
        let probe = self.entry_named(&format!("{}.probe", self.account))?;
        probe.set_secret(b"probe").map_err(|e| self.unusable(&e))?;
        match probe.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(self.unusable(&e)),
        }
    }

    fn unusable(&self, e: &KeyringError) -> AuthError {
        let why = match e {
            KeyringError::NoStorageAccess(inner) => {
                format!("it is locked or refused access ({inner})")
            }
            KeyringError::NoDefaultStore => {
                "there is no keyring service on this machine".to_string()
            }
            KeyringError::PlatformFailure(inner) => format!("it is not available ({inner})"),
            other => other.to_string(),
        };
        AuthError::Keyring(format!(
            "cannot use {} for the tokens: {why}; unlock or start it, or set `token_store: file` (in the profile's auth block or the user configuration) to keep them in a file",
            self.describe()
        ))
    }
}

/// Makes the platform's store keyring-core's default, once per process (the first
/// use connects to it); the outcome is kept, so a missing service is reported the
/// same way by every later use.
fn platform_store() -> &'static Result<(), KeyringError> {
    static STORE: OnceLock<Result<(), KeyringError>> = OnceLock::new();
    STORE.get_or_init(|| {
        #[cfg(target_os = "macos")]
        let store = apple_native_keyring_store::keychain::Store::new()?;
        #[cfg(target_os = "windows")]
        let store = windows_native_keyring_store::Store::new()?;
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        let store = dbus_secret_service_keyring_store::Store::new()?;
        #[cfg(all(any(unix, windows), not(any(target_os = "ios", target_os = "android"))))]
        {
            keyring_core::set_default_store(store);
            Ok(())
        }
        #[cfg(not(all(any(unix, windows), not(any(target_os = "ios", target_os = "android")))))]
        Err(KeyringError::NoDefaultStore)
    })
}
