//! One auto-update at a time per user: the timer's run and a manual one must not pull, retag and
//! restart the same units at once (a rollback could retag over the other run's update).

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the lock file {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another quadplay auto-update is running (lock {} is held)", path.display())]
    Busy { path: PathBuf },
}

/// Held while it lives; the kernel drops the lock when the file is closed, even on a crash.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// `$XDG_RUNTIME_DIR/quadplay-auto-update.lock` (or `/run/user/UID/…`) for users, `/run/…` for root.
pub fn default_path() -> PathBuf {
    // SAFETY: geteuid and getuid have no preconditions and cannot fail.
    let (euid, uid) = unsafe { (libc::geteuid(), libc::getuid()) };
    let dir = if euid == 0 {
        PathBuf::from("/run")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")))
    };
    dir.join("quadplay-auto-update.lock")
}

/// Take the lock at `path` without waiting.
pub fn try_lock(path: &Path) -> Result<Lock, LockError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| LockError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    // SAFETY: the descriptor is open and owned by `file` for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Lock { _file: file });
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(LockError::Busy {
            path: path.to_path_buf(),
        })
    } else {
        Err(LockError::Open {
            path: path.to_path_buf(),
            source: err,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_run_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("au.lock");
        let first = try_lock(&path).unwrap();
        let err = try_lock(&path).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("another quadplay auto-update"));
        drop(first);
        // Another test thread that is spawning a child may hold a copy of the descriptor between its
        // fork and exec (close-on-exec closes it only at exec), keeping the lock for a moment.
        let retaken = (0..100).any(|_| {
            try_lock(&path).is_ok() || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                false
            }
        });
        assert!(
            retaken,
            "the lock was not released after the first run ended"
        );
    }

    #[test]
    fn unwritable_place_is_a_named_error() {
        let err = try_lock(Path::new("/nonexistent-dir/x.lock")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x.lock"), "{err}");
    }
}
