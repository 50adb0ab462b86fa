//! Files only the user may read, shared by several processes: the token cache and
//! the cookie jar. Each is replaced whole (never truncated in place) and changed
//! under an exclusive lock file, so a killed writer or a concurrent one never leaves
//! half a file or loses another's write.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Creates `dir` and its parents, private to the user (0700 on Unix).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Replaces `path` with `data` atomically: a 0600 temp file named
/// `{temp_prefix}….tmp` in the same folder, fsync, rename, fsync the folder. On
/// failure, says which step failed.
pub fn replace(
    path: &Path,
    data: &[u8],
    temp_prefix: &str,
) -> Result<(), (&'static str, std::io::Error)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(temp_prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| ("temp file", e))?;
    tmp.write_all(data).map_err(|e| ("write", e))?;
    tmp.as_file().sync_all().map_err(|e| ("fsync", e))?;
    tmp.persist(path).map_err(|e| ("rename", e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Why [`lock`] did not get the lock.
#[derive(Debug)]
pub enum LockError {
    /// The lock file could not be opened.
    Open(std::io::Error),
    /// Another process held it for the whole wait.
    Timeout,
    /// Locking failed for another reason.
    Lock(std::io::Error),
}

/// Opens (creating, 0600) the lock file at `path` and takes its exclusive lock,
/// polling for at most `timeout`. The lock lasts as long as the returned file.
pub async fn lock(path: &Path, timeout: Duration) -> Result<File, LockError> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(LockError::Open)?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(LockError::Timeout),
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Lock(e)),
        }
    }
}
