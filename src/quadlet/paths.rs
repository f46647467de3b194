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

/// How many directory levels below a search dir are searched. Quadlet has no limit; real trees
/// are one or two levels deep (`users/1000/app/`), and a bind mount of a directory inside itself
/// makes an endless tree of distinct paths that only a depth limit ends.
pub const MAX_DEPTH: usize = 16;

/// How many directory entries one run reads in all search dirs together: real installations
/// have tens; a search dir that leads to `/` ends after this many (about half a second, where
/// 100,000 took 2.3 s), with an error naming where it stopped.
pub const MAX_ENTRIES: usize = 20_000;

/// A depth-first, pre-order walk that follows symlinks and visits each real directory once,
/// bounded in depth and entries, never entering pseudo file systems (`/proc`, `/sys`, `/dev`).
#[derive(Default)]
struct Walk {
    dirs: Vec<SearchDir>,
    visited: HashSet<PathBuf>,
    /// Entries read so far, against [`MAX_ENTRIES`].
    entries: usize,
    /// The entry limit was reached: nothing more is read.
    full: bool,
    /// Search roots whose depth limit was already reported.
    too_deep: HashSet<PathBuf>,
}

impl Walk {
    fn add(&mut self, path: &Path, keep: &dyn Fn(&Path) -> bool, log: &mut Log) {
        match fs::canonicalize(path) {
            Ok(resolved) => self.visit(resolved.clone(), &resolved, 0, keep, log),
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

    /// Whether `resolved`, `depth` levels below `root`, may be read; reports why not.
    fn may_enter(&mut self, resolved: &Path, root: &Path, depth: usize, log: &mut Log) -> bool {
        if self.full {
            return false;
        }
        if let Some(kind) = pseudo_file_system(resolved) {
            // A link to `/dev/null` (a masked unit) is no directory: nothing to say about it.
            if !resolved.is_dir() {
                return false;
            }
            log.info(&format!(
                "Warning: not searching {}: it is on a {kind} pseudo file system, not a unit directory",
                resolved.display()
            ));
            return false;
        }
        if depth > MAX_DEPTH {
            if self.too_deep.insert(root.to_path_buf()) {
                log.error(&format!(
                    "not searching {}: more than {MAX_DEPTH} directory levels below {}",
                    resolved.display(),
                    root.display()
                ));
            }
            return false;
        }
        true
    }

    /// `resolved` is a canonical path, `depth` levels below the search dir `root`.
    fn visit(
        &mut self,
        resolved: PathBuf,
        root: &Path,
        depth: usize,
        keep: &dyn Fn(&Path) -> bool,
        log: &mut Log,
    ) {
        // Drop-in directories are never unit directories.
        if resolved.as_os_str().as_bytes().ends_with(b".d") || self.visited.contains(&resolved) {
            return;
        }
        if !keep(&resolved) || !self.may_enter(&resolved, root, depth, log) {
            return;
        }
        let budget = MAX_ENTRIES - self.entries;
        let entries = match read_sorted(&resolved, budget) {
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
        self.entries += entries.len();
        if entries.len() >= budget {
            self.full = true;
            log.error(&format!(
                "stopped searching at {}: more than {MAX_ENTRIES} entries in the search directories",
                resolved.display()
            ));
        }
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
                self.visit(child, root, depth + 1, keep, log);
            } else if let Ok(target) = fs::canonicalize(&child) {
                self.visit(target, root, depth + 1, keep, log);
            }
        }
    }
}

/// The kind of pseudo file system `path` (canonical) is on, if it is on one: by its place
/// (`/proc`, `/sys`, `/dev`: `/dev` is a devtmpfs, which `statfs` cannot tell from `/run`'s
/// tmpfs) or by its file system type wherever it is mounted.
pub fn pseudo_file_system(path: &Path) -> Option<&'static str> {
    for (top, kind) in [("/proc", "proc"), ("/sys", "sysfs"), ("/dev", "devtmpfs")] {
        if path.starts_with(top) {
            return Some(kind);
        }
    }
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statfs buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // The magic numbers of linux/magic.h (as i64: `f_type`'s width differs between targets).
    #[allow(clippy::unnecessary_cast)]
    let magic = st.f_type as i64;
    PSEUDO_MAGIC
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, kind)| *kind)
}

const PSEUDO_MAGIC: [(i64, &str); 12] = [
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x1cd1, "devpts"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0xcafe_4a11, "bpf"),
    (0x6265_6570, "configfs"),
    (0x6165_676c, "pstore"),
    (0xde5e_81e4, "efivarfs"),
];

/// The entries of `dir` sorted by name, at most `limit` of them (a directory of millions of
/// entries is not read whole).
fn read_sorted(dir: &Path, limit: usize) -> std::io::Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .take(limit)
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
    fn pseudo_file_systems_are_not_searched() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        mkdirs(r, &["units"]);
        symlink("/proc", r.join("units/proc")).unwrap();
        symlink("/sys/kernel", r.join("units/sys")).unwrap();
        symlink("/dev", r.join("units/dev")).unwrap();
        symlink("/dev/null", r.join("units/masked.container")).unwrap();
        let mut e = env(r, false);
        e.unit_dirs = Some(format!("/proc:{}", r.join("units").display()));
        let mut log = Log::capturing(false);
        let start = std::time::Instant::now();
        let dirs = search_dirs(&e, &mut log);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(rel(r, &dirs), ["/units"]);
        assert_eq!(log.error_count(), 0);
        let said = log.captured().join("\n");
        assert!(!said.contains("/dev/null"), "{said}");
        for p in ["/proc", "/sys/kernel", "/dev"] {
            assert!(
                said.contains(&format!("Warning: not searching {p}: it is on a ")),
                "{said}"
            );
        }
    }

    #[test]
    fn depth_is_bounded_and_reported_once() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let deep: String = (0..MAX_DEPTH + 3).map(|i| format!("/d{i}")).collect();
        mkdirs(r, &[&format!("units{deep}"), &format!("units/other{deep}")]);
        let mut e = env(r, false);
        e.unit_dirs = Some(r.join("units").display().to_string());
        let mut log = Log::capturing(false);
        let dirs = search_dirs(&e, &mut log);
        // The root, `d0`..`d15` and `other` with `d0`..`d14`.
        assert_eq!(dirs.len(), 1 + MAX_DEPTH + 1 + MAX_DEPTH - 1);
        assert_eq!(log.error_count(), 1, "{:?}", log.captured());
        assert!(log.captured()[0].contains("more than 16 directory levels below"));
    }

    #[test]
    fn entries_are_bounded_and_the_walk_still_returns_what_it_read() {
        let mut walk = Walk {
            entries: MAX_ENTRIES - 3,
            ..Walk::default()
        };
        let t = tempfile::tempdir().unwrap();
        mkdirs(t.path(), &["u/a", "u/b", "u/c", "u/d"]);
        let mut log = Log::capturing(false);
        walk.add(&t.path().join("u"), &|_| true, &mut log);
        assert_eq!(walk.dirs.len(), 1);
        assert_eq!(walk.dirs[0].entries.len(), 3);
        assert_eq!(log.error_count(), 1);
        assert!(log.captured()[0].contains("more than 20000 entries"));
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
