//! The generator's output dir: services and `[Install]` links, written relative to one open
//! directory.
//!
//! Every write goes through a directory file descriptor (`openat`, `symlinkat`, `mkdirat`), so
//! that the kernel walks one name per file instead of the whole output path, and no planted
//! symlink can redirect a write: files are created with `O_EXCL | O_NOFOLLOW`, and a link
//! directory (`default.target.wants/`) is opened with `O_NOFOLLOW`.
//!
//! Why a service is written in place rather than as a temporary file renamed over its name:
//! systemd hands a generator empty output dirs (at boot and at every daemon-reload the manager
//! removes them, `lookup_paths_flush_generator`, before running the generators, and makes them
//! anew) and loads units from them only after every generator has exited, so there is no reader
//! that could see a file while it is written. What a rename would still guard against is a run killed in the
//! middle of a file, and it does not do that job either: a killed run leaves an incomplete tree
//! (some services missing) whatever each file's atomicity. A service is also written with a
//! single `write` of a few KiB, which tmpfs completes or fails as a whole page, and an empty
//! unit file is one systemd treats as masked (never loaded as a broken service). So a name that
//! is free is written in place; only a name that already exists (a generator run by hand into a
//! used dir, a leftover) is replaced atomically, as before: a temporary file renamed over it,
//! which also replaces, never follows, a symlink planted there.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{mkdirat, openat, renameat, symlinkat, unlinkat, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::install::{confined, Link};
use super::log::Log;

/// Regular files as `File::create` makes them: rw for all, less the umask.
const FILE_MODE: u32 = 0o666;
/// Directories as `fs::create_dir_all` makes them.
const DIR_MODE: u32 = 0o777;

/// An output dir, open; link directories are opened once and kept.
pub struct OutputDir {
    path: PathBuf,
    dir: OwnedFd,
    /// Link directory name → its descriptor (one that failed is tried again, and reported,
    /// for each link into it, as before).
    subdirs: HashMap<String, OwnedFd>,
}

impl OutputDir {
    /// Makes `path` (and its parents) if needed and opens it.
    pub fn open(path: &Path) -> io::Result<OutputDir> {
        fs::create_dir_all(path)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = openat(rustix::fs::CWD, path, flags, Mode::empty())?;
        Ok(OutputDir {
            path: path.to_path_buf(),
            dir,
            subdirs: HashMap::new(),
        })
    }

    /// The dir's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the service file `name` (one plain name, checked by [`confined`]) with `bytes`.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        confined(&self.path, Path::new(name), 1)?;
        match create_new(&self.dir, name) {
            Ok(file) => write_all(file, bytes),
            Err(e) if e == Errno::EXIST => self.replace_file(name, bytes),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces whatever is at `name` by a file with `bytes`, atomically: a temporary file in
    /// the same dir, renamed over it (readers see the old entry or the whole new file).
    fn replace_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp = temp_name(name);
        let result = (|| {
            let file = match create_new(&self.dir, &tmp) {
                // A leftover from a killed run.
                Err(e) if e == Errno::EXIST => {
                    unlinkat(&self.dir, &tmp, AtFlags::empty())?;
                    create_new(&self.dir, &tmp)?
                }
                other => other?,
            };
            write_all(file, bytes)?;
            renameat(&self.dir, &tmp, &self.dir, name)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = unlinkat(&self.dir, &tmp, AtFlags::empty());
        }
        result
    }

    /// Creates `links`, replacing whatever is at each link path; failures are logged (not
    /// errors, as upstream).
    pub fn create_links(&mut self, links: &[Link], log: &mut Log) {
        for link in links {
            // A link is `name` or `dir/name`: anything else is a bug upstream, never followed.
            let path = match confined(&self.path, &link.path, 2) {
                Ok(path) => path,
                Err(e) => {
                    log.error(&e.to_string());
                    continue;
                }
            };
            let (dir, name) = match (link.path.parent(), link.path.file_name()) {
                (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => (Some(dir), name),
                (_, Some(name)) => (None, name),
                (_, None) => continue,
            };
            let dir_fd = match dir {
                None => &self.dir,
                Some(dir) => match self.subdir(dir) {
                    Ok(fd) => fd,
                    Err(e) => {
                        let shown = self.path.join(dir);
                        log.info(&format!("Can't create dir {}: {e}", shown.display()));
                        continue;
                    }
                },
            };
            if let Err(e) = replace_symlink(dir_fd, &link.target, name) {
                log.info(&format!("Failed creating symlink {}: {e}", path.display()));
            }
        }
    }

    /// The link directory `name` (one component), made if missing; a symlink there is refused:
    /// a `default.target.wants` planted as a link to `/etc` must not make the generator write
    /// there.
    fn subdir(&mut self, name: &Path) -> io::Result<&OwnedFd> {
        let key = name.to_string_lossy();
        if !self.subdirs.contains_key(key.as_ref()) {
            match mkdirat(&self.dir, name, Mode::from_raw_mode(DIR_MODE)) {
                Ok(()) => {}
                Err(e) if e == Errno::EXIST => {}
                Err(e) => return Err(e.into()),
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = openat(&self.dir, name, flags, Mode::empty()).map_err(|e| {
                if e == Errno::LOOP || e == Errno::NOTDIR {
                    not_a_dir(&self.dir, name, e)
                } else {
                    e.into()
                }
            })?;
            self.subdirs.insert(key.to_string(), fd);
        }
        Ok(&self.subdirs[key.as_ref()])
    }
}

/// Why `name` in `dir` cannot be opened as a directory: "it is a symlink" when it is one.
fn not_a_dir(dir: &OwnedFd, name: &Path, e: Errno) -> io::Error {
    let is_link = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_symlink());
    if is_link {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symlink, not a directory",
        )
    } else {
        e.into()
    }
}

/// A new regular file `name` in `dir`, for writing; never follows a symlink at `name`.
fn create_new(dir: &OwnedFd, name: &str) -> rustix::io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    openat(dir, name, flags, Mode::from_raw_mode(FILE_MODE)).map(File::from)
}

