//! A persisted cookie jar (`http.cookies: persist`): one 0600 file per profile in the
//! state folder, changed only under its cross-process lock and replaced atomically,
//! the way the token cache is (`auth/store.rs`: an exclusive lock on a sibling lock
//! file, a temp file in the same folder, fsync, rename).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cookie_store::{CookieStore, RawCookie};

use crate::user::private_file::{self, LockError};

/// How long a process waits for another's lock, as for the token cache.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The jar file of one profile, and its lock file.
#[derive(Debug, Clone)]
pub struct JarFile {
    file: PathBuf,
    lock: PathBuf,
}

/// Holds the cross-process lock until dropped.
pub struct JarLock {
    _file: File,
}

impl JarFile {
    /// The jar `stem` in `dir` (`dir/stem.json`, locked by `dir/stem.lock`).
    pub fn new(dir: &Path, stem: &str) -> JarFile {
        JarFile {
            file: dir.join(format!("{stem}.json")),
            lock: dir.join(format!("{stem}.lock")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The cookies in the file (none when it does not exist). A file that does not
    /// parse is moved aside with a warning and reads as empty.
    pub fn load(&self) -> Result<CookieStore, String> {
        let bytes = match std::fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CookieStore::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.file.display())),
        };
        match super::cookie::decode(&bytes) {
            Ok(store) => Ok(store),
            Err(e) => {
                let aside = self.file.with_extension("corrupt");
                let _ = std::fs::rename(&self.file, &aside);
                eprintln!(
                    "warning: cookie jar {} ignored: it does not parse ({e}); moved to {}",
                    self.file.display(),
                    aside.display()
                );
                Ok(CookieStore::new())
            }
        }
    }

    /// Adds `cookies`, set by a response from `url`, to the file: under the lock,
    /// what another process saved meanwhile is kept.
    pub async fn merge(
        &self,
        url: &url::Url,
        cookies: Vec<RawCookie<'static>>,
    ) -> Result<(), String> {
        let _lock = self.lock().await?;
        let mut store = self.load()?;
        store.store_response_cookies(cookies.into_iter(), url);
        self.save(&store)
    }

    /// Replaces the file atomically: a 0600 temp file in the same folder, fsync, rename.
    fn save(&self, store: &CookieStore) -> Result<(), String> {
        let data = super::cookie::encode(store)?;
        private_file::replace(&self.file, &data, ".cookies-").map_err(|(what, e)| {
            format!(
                "cannot save cookies to {} ({what}): {e}",
                self.file.display()
            )
        })
    }

    /// Forgets the jar (`runner logout`). Returns whether there was one.
    pub async fn remove(&self) -> Result<bool, String> {
        let _lock = self.lock().await?;
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("cannot remove {}: {e}", self.file.display())),
        }
    }

    /// Takes the exclusive cross-process lock (creating the private folder), waiting
    /// at most 30 s.
    pub async fn lock(&self) -> Result<JarLock, String> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let file = private_file::lock(&self.lock, LOCK_WAIT)
            .await
            .map_err(|e| match e {
                LockError::Timeout => format!(
                    "another runner held the lock {} for {} s",
                    self.lock.display(),
                    LOCK_WAIT.as_secs()
                ),
                LockError::Open(e) => format!("cannot open lock {}: {e}", self.lock.display()),
                LockError::Lock(e) => format!("cannot lock {}: {e}", self.lock.display()),
            })?;
        Ok(JarLock { _file: file })
    }
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    private_file::create_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
