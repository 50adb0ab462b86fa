//! The token cache: one JSON file per identity, written atomically, guarded by an
//! exclusive lock on a sibling lock file. No HTTP here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AuthError;
use super::keyring::KeyringEntry;
use crate::secret::Secret;
use crate::user::private_file::{self, LockError};

/// Who the tokens belong to. Part of the file name (hashed) and of the file itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub token_url: String,
    pub client_id: String,
    pub username: String,
}

impl Identity {
    /// A stable file name: the token host, for people listing the folder, and a hash
    /// of the whole identity, so two identities never share a file.
    pub fn file_stem(&self) -> String {
        let host = url::Url::parse(&self.token_url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| {
                    format!(
                        "{h}{}",
                        u.port().map(|p| format!("_{p}")).unwrap_or_default()
                    )
                })
            })
            .unwrap_or_else(|| "tokens".to_string());
        let host: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let key = format!("{}\n{}\n{}", self.token_url, self.client_id, self.username);
        format!("{host}-{:016x}", fnv1a(key.as_bytes()))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The tokens of one identity, as cached. Times are Unix seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedTokens {
    pub identity: Identity,
    pub access_token: Secret,
    pub token_type: String,
    /// When the access token was obtained.
    pub obtained_at: u64,
    /// When it expires; `None` when the server did not say.
    pub expires_at: Option<u64>,
    pub refresh_token: Option<Secret>,
    pub refresh_obtained_at: Option<u64>,
    pub scope: Option<String>,
    /// The account the server named (an `id_token`'s), shown by `runner profiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The session's DPoP key (base64url PKCS#8), kept with the tokens bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<Secret>,
}

impl CachedTokens {
    /// Usable as is at `now`: more than 60 s left, or more than half its lifetime when
    /// that is shorter. A token of unknown lifetime is used until a 401.
    pub fn access_valid_at(&self, now: u64) -> bool {
        match self.expires_at {
            None => true,
            Some(exp) => {
                let lifetime = exp.saturating_sub(self.obtained_at);
                let margin = 60.min(lifetime / 2);
                exp > now && exp - now > margin
            }
        }
    }
}

/// The cache file and lock file of one identity.
#[derive(Debug, Clone)]
pub struct TokenStore {
    file: PathBuf,
    lock: PathBuf,
    /// Prefix of this identity's temp files, so a crashed writer's leftovers can be
    /// removed under this identity's lock without touching another's.
    temp_prefix: String,
    /// `token_store: keyring`: the tokens live there; the lock file stays here.
    keyring: Option<KeyringEntry>,
}

/// Holds the cross-process lock until dropped.
pub struct StoreLock {
    _file: File,
}

impl TokenStore {
    /// The platform's token folder, or `$RUNNER_STATE_DIR/tokens`.
    pub fn default_dir() -> Result<PathBuf, AuthError> {
        if let Some(dir) = std::env::var_os("RUNNER_STATE_DIR") {
            return Ok(PathBuf::from(dir).join("tokens"));
        }
        let dirs = directories::ProjectDirs::from("", "", "runner").ok_or_else(|| {
            AuthError::Store("no home directory to keep tokens in; set RUNNER_STATE_DIR".into())
        })?;
        let base = dirs
            .state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf();
        Ok(base.join("tokens"))
    }

    /// Opens (creating if needed) the store of `identity` under `dir`, repairing
    /// permissions that let others read it.
    pub fn open(dir: &Path, identity: &Identity) -> Result<TokenStore, AuthError> {
        create_private_dir(dir)?;
        let stem = identity.file_stem();
        Ok(TokenStore {
            file: dir.join(format!("{stem}.json")),
            lock: dir.join(format!("{stem}.lock")),
            temp_prefix: format!(".{stem}-"),
            keyring: None,
        })
    }

