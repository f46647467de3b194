//! Which Podman the generated units will run with, found without starting any process.
//!
//! A generator runs at every boot and daemon-reload, before most of the system is up: it must
//! not execute Podman (that was half its run time, and Podman may touch storage or hang). The
//! version comes, in order, from `QUADPLAY_PODMAN_VERSION` (packagers, tests), then from the
//! package database that installed the podman binary the units name:
//!
//! * dpkg (Debian, Ubuntu): the `podman` stanza of `/var/lib/dpkg/status`, trusted only when
//!   dpkg's file list for `podman` contains that binary (so a `$PODMAN` built by hand elsewhere
//!   is not mistaken for the packaged one) and the package is `install ok installed`;
//! * rpm (Fedora, RHEL, CentOS Stream): the header of the `podman` package in the rpm database
//!   (`rpmdb.sqlite`, or Berkeley DB `Packages` on RHEL 8), whose NAME, VERSION and RELEASE are
//!   stored as consecutive NUL-terminated strings. Trusted only for `/usr/bin/podman`, and only
//!   when every copy of that header in the file agrees (freed database pages may still hold the
//!   header of the version an upgrade replaced).
//!
//! When none of these answers, the version is unknown and the converters write the forms every
//! Podman accepts (Podman 4.3's), which work everywhere and only differ from Quadlet's text.

use std::fs;
use std::path::{Path, PathBuf};

use crate::engine::Version;

/// Pins the Podman version instead of looking it up (packagers who know it, tests).
pub const ENV: &str = "QUADPLAY_PODMAN_VERSION";

/// A version and where it came from (for the debug log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub version: Version,
    pub source: String,
}

/// The version of `podman` as installed under `root` (`/` on a real system), from the package
/// databases only.
pub fn from_packages(root: &Path, podman: &str) -> Option<Found> {
    from_dpkg(root, podman).or_else(|| from_rpm(root, podman))
}

/// dpkg: `var/lib/dpkg/status`, if `var/lib/dpkg/info/podman.list` lists the binary.
pub fn from_dpkg(root: &Path, podman: &str) -> Option<Found> {
    let dpkg = root.join("var/lib/dpkg");
    let list = fs::read_to_string(dpkg.join("info/podman.list")).ok()?;
    if !list.lines().any(|l| l == podman) {
        return None;
    }
    let status = fs::read_to_string(dpkg.join("status")).ok()?;
    let version = dpkg_installed_version(&status, "podman")?;
    Some(Found {
        version: Version::parse(upstream_version(&version))?,
        source: format!("dpkg: podman {version}"),
    })
}

/// The `Version:` of an installed package's stanza in a dpkg status file.
pub fn dpkg_installed_version(status: &str, package: &str) -> Option<String> {
    let wanted = format!("Package: {package}");
    for stanza in status.split("\n\n") {
        let mut lines = stanza.lines().filter(|l| !l.is_empty());
        if lines.next() != Some(wanted.as_str()) {
            continue;
        }
        let mut installed = false;
        let mut version = None;
        for line in lines {
            if let Some(s) = line.strip_prefix("Status: ") {
                installed = s.trim() == "install ok installed";
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim().to_string());
            }
        }
        if installed {
            return version;
        }
    }
    None
}

/// `1:4.3.1+ds1-8` → `4.3.1+ds1-8` (the epoch goes; [`Version::parse`] reads the rest).
fn upstream_version(v: &str) -> &str {
    match v.split_once(':') {
        Some((epoch, rest)) if epoch.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => v,
    }
}

/// Where rpm keeps its database, newest layout first.
const RPM_DATABASES: [&str; 3] = [
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
];

/// rpm: the `podman` header in the first rpm database found, for `/usr/bin/podman` only.
pub fn from_rpm(root: &Path, podman: &str) -> Option<Found> {
    if podman != "/usr/bin/podman" {
        return None;
    }
    let db: PathBuf = RPM_DATABASES
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())?;
    let bytes = fs::read(&db).ok()?;
    let version = rpm_header_version(&bytes, b"podman")?;
    Some(Found {
        version: Version::parse(&version)?,
        source: format!("rpm: podman {version} in {}", db.display()),
    })
}

/// The VERSION following `\0NAME\0` in rpm headers, when followed by a RELEASE string and the
/// same in every copy; `None` when absent or ambiguous.
pub fn rpm_header_version(db: &[u8], name: &[u8]) -> Option<String> {
    let mut needle = vec![0u8];
    needle.extend_from_slice(name);
    needle.push(0);
    let mut found: Option<String> = None;
    let mut at = 0;
    while let Some(i) = find(&db[at..], &needle) {
        let start = at + i + needle.len();
        at = start;
        let Some(v) = version_and_release(&db[start..]) else {
            continue;
        };
        match &found {
            Some(f) if *f != v => return None,
            _ => found = Some(v),
        }
    }
    found
}

