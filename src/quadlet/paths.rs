//! Where the generator looks for unit files: Quadlet's search paths, walked recursively.
//!
//! Everything here goes through [`SearchEnv::root`], so that tests and benchmarks can point the
//! whole file system view (`/run`, `/etc`, `/usr/share`, `$HOME`) at a temporary tree, as
//! zram-generator does. The walk also remembers each directory's entries, because the later
//! steps (loading units, finding drop-in directories) need them again and re-reading every
//! directory once per unit would dominate the generator's run time.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::log::Log;

/// Units placed at run time (rootful).
pub const UNIT_DIR_TEMP: &str = "/run/containers/systemd";
/// The administrator's units (rootful).
pub const UNIT_DIR_ADMIN: &str = "/etc/containers/systemd";
/// The distribution's units (rootful).
pub const UNIT_DIR_DISTRO: &str = "/usr/share/containers/systemd";
/// The administrator's units for every user (rootless), with per-UID sub-directories.
pub const UNIT_DIR_ADMIN_USER: &str = "/etc/containers/systemd/users";

/// The part of the process environment that decides the search paths.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    /// What `/` means for the default search paths; `/` except in tests and benchmarks.
    pub root: PathBuf,
    /// Rootless (user manager) search paths instead of the system ones.
    pub user: bool,
    /// `QUADLET_UNIT_DIRS`: replaces the default search paths when non-empty.
    pub unit_dirs: Option<String>,
    pub xdg_runtime_dir: Option<String>,
    pub xdg_config_home: Option<String>,
    pub home: Option<String>,
    /// The user whose `/etc/containers/systemd/users/UID` is searched in user mode.
    pub uid: u32,
}

/// Honoured only to let tests and benchmarks run against a private tree: the generator then
/// reads `$QUADPLAY_TEST_ROOT/etc/containers/systemd` instead of `/etc/containers/systemd`, etc.
pub const TEST_ROOT_ENV: &str = "QUADPLAY_TEST_ROOT";
/// With [`TEST_ROOT_ENV`] set: the UID to use for `users/UID`.
pub const TEST_UID_ENV: &str = "QUADPLAY_TEST_UID";