    /// The same store with the tokens in the OS keyring (the lock file stays).
    pub fn in_keyring(mut self) -> TokenStore {
        let stem = self
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        self.keyring = Some(KeyringEntry::new(stem.unwrap_or_default()));
        self
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Where the tokens are kept, for `runner profiles`.
    pub fn location(&self) -> String {
        match &self.keyring {
            Some(k) => k.describe(),
            None => self.file.display().to_string(),
        }
    }

    /// The stored bytes, or `None`.
    fn read(&self) -> Result<Option<Vec<u8>>, AuthError> {
        if let Some(k) = &self.keyring {
            return k.load();
        }
        let bytes = match std::fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AuthError::Store(format!(
                    "cannot read {}: {e}",
                    self.file.display()
                )));
            }
        };
        repair_mode(&self.file, 0o600)?;
        Ok(Some(bytes))
    }

    /// The cached tokens, or `None`. A file that does not parse (or belongs to another
    /// identity) is moved aside with a warning and reads as a miss.
    pub fn load(&self, identity: &Identity) -> Result<Option<CachedTokens>, AuthError> {
        let Some(bytes) = self.read()? else {
            return Ok(None);
        };
        match serde_json::from_slice::<CachedTokens>(&bytes) {
            Ok(t) if &t.identity == identity => Ok(Some(t)),
            Ok(_) => {
                self.move_aside("it belongs to another identity");
                Ok(None)
            }
            Err(e) => {
                self.move_aside(&format!("it does not parse ({e})"));
                Ok(None)
            }
        }
    }

    fn move_aside(&self, why: &str) {
        if let Some(k) = &self.keyring {
            // The next save replaces the entry.
            eprintln!("warning: token cache in {} ignored: {why}", k.describe());
            return;
        }
        let aside = self
            .file
            .with_extension(format!("corrupt-{}", crate::clock::now_unix()));
        match std::fs::rename(&self.file, &aside) {
            Ok(()) => eprintln!(
                "warning: token cache {} ignored: {why}; moved to {}",
                self.file.display(),
                aside.display()
            ),
            Err(e) => eprintln!(
                "warning: token cache {} ignored: {why}; could not move it aside: {e}",
                self.file.display()
            ),
        }
    }

    /// Replaces the cache atomically: temp file in the same folder, fsync, rename,
    /// fsync the folder. Never truncates the file in place.
    pub fn save(&self, tokens: &CachedTokens) -> Result<(), AuthError> {
        let fail = |what: &str, e: std::io::Error| {
            AuthError::Store(format!(
                "cannot save tokens to {} ({what}): {e}",
                self.file.display()
            ))
        };
        let data = serde_json::to_vec_pretty(tokens)
            .map_err(|e| AuthError::Store(format!("cannot encode tokens: {e}")))?;
        if let Some(k) = &self.keyring {
            return k.save(&data);
        }
        private_file::replace(&self.file, &data, &self.temp_prefix)
            .map_err(|(what, e)| fail(what, e))?;
        Ok(())
    }

    /// Forgets the cached tokens. Returns whether there were any.
    pub fn remove(&self) -> Result<bool, AuthError> {
        if let Some(k) = &self.keyring {
            return k.remove();
        }
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(AuthError::Store(format!(
                "cannot remove {}: {e}",
                self.file.display()
            ))),
        }
    }

    /// Takes the exclusive cross-process lock, waiting at most `timeout`.
    pub async fn lock(&self, timeout: Duration) -> Result<StoreLock, AuthError> {
        let file = private_file::lock(&self.lock, timeout)
            .await
            .map_err(|e| match e {
                LockError::Timeout => AuthError::LockTimeout {
                    path: self.lock.clone(),
                    secs: timeout.as_secs(),
                },
                LockError::Open(e) => {
                    AuthError::Store(format!("cannot open lock {}: {e}", self.lock.display()))
                }
                LockError::Lock(e) => {
                    AuthError::Store(format!("cannot lock {}: {e}", self.lock.display()))
                }
            })?;
        repair_mode(&self.lock, 0o600)?;
        self.remove_stale_temp_files();
        // Whoever takes the lock may spend a refresh token: a keyring that cannot take
        // the new one must say so before, not after.
        if let Some(k) = &self.keyring {
            k.probe()?;
        }
        Ok(StoreLock { _file: file })
    }
}

