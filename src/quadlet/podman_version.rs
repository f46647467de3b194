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
//! * rpm (Fedora, RHEL 9, CentOS Stream): the `podman` row of `rpmdb.sqlite`, read through its
//!   b-trees page by page ([`super::rpmdb`]: only the pages that lead to the row, never freed
//!   ones); on RHEL 8 (Berkeley DB `Packages`) the header found by scanning the file, whose NAME,
//!   VERSION and RELEASE are consecutive NUL-terminated strings, trusted only when every copy
//!   agrees (freed pages may still hold the header an upgrade replaced). Trusted only for
//!   `/usr/bin/podman`.
//!
//! When none of these answers, the version is unknown and the converters write the forms every
//! Podman accepts (Podman 4.3's), which work everywhere and only differ from Quadlet's text.

use std::fs;
use std::io::Read;
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
    let status = fs::File::open(dpkg.join("status")).ok()?;
    let version = dpkg_status_version(status, "podman", STATUS_CHUNK)?;
    Some(Found {
        version: Version::parse(upstream_version(&version))?,
        source: format!("dpkg: podman {version}"),
    })
}

/// How much of the dpkg status file is read at a time.
const STATUS_CHUNK: usize = 64 * 1024;

/// [`dpkg_installed_version`] over a status file read `chunk` bytes at a time, complete stanzas
/// only: the file lists every package (hundreds of KiB to MiBs), one stanza is wanted, and
/// reading it whole cost a buffer as large as the file (a fresh mapping, faulted in page by
/// page) at every boot. A chunk that is not UTF-8 is skipped (only its stanzas are lost).
fn dpkg_status_version(mut status: impl Read, package: &str, chunk: usize) -> Option<String> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * chunk);
    loop {
        let len = buf.len();
        buf.resize(len + chunk, 0);
        let read = status.read(&mut buf[len..]).ok()?;
        buf.truncate(len + read);
        let at_end = read == 0;
        // The complete stanzas: up to the last blank line, or everything at the end.
        let complete = match memchr::memmem::rfind(&buf, b"\n\n") {
            _ if at_end => buf.len(),
            Some(blank) => blank + 2,
            None => continue,
        };
        // Each piece starts at a stanza's start (extra blank lines skipped).
        let start = buf[..complete]
            .iter()
            .position(|&b| b != b'\n')
            .unwrap_or(complete);
        if let Ok(text) = std::str::from_utf8(&buf[start..complete]) {
            if let Some(version) = dpkg_installed_version(text, package) {
                return Some(version);
            }
        }
        if at_end {
            return None;
        }
        buf.drain(..complete);
    }
}

/// The `Version:` of an installed package's stanza in a dpkg status file. The stanzas are
/// found by searching for their `Package:` line (a status file lists a few thousand packages:
/// splitting all of it into stanzas and lines cost more than the rest of the lookup).
pub fn dpkg_installed_version(status: &str, package: &str) -> Option<String> {
    let wanted = format!("Package: {package}\n");
    let finder = memchr::memmem::Finder::new(&wanted);
    let mut from = 0;
    while let Some(i) = finder.find(&status.as_bytes()[from..]) {
        let start = from + i;
        from = start + wanted.len();
        // Only a stanza's first line: at the start of the file or after a blank line.
        if start != 0 && !status[..start].ends_with("\n\n") {
            continue;
        }
        let stanza = &status[from..];
        let stanza = stanza.find("\n\n").map_or(stanza, |end| &stanza[..end]);
        if let Some(version) = installed_version(stanza) {
            return Some(version);
        }
    }
    None
}