impl SearchEnv {
    /// The search environment of this process.
    pub fn from_process(user: bool) -> SearchEnv {
        let var = |name: &str| std::env::var(name).ok();
        let test_root = var(TEST_ROOT_ENV).filter(|r| !r.is_empty());
        // SAFETY: getuid cannot fail and has no preconditions.
        let mut uid = unsafe { libc::getuid() };
        if test_root.is_some() {
            if let Some(test_uid) = var(TEST_UID_ENV).and_then(|u| u.parse().ok()) {
                uid = test_uid;
            }
        }
        SearchEnv {
            root: PathBuf::from(test_root.unwrap_or_else(|| "/".to_string())),
            user,
            unit_dirs: var("QUADLET_UNIT_DIRS"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            home: var("HOME"),
            uid,
        }
    }

    /// `path` (absolute) as seen under [`SearchEnv::root`].
    fn rooted(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

/// One entry of a searched directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    /// The entry's own type (a symlink stays a symlink).
    pub file_type: Option<fs::FileType>,
}

/// A directory to search, with its entries sorted by name (empty when it does not exist).
#[derive(Debug, Clone)]
pub struct SearchDir {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl SearchDir {
    /// Whether an entry of that name exists (and may be a directory: a directory or a symlink).
    pub fn may_have_dir(&self, name: &str) -> bool {
        self.entries
            .binary_search_by(|e| e.name.as_os_str().cmp(OsStr::new(name)))
            .map(|i| {
                let t = self.entries[i].file_type;
                t.map_or(true, |t| t.is_dir() || t.is_symlink())
            })
            .unwrap_or(false)
    }
}

/// The directories to search, in precedence order (the first one wins a name clash).
pub fn search_dirs(env: &SearchEnv, log: &mut Log) -> Vec<SearchDir> {
    if let Some(list) = env.unit_dirs.as_deref().filter(|l| !l.is_empty()) {
        let mut dirs = Vec::new();
        for entry in list.split(':') {
            if !entry.starts_with('/') {
                // Quadlet stops at the first bad entry and still does not use the defaults.
                log.info(&format!("{entry} not a valid file path"));
                break;
            }
            dirs.push(PathBuf::from(entry));
        }
        return search_dirs_in(&dirs, log);
    }
    let mut walk = Walk::default();
    let users_dir = env.rooted(UNIT_DIR_ADMIN_USER);
    // Symlinks in the users dir are resolved once, as Quadlet does; the filters compare
    // resolved paths against it.
    let resolved_users = fs::canonicalize(&users_dir).unwrap_or_else(|_| users_dir.clone());
    if env.user {
        add_rootless(env, &mut walk, &resolved_users, log);
    } else {
        // `/etc/containers/systemd/users/**` holds users' units: never root's. The test is a
        // plain string prefix, as upstream (so `usersX` is excluded too).
        let not_users = |p: &Path| {
            !p.as_os_str()
                .as_bytes()
                .starts_with(resolved_users.as_os_str().as_bytes())
        };
        walk.add(&env.rooted(UNIT_DIR_TEMP), &not_users, log);
        walk.add(&env.rooted(UNIT_DIR_ADMIN), &not_users, log);
        walk.add(&env.rooted(UNIT_DIR_DISTRO), &|_| true, log);
    }
    walk.dirs
}

/// The given directories (absolute) and their sub-directories, in that order.
pub fn search_dirs_in(list: &[PathBuf], log: &mut Log) -> Vec<SearchDir> {
    let mut walk = Walk::default();
    for dir in list {
        walk.add(dir, &|_| true, log);
    }
    walk.dirs
}

fn add_rootless(env: &SearchEnv, walk: &mut Walk, resolved_users: &Path, log: &mut Log) {
    if let Some(runtime) = env.xdg_runtime_dir.as_deref().filter(|d| !d.is_empty()) {
        walk.add(
            &env.rooted(runtime).join("containers/systemd"),
            &|_| true,
            log,
        );
    }
    let config = match user_config_dir(env) {
        Ok(dir) => dir,
        Err(why) => {
            // Quadlet skips every remaining rootless dir in this case, the users dirs included.
            log.info(&format!("Warning: {why}"));
            return;
        }
    };
    walk.add(
        &env.rooted(&config).join("containers/systemd"),
        &|_| true,
        log,
    );
    // `users/` and its sub-directories, except the per-UID ones (`users/1000/...`).
    let not_per_uid = |p: &Path| match p.strip_prefix(resolved_users) {
        Ok(rest) => match rest.components().next() {
            Some(Component::Normal(first)) => !first.as_bytes().iter().all(u8::is_ascii_digit),
            _ => true,
        },
        Err(_) => false,
    };
    walk.add(&env.rooted(UNIT_DIR_ADMIN_USER), &not_per_uid, log);
    walk.add(
        &env.rooted(UNIT_DIR_ADMIN_USER).join(env.uid.to_string()),
        &|_| true,
        log,
    );
}

/// Go's `os.UserConfigDir`: `$XDG_CONFIG_HOME`, else `$HOME/.config`.
fn user_config_dir(env: &SearchEnv) -> Result<String, &'static str> {
    match env.xdg_config_home.as_deref().filter(|d| !d.is_empty()) {
        Some(dir) if dir.starts_with('/') => Ok(dir.to_string()),
        Some(_) => Err("path in $XDG_CONFIG_HOME is relative"),
        None => match env.home.as_deref().filter(|d| !d.is_empty()) {
            Some(home) => Ok(format!("{home}/.config")),
            None => Err("neither $XDG_CONFIG_HOME nor $HOME are defined"),
        },
    }
}

/// A depth-first, pre-order walk that follows symlinks and visits each real directory once.
#[derive(Default)]
struct Walk {
    dirs: Vec<SearchDir>,
    visited: HashSet<PathBuf>,
}

impl Walk {
    fn add(&mut self, path: &Path, keep: &dyn Fn(&Path) -> bool, log: &mut Log) {
        match fs::canonicalize(path) {
            Ok(resolved) => self.visit(resolved, keep, log),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log.debug(&format!("Error occurred resolving path {path:?}: {e}"));
                }
                // Kept (empty) so that "No files parsed from [...]" names every place looked at.
                self.dirs.push(SearchDir {
                    path: path.to_path_buf(),
                    entries: Vec::new(),
                });
            }
        }
    }

    /// `resolved` is a canonical path.
    fn visit(&mut self, resolved: PathBuf, keep: &dyn Fn(&Path) -> bool, log: &mut Log) {
        // Drop-in directories are never unit directories.
        if resolved.as_os_str().as_bytes().ends_with(b".d") || self.visited.contains(&resolved) {
            return;
        }
        if !keep(&resolved) {
            return;
        }
        let entries = match read_sorted(&resolved) {
            Ok(entries) => entries,
            Err(e) => {
                if e.raw_os_error() != Some(libc::ENOTDIR) {
                    log.debug(&format!(
                        "Error occurred walking sub directories {resolved:?}: {e}"
                    ));
                }
                return;
            }
        };
        self.visited.insert(resolved.clone());
        let index = self.dirs.len();
        self.dirs.push(SearchDir {
            path: resolved.clone(),
            entries,
        });
        // Recurse after pushing: pre-order. Clone the names to release the borrow of self.dirs.
        let children: Vec<(OsString, Option<fs::FileType>)> = self.dirs[index]
            .entries
            .iter()
            .filter(|e| e.file_type.map_or(true, |t| t.is_dir() || t.is_symlink()))
            .map(|e| (e.name.clone(), e.file_type))
            .collect();
        for (name, file_type) in children {
            let child = resolved.join(&name);
            if file_type.is_some_and(|t| t.is_dir()) {
                // A real directory below a canonical path is canonical already: no syscall.
                self.visit(child, keep, log);
            } else if let Ok(target) = fs::canonicalize(&child) {
                self.visit(target, keep, log);
            }
        }
    }
}