impl TokenStore {
    /// Temp files of this identity left by a writer that was killed mid-save. Only
    /// called with the lock held, when no writer of this identity can be running.
    fn remove_stale_temp_files(&self) {
        let Some(dir) = self.file.parent() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&self.temp_prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    private_file::create_dir(dir)
        .map_err(|e| AuthError::Store(format!("cannot create {}: {e}", dir.display())))?;
    repair_mode(dir, 0o700)
}

/// Takes away group and other permissions from `path`, with a warning, if it has any.
#[cfg(unix)]
fn repair_mode(path: &Path, mode: u32) -> Result<(), AuthError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let current = meta.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            AuthError::Store(format!(
                "{} is readable by others (mode {current:o}) and cannot be repaired: {e}",
                path.display()
            ))
        })?;
        eprintln!(
            "warning: {} was readable by others (mode {current:o}); set to {mode:o}",
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn repair_mode(_path: &Path, _mode: u32) -> Result<(), AuthError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(user: &str) -> Identity {
        Identity {
            token_url: "http://127.0.0.1:1/oauth/v2/token".into(),
            client_id: "c".into(),
            username: user.into(),
        }
    }

    fn tokens(id: &Identity) -> CachedTokens {
        CachedTokens {
            identity: id.clone(),
            access_token: Secret::new("access-1234"),
            token_type: "bearer".into(),
            obtained_at: 1000,
            expires_at: Some(8200),
            refresh_token: Some(Secret::new("refresh-1234")),
            refresh_obtained_at: Some(1000),
            scope: None,
            subject: None,
            dpop_key: None,
        }
    }

    #[test]
    fn validity_keeps_a_margin_of_60s_or_half_the_lifetime() {
        let t = tokens(&identity("u"));
        assert!(t.access_valid_at(8200 - 61));
        assert!(!t.access_valid_at(8200 - 60));
        let short = CachedTokens {
            expires_at: Some(1010),
            ..t.clone()
        };
        assert!(short.access_valid_at(1004));
        assert!(!short.access_valid_at(1005));
        let unknown = CachedTokens {
            expires_at: None,
            ..t
        };
        assert!(unknown.access_valid_at(u64::MAX));
    }

    #[test]
    fn identities_get_distinct_files() {
        assert_ne!(identity("a").file_stem(), identity("b").file_stem());
        assert!(identity("a").file_stem().starts_with("127.0.0.1_1-"));
    }

    #[cfg(unix)]
    #[test]
    fn save_load_roundtrip_with_private_modes_and_corrupt_files_moved_aside() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tokens_dir = dir.path().join("tokens");
        let id = identity("u");
        let store = TokenStore::open(&tokens_dir, &id).unwrap();
        assert_eq!(
            std::fs::metadata(&tokens_dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(store.load(&id).unwrap().is_none());
        store.save(&tokens(&id)).unwrap();
        assert_eq!(
            std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let back = store.load(&id).unwrap().unwrap();
        assert_eq!(back.access_token.expose(), "access-1234");
        // Another identity's file is not used.
        assert!(store.load(&identity("other")).unwrap().is_none());
        store.save(&tokens(&id)).unwrap();
        std::fs::write(store.path(), b"{not json").unwrap();
        assert!(store.load(&id).unwrap().is_none());
        assert!(!store.path().exists());
        let aside = std::fs::read_dir(&tokens_dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
        assert!(aside);
    }

    #[tokio::test]
    async fn the_lock_is_exclusive_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let id = identity("u");
        let store = TokenStore::open(dir.path(), &id).unwrap();
        let held = store.lock(Duration::from_secs(1)).await.unwrap();
        let e = store.lock(Duration::from_millis(100)).await;
        assert!(matches!(e, Err(AuthError::LockTimeout { .. })));
        drop(held);
        assert!(store.lock(Duration::from_millis(100)).await.is_ok());
    }
}
