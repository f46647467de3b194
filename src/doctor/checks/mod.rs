//! doctor's checks, by family: the user's rootless prerequisites ([`user`]), Podman and its
//! network stack ([`podman`]), what Podman needs at run time beside itself ([`runtime`]: network
//! helper, firewall tool, cgroup manager, Podman 5's wait for the network), systemd and the
//! generators ([`systemd`]).

pub mod podman;
pub mod runtime;
pub mod systemd;
pub mod user;

use std::path::PathBuf;

use super::host::{Host, User};

pub(crate) fn rootless(user: &User) -> bool {
    user.uid != 0
}

pub(crate) fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// Where a program is installed, looked up in the usual directories (not `$PATH`: a user's PATH
/// in a systemd unit is not their shell's).
pub(crate) fn find_program(host: &dyn Host, name: &str, dirs: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| host.path(&format!("{d}/{name}")))
        .find(|p| p.is_file())
}
