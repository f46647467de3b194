//! The one Podman version type: parsed from `podman version`/`podman info` output or a package
//! database's version string, compared to gate flags newer than Podman 4.3 (Debian 12) on the
//! Podman that runs the containers. The engine, auto-update, doctor and the generator all use it.

use std::fmt;

/// A Podman version, `major.minor.patch`; flags newer than 4.3 are gated on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses `4.3.1`, `5.0.0-dev`, `4.9.4-rhel`, `4.3.1+ds1-8` (the numeric prefix of each of
    /// three fields), also as the last word of `podman version 4.3.1` (`podman --version`).
    pub fn parse(text: &str) -> Option<Version> {
        let word = text.split_whitespace().last()?;
        let mut parts = word.splitn(3, '.');
        let mut field = || -> Option<u32> {
            let part = parts.next()?;
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let major = field()?;
        let minor = field()?;
        let patch = field().unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }

    /// `5.4`: how the generator's messages name a version (its gates are on major.minor).
    pub fn major_minor(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// The version in `podman version --format json`: the server's for a remote client (the
    /// server is what runs containers), else the client's.
    pub fn from_podman_json(text: &str) -> Option<Version> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let version = value
            .pointer("/Server/Version")
            .or_else(|| value.pointer("/Client/Version"))?
            .as_str()?;
        Version::parse(version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(Version::parse("4.3.1"), Some(Version::new(4, 3, 1)));
        assert_eq!(Version::parse("5.0.0-dev"), Some(Version::new(5, 0, 0)));
        assert_eq!(Version::parse("4.9"), Some(Version::new(4, 9, 0)));
        assert_eq!(Version::parse("banana"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(
            Version::parse("podman version 5.0.0-rc1\n"),
            Some(Version::new(5, 0, 0))
        );
        assert_eq!(Version::parse("4.3.1+ds1-8"), Some(Version::new(4, 3, 1)));
        assert_eq!(Version::new(5, 4, 2).major_minor(), "5.4");
        assert!(Version::new(4, 3, 1) < Version::new(4, 10, 0));
    }

    #[test]
    fn reads_the_servers_version_from_podman_version_json() {
        let v = Version::from_podman_json(r#"{"Client":{"Version":"4.3.1"}}"#);
        assert_eq!(v, Some(Version::new(4, 3, 1)));
        let v = Version::from_podman_json(
            r#"{"Client":{"Version":"5.2.0"},"Server":{"Version":"4.9.3"}}"#,
        );
        assert_eq!(v, Some(Version::new(4, 9, 3)));
    }
}
