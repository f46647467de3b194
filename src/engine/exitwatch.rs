//! Container deaths without a helper process.
//!
//! conmon, which babysits every container, writes `<exit dir>/<container id>` when its container
//! exits (Podman passes `--exit-dir`). An inotify watch on that directory wakes us exactly then:
//! no `podman events` child (≈33 MiB resident, and with the `file` events logger it polls its
//! log several times a second), no polling here. Only files named after our own containers'
//! IDs count; the caller falls back to `podman events` when the directory cannot be found.

use std::collections::HashSet;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::thread::{self, JoinHandle};

use super::{EventSink, Watch, WatchEvent};

/// An inotify watch on conmon's exit directory, ended through a pipe.
pub struct ExitDirWatch {
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Starts watching `dir` for exit files of the containers `ids`. On error the sink comes back
/// so that the caller can use another way.
pub fn start(
    dir: &Path,
    ids: HashSet<String>,
    sink: EventSink,
) -> Result<ExitDirWatch, (io::Error, EventSink)> {
    match setup(dir) {
        Ok((inotify, read_end, write_end)) => {
            let spawned = thread::Builder::new()
                .name("exit-watch".into())
                .stack_size(64 * 1024)
                .spawn(move || run(inotify, read_end, ids, sink));
            match spawned {
                Ok(handle) => Ok(ExitDirWatch {
                    stop: Some(write_end),
                    thread: Some(handle),
                }),
                // The sink moved into the closure that failed to start; nothing to give back
                // but a sink that ends at once.
                Err(e) => Err((e, Box::new(|_| false))),
            }
        }
        Err(e) => Err((e, sink)),
    }
}

fn setup(dir: &Path) -> io::Result<(OwnedFd, OwnedFd, OwnedFd)> {
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in exit dir path"))?;
    // SAFETY: plain syscalls on fds we own; every returned fd is wrapped in an OwnedFd at once.
    unsafe {
        let inotify = OwnedFd::from_raw_fd(check(libc::inotify_init1(libc::IN_CLOEXEC))?);
        check(libc::inotify_add_watch(
            inotify.as_raw_fd(),
            path.as_ptr(),
            libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO,
        ))?;
        let mut fds = [0 as libc::c_int; 2];
        check(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC))?;
        Ok((
            inotify,
            OwnedFd::from_raw_fd(fds[0]),
            OwnedFd::from_raw_fd(fds[1]),
        ))
    }
}

/// Names carried by a buffer of `struct inotify_event` records.
fn event_names(buf: &[u8]) -> Vec<String> {
    const HEADER: usize = 16; // wd, mask, cookie, len: four 32-bit fields
    let mut names = Vec::new();
    let mut at = 0;
    while at + HEADER <= buf.len() {
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(&buf[at + 12..at + 16]);
        let len = u32::from_ne_bytes(len_bytes) as usize;
        let end = (at + HEADER + len).min(buf.len());
        let raw = &buf[at + HEADER..end];
        let name = raw.split(|b| *b == 0).next().unwrap_or_default();
        if !name.is_empty() {
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        at += HEADER + len;
    }
    names
}

fn run(inotify: OwnedFd, stop: OwnedFd, ids: HashSet<String>, mut sink: EventSink) {
    let mut buf = vec![0u8; 8192];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: inotify.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds points at two valid pollfd structs for the duration of the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if fds[1].revents != 0 {
            return;
        }
        // SAFETY: reads into our own buffer, bounded by its length.
        let n = unsafe { libc::read(inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        let n = usize::try_from(n).unwrap_or(0);
        for name in event_names(&buf[..n]) {
            if ids.contains(&name) && !sink(WatchEvent::Died { container: name }) {
                return;
            }
        }
    }
    sink(WatchEvent::Ended);
}

impl Watch for ExitDirWatch {
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // SAFETY: writes one byte from a local to a pipe we own.
            unsafe {
                libc::write(stop.as_raw_fd(), [1u8].as_ptr().cast(), 1);
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for ExitDirWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn reports_exit_files_of_our_containers_only() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let ids: HashSet<String> = ["abc123".to_string()].into();
        let sink: EventSink = Box::new(move |e| tx.send(e).is_ok());
        let mut watch = start(dir.path(), ids, sink).map_err(|(e, _)| e).unwrap();
        std::fs::write(dir.path().join("other"), "0").unwrap();
        // conmon writes a temporary file and renames it into place.
        std::fs::write(dir.path().join("abc123.tmp"), "1").unwrap();
        std::fs::rename(dir.path().join("abc123.tmp"), dir.path().join("abc123")).unwrap();
        let event = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            event,
            WatchEvent::Died {
                container: "abc123".into()
            }
        );
        watch.stop();
        assert!(rx.try_recv().is_err(), "events for other containers leaked");
    }

    #[test]
    fn missing_directory_gives_the_sink_back() {
        let sink: EventSink = Box::new(|_| true);
        let result = start(
            Path::new("/nonexistent/quadplay/exits"),
            HashSet::new(),
            sink,
        );
        assert!(result.is_err());
    }
}
