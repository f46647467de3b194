//! Checks of the user's rootless prerequisites: subordinate IDs, the ID-mapping helpers,
//! /dev/net/tun, lingering and the lowest port a user may publish.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::{find_program, rootless};
use crate::doctor::host::{Host, User};
use crate::doctor::report::Check;

/// `/etc/subuid` or `/etc/subgid`: the user needs a range of subordinate IDs (65536 is the usual
/// size; less breaks images whose files belong to high IDs).
pub(crate) fn check_subids(host: &dyn Host, user: &User, file: &str, id: &'static str) -> Check {
    if !rootless(user) {
        return Check::skip(id, "root needs no subordinate IDs");
    }
    let fix = format!(
        "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {} (pick a range no other user has), then podman system migrate",
        user.name
    );
    let text = match std::fs::read_to_string(host.path(file)) {
        Ok(t) => t,
        Err(e) => return Check::fail(id, format!("cannot read {file}: {e}"), fix),
    };
    let mut total: u64 = 0;
    let mut ranges = Vec::new();
    let mut mine = Vec::new();
    let mut others = Vec::new();
    for line in text.lines() {
        let mut parts = line.trim().splitn(3, ':');
        let (Some(who), Some(start), Some(count)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(start), Ok(count)) = (start.parse::<u64>(), count.trim().parse::<u64>()) else {
            continue;
        };
        if who != user.name && who != user.uid.to_string() {
            others.push((who.to_string(), start, count));
            continue;
        }
        total += count;
        ranges.push(format!("{start}-{}", start + count.saturating_sub(1)));
        mine.push((start, count));
    }
    let what = if id == "subuid" { "UIDs" } else { "GIDs" };
    // Two users sharing subordinate IDs can read and write each other's container files.
    let shared: Vec<String> = others
        .iter()
        .filter(|(_, s, c)| mine.iter().any(|(ms, mc)| *s < ms + mc && *ms < s + c))
        .map(|(who, _, _)| who.clone())
        .collect();
    if total > 0 && !shared.is_empty() {
        return Check::warn(
            id,
            format!(
                "{}'s subordinate {what} ({}) overlap those of {}: their containers can touch each other's files",
                user.name,
                ranges.join(", "),
                shared.join(", ")
            ),
            format!("give each user its own range in {file} (usermod --del-subuids/--add-subuids), then podman system migrate"),
        );
    }
    match total {
        0 => Check::fail(
            id,
            format!("{} has no subordinate {what} in {file}", user.name),
            fix,
        ),
        n if n < 65536 => Check::warn(
            id,
            format!(
                "{} has only {n} subordinate {what} ({}); images with files owned by higher IDs fail to unpack",
                user.name,
                ranges.join(", ")
            ),
            fix,
        ),
        n => Check::ok(
            id,
            format!("{} has {n} subordinate {what} ({})", user.name, ranges.join(", ")),
        ),
    }
}

/// newuidmap/newgidmap map the subordinate IDs; they need setuid root or file capabilities.
pub(crate) fn check_idmap_helpers(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "uidmap";
    if !rootless(user) {
        return Check::skip(ID, "root needs no newuidmap/newgidmap");
    }
    let dirs = ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin"];
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for name in ["newuidmap", "newgidmap"] {
        match find_program(host, name, &dirs) {
            None => problems.push(format!("{name} is not installed")),
            Some(path) => {
                let setuid = std::fs::metadata(&path)
                    .map(|m| m.mode() & 0o4000 != 0 && m.uid() == 0)
                    .unwrap_or(false);
                if setuid || host.has_file_caps(&path) {
                    found.push(format!(
                        "{} ({})",
                        name,
                        if setuid { "setuid root" } else { "file caps" }
                    ));
                } else {
                    problems.push(format!(
                        "{} is neither setuid root nor has file capabilities",
                        path.display()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Check::ok(ID, found.join(", "))
    } else {
        Check::fail(
            ID,
            problems.join("; "),
            "apt-get install uidmap (Debian/Ubuntu) or dnf install shadow-utils (Fedora/RHEL); the files must be setuid root (chmod u+s) or carry cap_setuid/cap_setgid",
        )
    }
}

/// Whether `user` may read and write a file with these owner, group and mode bits.
pub(crate) fn may_read_write(meta: &std::fs::Metadata, user: &User) -> bool {
    if user.uid == 0 {
        return true;
    }
    let mode = meta.permissions().mode();
    let bits = if meta.uid() == user.uid {
        (mode >> 6) & 0o7
    } else if meta.gid() == user.gid {
        (mode >> 3) & 0o7
    } else {
        mode & 0o7
    };
    bits & 0o6 == 0o6
}

/// Rootless networking (slirp4netns, pasta) opens /dev/net/tun.
pub(crate) fn check_tun(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "tun";
    let path = host.path("/dev/net/tun");
    match std::fs::metadata(&path) {
        Err(_) => Check::fail(
            ID,
            "/dev/net/tun is missing: rootless networking (slirp4netns/pasta) cannot start",
            "modprobe tun (and add tun to /etc/modules-load.d/); in a container, pass --device /dev/net/tun",
        ),
        Ok(meta) if !may_read_write(&meta, user) => Check::fail(
            ID,
            format!(
                "/dev/net/tun is mode {:o}: {} may not open it, so rootless networking fails",
                meta.permissions().mode() & 0o777,
                user.name
            ),
            "chmod 0666 /dev/net/tun (the kernel's default mode)",
        ),
        Ok(_) => Check::ok(ID, format!("/dev/net/tun is usable by {}", user.name)),
    }
}

/// Without lingering a user's manager (and so their units) starts at login and stops at logout.
pub(crate) fn check_linger(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "linger";
    if !rootless(user) {
        return Check::skip(ID, "root's units run in the system manager");
    }
    if host
        .path(&format!("/var/lib/systemd/linger/{}", user.name))
        .exists()
    {
        Check::ok(
            ID,
            format!("lingering is on: {}'s units start at boot", user.name),
        )
    } else {
        Check::warn(
            ID,
            format!(
                "lingering is off: {}'s units start at login and stop at logout, not at boot",
                user.name
            ),
            format!("loginctl enable-linger {}", user.name),
        )
    }
}

/// Rootless Podman cannot bind host ports below `ip_unprivileged_port_start` (1024 by default).
pub(crate) fn check_unprivileged_ports(host: &dyn Host, user: &User) -> Check {
    const ID: &str = "low-ports";
    if !rootless(user) {
        return Check::skip(ID, "root may bind any port");
    }
    let path = host.path("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    match std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        Some(0) => Check::ok(ID, "every host port may be published rootless"),
        Some(n) if n <= 80 => Check::ok(ID, format!("host ports from {n} up may be published rootless")),
        Some(n) => Check::warn(
            ID,
            format!("host ports below {n} (80, 443) cannot be published rootless: hostPort: 80 fails"),
            "echo net.ipv4.ip_unprivileged_port_start=80 > /etc/sysctl.d/50-rootless-ports.conf && sysctl --system (or publish ports from 1024 up)",
        ),
        None => Check::warn(
            ID,
            "cannot read net.ipv4.ip_unprivileged_port_start",
            "sysctl net.ipv4.ip_unprivileged_port_start",
        ),
    }
}
