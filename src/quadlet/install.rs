//! `[Install]` → symlinks in the generator's output dir, as `systemctl enable` would make them.
//!
//! A generator cannot call `systemctl enable`; Quadlet instead writes the `.wants/`,
//! `.requires/`, `.upholds/` and `Alias=` links itself, next to the generated service
//! (reference §1.10). Link failures are logged but are not errors, as upstream.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::log::Log;

/// What a unit's `[Install]` group asks for (values already split into words).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    pub alias: Vec<String>,
    pub wanted_by: Vec<String>,
    pub required_by: Vec<String>,
    pub upheld_by: Vec<String>,
    /// `DefaultInstance=`: `Some("")` when the key is present but empty.
    pub default_instance: Option<String>,
}

/// One symlink: `path` (relative to the output dir) → `target` (relative to the link's dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub path: PathBuf,
    pub target: PathBuf,
}

/// The links for the service file `service` (e.g. `web.service`, `db@.service`).
///
/// Aliases that would leave the output dir (`../x`) are refused with a message instead of
/// being created outside it.
pub fn links(service: &str, install: &Install) -> (Vec<Link>, Vec<String>) {
    let mut paths = Vec::new();
    let mut refused = Vec::new();
    for alias in &install.alias {
        match clean_relative(alias) {
            Some(path) => paths.push(path),
            None => refused.push(format!(
                "Refusing Alias={alias} of {service}: it leaves the output directory"
            )),
        }
    }
    if let Some(enabled) = enabled_name(service, install) {
        let kinds = [
            (&install.wanted_by, "wants"),
            (&install.required_by, "requires"),
            (&install.upheld_by, "upholds"),
        ];
        for (targets, suffix) in kinds {
            // Only unit names are allowed here, not paths (silently ignored upstream).
            for target in targets.iter().filter(|t| !t.contains('/') && !t.is_empty()) {
                paths.push(PathBuf::from(format!("{target}.{suffix}")).join(&enabled));
            }
        }
    }
    let links = paths
        .into_iter()
        .map(|path| {
            let depth = path.components().count().saturating_sub(1);
            let mut target: PathBuf = std::iter::repeat("..").take(depth).collect();
            target.push(service);
            Link { path, target }
        })
        .collect();
    (links, refused)
}

/// The name the `.wants/` links carry: the service itself, or for a bare template
/// `base@.service` its `DefaultInstance` (`base@I.service`); `None` when a bare template has
/// no default instance, which systemd could not enable either.
fn enabled_name(service: &str, install: &Install) -> Option<String> {
    let (stem, ext) = match service.rfind('.') {
        Some(dot) => (&service[..dot], &service[dot..]),
        None => (service, ""),
    };
    match stem.split_once('@') {
        Some((base, "")) => install
            .default_instance
            .as_ref()
            .map(|instance| format!("{base}@{instance}{ext}")),
        _ => Some(service.to_string()),
    }
}

/// `path` cleaned like Go's `filepath.Clean` and made relative; `None` if it climbs out.
fn clean_relative(path: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.iter().collect())
}

/// Creates links under one output dir, remembering the directories it already made
/// (`default.target.wants/` is wanted by nearly every unit).
#[derive(Default)]
pub struct Creator {
    made: HashSet<PathBuf>,
}

impl Creator {
    /// Create `links` under `out_dir`, replacing whatever is at each link path.
    pub fn create(&mut self, out_dir: &Path, links: &[Link], log: &mut Log) {
        for link in links {
            let path = out_dir.join(&link.path);
            if let Some(dir) = path.parent() {
                if !self.made.contains(dir) {
                    if let Err(e) = fs::create_dir_all(dir) {
                        log.info(&format!("Can't create dir {}: {e}", dir.display()));
                        continue;
                    }
                    self.made.insert(dir.to_path_buf());
                }
            }
            if let Err(e) = replace_symlink(&link.target, &path) {
                log.info(&format!("Failed creating symlink {}: {e}", path.display()));
            }
        }
    }
}

/// `ln -sf`: only removes what is in the way when there is something.
fn replace_symlink(target: &Path, path: &Path) -> std::io::Result<()> {
    match symlink(target, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            symlink(target, path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn show(links: &[Link]) -> Vec<String> {
        links
            .iter()
            .map(|l| format!("{} -> {}", l.path.display(), l.target.display()))
            .collect()
    }

    #[test]
    fn wants_requires_upholds_and_aliases() {
        let install = Install {
            alias: words(&[
                "a.service",
                "in/a/dir/alias3.service",
                "/abs.service",
                "x/../y.service",
            ]),
            wanted_by: words(&["default.target", "some/path.target"]),
            required_by: words(&["multi-user.target"]),
            upheld_by: words(&["other.service"]),
            default_instance: None,
        };
        let (links, refused) = links("install.service", &install);
        assert!(refused.is_empty());
        assert_eq!(
            show(&links),
            [
                "a.service -> install.service",
                "in/a/dir/alias3.service -> ../../../install.service",
                "abs.service -> install.service",
                "y.service -> install.service",
                "default.target.wants/install.service -> ../install.service",
                "multi-user.target.requires/install.service -> ../install.service",
                "other.service.upholds/install.service -> ../install.service",
            ]
        );
    }

    #[test]
    fn bare_templates_need_a_default_instance_except_for_aliases() {
        let mut install = Install {
            alias: words(&["t-alias@.service"]),
            wanted_by: words(&["default.target"]),
            ..Install::default()
        };
        let (without, _) = links("t-volume@.service", &install);
        assert_eq!(show(&without), ["t-alias@.service -> t-volume@.service"]);
        install.default_instance = Some("one".into());
        let (with, _) = links("t-volume@.service", &install);
        assert_eq!(
            show(&with),
            [
                "t-alias@.service -> t-volume@.service",
                "default.target.wants/t-volume@one.service -> ../t-volume@.service",
            ]
        );
        // Instances are enabled under their own name.
        let (inst, _) = links("t@two.service", &install);
        assert_eq!(
            show(&inst)[1],
            "default.target.wants/t@two.service -> ../t@two.service"
        );
    }

    #[test]
    fn aliases_leaving_the_output_dir_are_refused() {
        let install = Install {
            alias: words(&["../escape.service", "a/../../b.service", "."]),
            ..Install::default()
        };
        let (links, refused) = links("x.service", &install);
        assert!(links.is_empty());
        assert_eq!(refused.len(), 3);
    }

    #[test]
    fn create_replaces_existing_files() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path();
        fs::create_dir_all(out.join("default.target.wants")).unwrap();
        fs::write(out.join("default.target.wants/x.service"), "stale").unwrap();
        let install = Install {
            wanted_by: words(&["default.target"]),
            alias: words(&["d/alias.service"]),
            ..Install::default()
        };
        let (links, _) = links("x.service", &install);
        let mut log = Log::capturing(false);
        Creator::default().create(out, &links, &mut log);
        assert_eq!(
            fs::read_link(out.join("default.target.wants/x.service")).unwrap(),
            Path::new("../x.service")
        );
        assert_eq!(
            fs::read_link(out.join("d/alias.service")).unwrap(),
            Path::new("../x.service")
        );
        assert!(log.captured().is_empty());
    }
}