fn read_sorted(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| Entry {
            file_type: e.file_type().ok(),
            name: e.file_name(),
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn env(root: &Path, user: bool) -> SearchEnv {
        SearchEnv {
            root: root.to_path_buf(),
            user,
            ..SearchEnv::default()
        }
    }

    fn rel(root: &Path, dirs: &[SearchDir]) -> Vec<String> {
        let root = fs::canonicalize(root).unwrap();
        dirs.iter()
            .map(|d| match d.path.strip_prefix(&root) {
                Ok(p) => format!("/{}", p.display()),
                Err(_) => d.path.display().to_string(),
            })
            .collect()
    }

    fn mkdirs(root: &Path, dirs: &[&str]) {
        for d in dirs {
            fs::create_dir_all(root.join(d)).unwrap();
        }
    }

    #[test]
    fn rootful_order_recursion_and_users_exclusion() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(
            r,
            &[
                "run/containers/systemd",
                "etc/containers/systemd/b",
                "etc/containers/systemd/a/x",
                "etc/containers/systemd/users/1000",
                "etc/containers/systemd/usersX",
                "etc/containers/systemd/foo.container.d",
                "usr/share/containers/systemd",
            ],
        );
        fs::write(r.join("etc/containers/systemd/plain.container"), "").unwrap();
        let mut log = Log::capturing(true);
        let dirs = search_dirs(&env(r, false), &mut log);
        assert_eq!(
            rel(r, &dirs),
            [
                "/run/containers/systemd",
                "/etc/containers/systemd",
                "/etc/containers/systemd/a",
                "/etc/containers/systemd/a/x",
                "/etc/containers/systemd/b",
                "/usr/share/containers/systemd",
            ]
        );
    }

    #[test]
    fn rootless_order_and_per_uid_dirs() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(
            r,
            &[
                "run/user/7/containers/systemd",
                "home/u/.config/containers/systemd/sub",
                "etc/containers/systemd/users/7/deep",
                "etc/containers/systemd/users/8",
                "etc/containers/systemd/users/shared/9",
            ],
        );
        let mut e = env(r, true);
        e.uid = 7;
        e.home = Some("/home/u".into());
        e.xdg_runtime_dir = Some("/run/user/7".into());
        let mut log = Log::capturing(true);
        let dirs = search_dirs(&e, &mut log);
        assert_eq!(
            rel(r, &dirs),
            [
                "/run/user/7/containers/systemd",
                "/home/u/.config/containers/systemd",
                "/home/u/.config/containers/systemd/sub",
                "/etc/containers/systemd/users",
                "/etc/containers/systemd/users/shared",
                "/etc/containers/systemd/users/shared/9",
                "/etc/containers/systemd/users/7",
                "/etc/containers/systemd/users/7/deep",
            ]
        );
    }

    #[test]
    fn rootless_without_home_skips_the_rest_with_a_warning() {
        let t = tempfile::tempdir().unwrap();
        mkdirs(t.path(), &["etc/containers/systemd/users"]);
        let mut log = Log::capturing(false);
        let dirs = search_dirs(&env(t.path(), true), &mut log);
        assert!(dirs.is_empty());
        assert_eq!(log.error_count(), 0);
        assert!(log.captured()[0].starts_with("Warning: "));
    }

    #[test]
    fn symlinks_are_followed_once_and_cycles_end() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(r, &["units/real", "elsewhere/more"]);
        symlink("../elsewhere", r.join("units/link")).unwrap();
        symlink("..", r.join("units/real/loop")).unwrap();
        symlink("real", r.join("units/again")).unwrap();
        symlink("../units", r.join("elsewhere/back")).unwrap();
        let mut e = env(r, false);
        e.unit_dirs = Some(format!("{}", r.join("units").display()));
        let mut log = Log::capturing(true);
        let dirs = search_dirs(&e, &mut log);
        assert_eq!(
            rel(r, &dirs),
            ["/units", "/units/real", "/elsewhere", "/elsewhere/more"]
        );
    }

    #[test]
    fn unit_dirs_stop_at_a_relative_entry_and_replace_defaults() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(r, &["a", "b", "etc/containers/systemd"]);
        let mut e = env(r, false);
        e.unit_dirs = Some(format!(
            "{}:relative:{}",
            r.join("a").display(),
            r.join("b").display()
        ));
        let mut log = Log::capturing(false);
        let dirs = search_dirs(&e, &mut log);
        assert_eq!(rel(r, &dirs), ["/a"]);
        assert_eq!(log.captured(), ["relative not a valid file path"]);
    }

    #[test]
    fn may_have_dir_finds_dirs_and_symlinks_only() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(r, &["u/x.kube.d"]);
        fs::write(r.join("u/file.conf"), "").unwrap();
        symlink("x.kube.d", r.join("u/y.kube.d")).unwrap();
        let mut e = env(r, false);
        e.unit_dirs = Some(r.join("u").display().to_string());
        let dirs = search_dirs(&e, &mut Log::capturing(false));
        assert!(dirs[0].may_have_dir("x.kube.d"));
        assert!(dirs[0].may_have_dir("y.kube.d"));
        assert!(!dirs[0].may_have_dir("file.conf"));
        assert!(!dirs[0].may_have_dir("z.kube.d"));
    }
}
