//! Drop-ins: `foo.kube.d/*.conf` and its broader relatives, found across every search dir.
//!
//! Quadlet's rules (reference §1.6): the drop-in directory names of a unit go from the most
//! specific (`<file name>.d`) over the template's (`base@.kube.d`) and the dash truncations
//! (`a-b-.kube.d`, `a-.kube.d`) to the type-wide `kube.d`; the first `.conf` of a given file name
//! wins (so a specific one masks a broader one, and a higher-precedence search dir masks a lower
//! one); the winners are applied sorted by file name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use super::log::Log;
use super::paths::{pseudo_file_system, SearchDir, MAX_ENTRIES};

/// The drop-in directory names of the unit file `file_name`, most specific first.
pub fn dir_names(file_name: &str) -> Vec<String> {
    let (stem, ext) = match file_name.rfind('.') {
        Some(dot) => (&file_name[..dot], &file_name[dot..]),
        None => (file_name, ""),
    };
    let (base, instance, is_template) = match stem.split_once('@') {
        Some((base, instance)) => (base, instance, true),
        None => (stem, "", false),
    };
    let dropin_ext = format!("{ext}.d");
    // Built broad → specific, as Quadlet does, then reversed.
    let mut names = vec![dropin_ext.trim_start_matches('.').to_string()];
    let parts: Vec<&str> = base.split('-').collect();
    for i in 1..parts.len() {
        let truncated = format!("{}-", parts[..i].join("-"));
        names.push(format!("{truncated}{dropin_ext}"));
        if is_template {
            names.push(format!("{truncated}@{dropin_ext}"));
        }
    }
    if !instance.is_empty() {
        names.push(format!("{base}@{dropin_ext}"));
    }
    names.push(format!("{file_name}.d"));
    names.reverse();
    names
}

/// Drop-in directory listings, read once per run: every `.container` reads `container.d`, so
/// without this a thousand units would list the same directory a thousand times.
#[derive(Default)]
pub struct Finder {
    listings: HashMap<PathBuf, Vec<(String, PathBuf)>>,
    /// Every name that may be a directory in some search dir (made on first use; the search
    /// dirs are the same for every unit of a run): most drop-in dir names of most units exist
    /// nowhere, and one look-up here spares searching each dir for them.
    present: Option<HashSet<OsString>>,
}

impl Finder {
    /// The drop-in files of `file_name`, in the order they are to be applied.
    pub fn find(&mut self, file_name: &str, dirs: &[SearchDir], log: &mut Log) -> Vec<PathBuf> {
        let mut winners: BTreeMap<&str, &Path> = BTreeMap::new();
        let mut wanted = Vec::new();
        let present = self.present.get_or_insert_with(|| {
            dirs.iter()
                .flat_map(|d| &d.entries)
                .filter(|e| e.file_type.map_or(true, |t| t.is_dir() || t.is_symlink()))
                .map(|e| e.name.clone())
                .collect()
        });
        for name in dir_names(file_name) {
            if !present.contains(OsStr::new(&name)) {
                continue;
            }
            for dir in dirs.iter().filter(|d| d.may_have_dir(&name)) {
                let dropin_dir = dir.path.join(&name);
                if !self.listings.contains_key(&dropin_dir) {
                    let listing = list_confs(&dropin_dir, log);
                    self.listings.insert(dropin_dir.clone(), listing);
                }
                wanted.push(dropin_dir);
            }
        }
        for dropin_dir in &wanted {
            for (conf, path) in self.listings.get(dropin_dir).into_iter().flatten() {
                winners.entry(conf.as_str()).or_insert(path.as_path());
            }
        }
        winners.into_values().map(Path::to_path_buf).collect()
    }
}

/// The `.conf` files of one drop-in dir (none if it is missing or not a directory), at most
/// [`MAX_ENTRIES`] entries read; a drop-in dir that is a link into `/proc` or `/sys` is not read.
fn list_confs(dropin_dir: &Path, log: &mut Log) -> Vec<(String, PathBuf)> {
    let resolved = fs::canonicalize(dropin_dir).unwrap_or_else(|_| dropin_dir.to_path_buf());
    if let Some(kind) = pseudo_file_system(&resolved) {
        log.info(&format!(
            "Warning: not reading drop-ins from {}: it is on a {kind} pseudo file system",
            dropin_dir.display()
        ));
        return Vec::new();
    }
    let entries = match fs::read_dir(dropin_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        // A symlink to a file, say: not a drop-in dir, and not worth an error.
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Vec::new(),
        Err(e) => {
            log.error(&format!(
                "error reading drop-in directory {}: {e}",
                dropin_dir.display()
            ));
            return Vec::new();
        }
    };
    entries
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let conf = entry.file_name().into_string().ok()?;
            conf.ends_with(".conf").then(|| (conf, entry.path()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadlet::paths::{search_dirs, SearchEnv};

    #[test]
    fn names_follow_quadlet_for_plain_dashed_and_template_units() {
        assert_eq!(dir_names("web.kube"), ["web.kube.d", "kube.d"]);
        assert_eq!(
            dir_names("a-b-c.kube"),
            ["a-b-c.kube.d", "a-b-.kube.d", "a-.kube.d", "kube.d"]
        );
        assert_eq!(
            dir_names("foo-bar@inst.container"),
            [
                "foo-bar@inst.container.d",
                "foo-bar@.container.d",
                "foo-@.container.d",
                "foo-.container.d",
                "container.d"
            ]
        );
        assert_eq!(
            dir_names("a-b-c@x.kube"),
            [
                "a-b-c@x.kube.d",
                "a-b-c@.kube.d",
                "a-b-@.kube.d",
                "a-b-.kube.d",
                "a-@.kube.d",
                "a-.kube.d",
                "kube.d"
            ]
        );
        // A bare template has no separate `base@` entry: its own name is that.
        assert_eq!(dir_names("t@.pod"), ["t@.pod.d", "pod.d"]);
        // Instance names are never truncated.
        assert_eq!(
            dir_names("t@a-b.volume"),
            ["t@a-b.volume.d", "t@.volume.d", "volume.d"]
        );
    }

    fn write(root: &Path, path: &str) {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "").unwrap();
    }

    #[test]
    fn first_basename_wins_across_names_and_dirs_then_sorted() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "hi/web-app.kube.d/20-b.conf");
        write(r, "hi/kube.d/10-a.conf");
        write(r, "lo/web-.kube.d/20-b.conf"); // masked by hi's specific 20-b
        write(r, "lo/web-app.kube.d/10-a.conf"); // specific name beats hi's broad kube.d
        write(r, "lo/kube.d/30-c.conf");
        write(r, "lo/kube.d/notes.txt");
        write(r, "lo/other.kube.d/05-x.conf");
        let env = SearchEnv {
            root: r.to_path_buf(),
            unit_dirs: Some(format!(
                "{}:{}",
                r.join("hi").display(),
                r.join("lo").display()
            )),
            ..SearchEnv::default()
        };
        let mut log = Log::capturing(false);
        let dirs = search_dirs(&env, &mut log);
        let found = Finder::default().find("web-app.kube", &dirs, &mut log);
        let rel: Vec<String> = found
            .iter()
            .map(|p| {
                p.strip_prefix(fs::canonicalize(r).unwrap())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            rel,
            [
                "lo/web-app.kube.d/10-a.conf",
                "hi/web-app.kube.d/20-b.conf",
                "lo/kube.d/30-c.conf"
            ]
        );
        assert_eq!(log.error_count(), 0);
    }
}