fn write_all(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)
}

/// `ln -sf`: only removes what is in the way when there is something.
fn replace_symlink(dir: &OwnedFd, target: &Path, name: &std::ffi::OsStr) -> io::Result<()> {
    match symlinkat(target, dir, name) {
        Err(e) if e == Errno::EXIST => {
            unlinkat(dir, name, AtFlags::empty())?;
            Ok(symlinkat(target, dir, name)?)
        }
        other => Ok(other?),
    }
}

/// `.NAME.PID.tmp`: hidden (systemd skips it), and per process.
fn temp_name(name: &str) -> String {
    format!(".{name}.{}.tmp", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadlet::install::{links, Install};
    use crate::unit::{Origin, Value};
    use std::os::unix::fs::symlink;
    use std::sync::Arc;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_new_files_and_replaces_existing_ones_without_a_temp_file_left() {
        let t = tempfile::tempdir().unwrap();
        let out = OutputDir::open(&t.path().join("out")).unwrap();
        out.write_file("a.service", b"new a").unwrap();
        fs::write(t.path().join("out/b.service"), "old").unwrap();
        out.write_file("b.service", b"new b").unwrap();
        assert_eq!(
            fs::read_to_string(t.path().join("out/a.service")).unwrap(),
            "new a"
        );
        assert_eq!(
            fs::read_to_string(t.path().join("out/b.service")).unwrap(),
            "new b"
        );
        assert_eq!(names(&t.path().join("out")), ["a.service", "b.service"]);
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("victim");
        fs::write(&outside, "precious").unwrap();
        let dangling = t.path().join("would-be-created");
        let out = OutputDir::open(&t.path().join("out")).unwrap();
        symlink(&outside, t.path().join("out/x.service")).unwrap();
        symlink(&dangling, t.path().join("out/y.service")).unwrap();
        out.write_file("x.service", b"unit").unwrap();
        out.write_file("y.service", b"unit").unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
        assert!(!dangling.exists());
        let x = t.path().join("out/x.service");
        assert!(fs::symlink_metadata(&x).unwrap().is_file());
        assert_eq!(fs::read_to_string(x).unwrap(), "unit");
    }

    #[test]
    fn a_failed_replacement_leaves_the_old_entry_and_no_temp_file() {
        let t = tempfile::tempdir().unwrap();
        let out = OutputDir::open(&t.path().join("out")).unwrap();
        // The target is a non-empty directory: rename fails after the temp file was written.
        fs::create_dir_all(t.path().join("out/d.service/inner")).unwrap();
        assert!(out.write_file("d.service", b"new").is_err());
        assert!(t.path().join("out/d.service/inner").is_dir());
        assert_eq!(names(&t.path().join("out")), ["d.service"]);
    }

    #[test]
    fn names_that_leave_the_dir_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let out = OutputDir::open(&t.path().join("out")).unwrap();
        for bad in ["../x.service", "a/b.service", "", ".."] {
            assert!(out.write_file(bad, b"x").is_err(), "{bad}");
        }
        assert_eq!(names(t.path()), ["out"]);
        assert!(names(&t.path().join("out")).is_empty());
    }

    fn words(list: &[&str]) -> Vec<Value> {
        let origin = Origin {
            path: Arc::from(Path::new("/u/x.kube")),
            line: 7,
        };
        list.iter()
            .map(|s| Value {
                value: s.to_string(),
                origin: origin.clone(),
            })
            .collect()
    }

    #[test]
    fn links_replace_existing_files_and_refuse_planted_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        fs::create_dir_all(t.path().join("out/default.target.wants")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(t.path().join("out/default.target.wants/x.service"), "stale").unwrap();
        symlink(&outside, t.path().join("out/multi-user.target.wants")).unwrap();
        let install = Install {
            wanted_by: words(&["default.target", "multi-user.target"]),
            alias: words(&["alias.service"]),
            ..Install::default()
        };
        let links = links("x.service", &install).unwrap();
        let mut out = OutputDir::open(&t.path().join("out")).unwrap();
        let mut log = Log::capturing(false);
        out.create_links(&links, &mut log);
        let read = |p: &str| fs::read_link(t.path().join("out").join(p)).unwrap();
        assert_eq!(
            read("default.target.wants/x.service"),
            Path::new("../x.service")
        );
        assert_eq!(read("alias.service"), Path::new("x.service"));
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        let captured = log.captured();
        assert_eq!(captured.len(), 1, "{captured:?}");
        assert!(captured[0].contains("multi-user.target.wants: it is a symlink, not a directory"));
    }
}