/// The `Version:` of a stanza's fields when its `Status:` is `install ok installed`.
fn installed_version(fields: &str) -> Option<String> {
    let mut installed = false;
    let mut version = None;
    for line in fields.lines() {
        if let Some(s) = line.strip_prefix("Status: ") {
            installed = s.trim() == "install ok installed";
        } else if let Some(v) = line.strip_prefix("Version: ") {
            version = Some(v.trim().to_string());
        }
    }
    version.filter(|_| installed)
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
    let version = if db.extension().is_some_and(|e| e == "sqlite") {
        super::rpmdb::installed_version(&db, "podman")?
    } else {
        rpm_header_version(&fs::read(&db).ok()?, b"podman")?
    };
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
        // First stanza of the file; a removed stanza before an installed one (multi-arch).
        let first =
            "Package: podman\nStatus: install ok installed\nVersion: 5.4.2+ds1-1\n\nPackage: zsh\n";
        assert_eq!(
            dpkg_installed_version(first, "podman").as_deref(),
            Some("5.4.2+ds1-1")
        );
        let after_removed = format!("{removed}\n{STATUS}");
        assert_eq!(
            dpkg_installed_version(&after_removed, "podman").as_deref(),
            Some("4.3.1+ds1-8+deb12u1+b3")
        );
        // `Package: podman` not at a stanza's start (inside a description) is no stanza.
        let inside = "Package: a\nStatus: install ok installed\nDescription: x\nPackage: podman\nVersion: 9.9\n";
        assert_eq!(dpkg_installed_version(inside, "podman"), None);
        assert_eq!(upstream_version("2:5.4.2+ds1-1"), "5.4.2+ds1-1");
    }

    #[test]
    fn dpkg_status_read_in_chunks_finds_what_the_whole_text_does() {
        let removed = STATUS.replacen("Status: install ok installed", "Status: deinstall", 1);
        let texts = [
            STATUS.to_string(),
            removed.clone(),
            format!("{removed}\n\n\n{STATUS}"),
            "Package: podman\nStatus: install ok installed\nVersion: 5.4.2+ds1-1\n".to_string(),
            "Package: a\nDescription: x\nPackage: podman\nVersion: 9.9\n".to_string(),
            String::new(),
        ];
        for text in &texts {
            let whole = dpkg_installed_version(text, "podman");
            for chunk in [1, 2, 3, 7, 64, 1 << 16] {
                assert_eq!(
                    dpkg_status_version(text.as_bytes(), "podman", chunk),
                    whole,
                    "chunk {chunk} of {text:?}"
                );
            }
        }
        // Bytes that are not UTF-8 in another stanza do not hide podman's.
        let mut bytes = b"Package: bad\nDescription: caf\xe9\n\n".to_vec();
        bytes.extend_from_slice(STATUS.as_bytes());
        assert_eq!(
            dpkg_status_version(&bytes[..], "podman", 16).as_deref(),
            Some("4.3.1+ds1-8+deb12u1+b3")
        );
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
        let root = tree(&[("var/lib/rpm/Packages", &db)]);
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

    /// rpm and rpmbuild as Debian ships them (`make rpm-check` uses them too); `None` with the
    /// reason when missing.
    fn rpm_tools() -> Option<()> {
        let works = |tool: &str| {
            std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if works("rpm") && works("rpmbuild") {
            return Some(());
        }
        eprintln!("SKIPPED: rpm and rpmbuild are not installed (apt-get install rpm), so the lookup is not checked against a real rpm database");
        None
    }

    /// Builds a header-only package `name` of `version`-`release` with rpmbuild and records it
    /// in the database under `dbpath` (`rpm -U --justdb`: no files are installed).
    fn rpm_install(work: &Path, dbpath: &Path, name: &str, version: &str, release: &str) {
        let spec = work.join(format!("{name}-{version}.spec"));
        let text = format!(
            "Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: test\nLicense: MIT\n\
             BuildArch: noarch\n%description\nA package with a known version.\n%files\n"
        );
        fs::write(&spec, text).unwrap();
        let run = |cmd: &mut std::process::Command| {
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{cmd:?}: {err}");
        };
        let topdir = format!("_topdir {}", work.display());
        run(std::process::Command::new("rpmbuild")
            .args(["--quiet", "--define", &topdir, "-bb"])
            .arg(&spec));
        let rpm = work.join(format!("RPMS/noarch/{name}-{version}-{release}.noarch.rpm"));
        run(std::process::Command::new("rpm")
            .args(["-U", "--justdb", "--nodeps", "--dbpath"])
            .arg(dbpath)
            .arg(rpm));
    }

    /// The lookup against a database written by rpm itself (sqlite backend): an install, an
    /// upgrade (whose replaced header stays in a freed page), other packages around it, a
    /// write-ahead log with changes, and a database without podman.
    #[test]
    fn rpm_lookup_in_a_real_rpm_database() {
        if rpm_tools().is_none() {
            return;
        }
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let dbpath = root.join("usr/lib/sysimage/rpm");
        fs::create_dir_all(&dbpath).unwrap();
        let lookup = || from_packages(&root, "/usr/bin/podman").map(|f| f.version);
        rpm_install(work.path(), &dbpath, "podman-docker", "5.6.1", "1.fc43");
        assert!(
            dbpath.join("rpmdb.sqlite").is_file(),
            "rpm did not write rpmdb.sqlite"
        );
        assert_eq!(lookup(), None, "no podman package installed yet");
        rpm_install(work.path(), &dbpath, "podman", "5.6.1", "2.fc43");
        assert_eq!(lookup(), Some(Version::new(5, 6, 1)));
        rpm_install(work.path(), &dbpath, "podman", "5.7.0", "1.fc43");
        let found = from_packages(&root, "/usr/bin/podman").unwrap();
        assert_eq!(found.version, Version::new(5, 7, 0), "{}", found.source);
        assert!(
            found.source.starts_with("rpm: podman 5.7.0 in "),
            "{}",
            found.source
        );
        // The replaced header is still in the file: a byte scan would see both versions.
        let bytes = fs::read(dbpath.join("rpmdb.sqlite")).unwrap();
        assert_eq!(rpm_header_version(&bytes, b"podman"), None);
        // Uncheckpointed changes in the write-ahead log: the main file may be stale.
        fs::write(dbpath.join("rpmdb.sqlite-wal"), b"frames").unwrap();
        assert_eq!(lookup(), None);
    }
}