/// `5.8.2\0 1.fc43\0` at the start of `bytes` → `5.8.2`.
fn version_and_release(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().take(32).position(|&b| b == 0)?;
    let version = &bytes[..end];
    let well_formed = !version.is_empty()
        && version[0].is_ascii_digit()
        && version.contains(&b'.')
        && version
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'~' | b'^' | b'_' | b'+'));
    let release = &bytes[end + 1..];
    let release_end = release.iter().take(64).position(|&b| b == 0)?;
    let release_ok = release_end > 0
        && release[..release_end]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'^' | b'+'));
    (well_formed && release_ok).then(|| String::from_utf8_lossy(version).into_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: podman-docker\nStatus: install ok installed\nVersion: 4.3.1+ds1-8\n\n\
        Package: podman\nStatus: install ok installed\nPriority: optional\nVersion: 4.3.1+ds1-8+deb12u1+b3\n\
        Description: tool\n to manage pods\n\nPackage: zsh\nStatus: install ok installed\nVersion: 5.9-4\n";

    #[test]
    fn dpkg_stanza() {
        assert_eq!(
            dpkg_installed_version(STATUS, "podman").as_deref(),
            Some("4.3.1+ds1-8+deb12u1+b3")
        );
        let removed = STATUS.replacen(
            "Package: podman\nStatus: install ok installed",
            "Package: podman\nStatus: deinstall ok config-files",
            1,
        );
        assert_eq!(dpkg_installed_version(&removed, "podman"), None);
        assert_eq!(upstream_version("2:5.4.2+ds1-1"), "5.4.2+ds1-1");
    }

    fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (p, data) in files {
            let path = root.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        }
        root
    }

    #[test]
    fn dpkg_only_for_the_packaged_binary() {
        let root = tree(&[
            ("var/lib/dpkg/status", STATUS.as_bytes()),
            (
                "var/lib/dpkg/info/podman.list",
                b"/.\n/usr\n/usr/bin\n/usr/bin/podman\n",
            ),
        ]);
        let found = from_packages(root.path(), "/usr/bin/podman").unwrap();
        assert_eq!(found.version, Version::new(4, 3, 1));
        assert_eq!(found.source, "dpkg: podman 4.3.1+ds1-8+deb12u1+b3");
        assert_eq!(from_packages(root.path(), "/opt/podman/bin/podman"), None);
        assert_eq!(
            from_packages(Path::new("/nonexistent"), "/usr/bin/podman"),
            None
        );
    }

    /// Bytes shaped like an rpm header data store: signature digests, then NAME, VERSION,
    /// RELEASE, then other packages' strings that mention podman.
    fn header(name: &str, version: &str, release: &str) -> Vec<u8> {
        let mut h = b"\x00\x00\x00\x40\x00\x00\x10\x00C\x00".to_vec();
        h.extend_from_slice(b"3f2a9c0e7d\x00");
        for s in [
            name,
            version,
            release,
            "Manage pods, containers and container images.",
        ] {
            h.extend_from_slice(s.as_bytes());
            h.push(0);
        }
        h.extend_from_slice(b"podman\x00podman(x86-64)\x00podman-docker\x00");
        h
    }

    #[test]
    fn rpm_header() {
        let mut db = vec![0u8; 100];
        db.extend(header("bash", "5.2.26", "1.fc40"));
        db.extend(header("podman", "5.8.2", "1.fc43"));
        db.extend(header("podman-docker", "5.8.2", "1.fc43"));
        assert_eq!(rpm_header_version(&db, b"podman").as_deref(), Some("5.8.2"));
        let root = tree(&[("var/lib/rpm/rpmdb.sqlite", &db)]);
        let found = from_packages(root.path(), "/usr/bin/podman").unwrap();
        assert_eq!(found.version, Version::new(5, 8, 2));
        assert_eq!(from_packages(root.path(), "/usr/local/bin/podman"), None);
        // A stale header of the version an upgrade replaced: ambiguous, so unknown.
        db.extend(header("podman", "5.6.1", "2.fc43"));
        assert_eq!(rpm_header_version(&db, b"podman"), None);
        assert_eq!(
            rpm_header_version(&header("bash", "5", "1"), b"podman"),
            None
        );
    }
}
