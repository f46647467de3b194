//! Checks of what rootless Podman needs at run time beside its own binary, where Podman 5 changed
//! the answer: the rootless network helper (pasta since 5.0, slirp4netns before), the firewall
//! tool netavark drives (nftables in netavark 1.14 as Debian 13 builds it, iptables before), the
//! cgroup manager (systemd needs the user's session bus), and Podman 5's
//! `podman-user-wait-network-online.service`, which every rootless Quadlet unit waits for.

use std::path::Path;

use super::podman::PodmanInfo;
use super::{find_program, first_line, rootless};
use crate::doctor::host::{Host, User};
use crate::doctor::report::Check;
use crate::engine::Version;

/// Where distributions put the network helpers and firewall tools.
const BIN_DIRS: [&str; 8] = [
    "/usr/bin",
    "/usr/sbin",
    "/bin",
    "/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];

/// The helper that gives rootless containers their network: `host.rootlessNetworkCmd` in Podman 5's
/// `podman info`; Podman 4 has no such field and uses slirp4netns.
pub(crate) fn check_rootless_network(host: &dyn Host, user: &User, info: &PodmanInfo) -> Check {
    const ID: &str = "rootless-net";
    if !rootless(user) {
        return Check::skip(ID, "root's containers need no user-mode network helper");
    }
    if !info.ran {
        return Check::skip(ID, "podman info failed; rootless network helper unknown");
    }
    let cmd = match info.field("rootless_net") {
        "" => "slirp4netns",
        other => other,
    };
    let reported = match cmd {
        "pasta" => info.field("pasta_path"),
        _ => info.field("slirp_path"),
    };
    let found = Some(reported)
        .filter(|p| !p.is_empty() && host.path(p).is_file())
        .map(str::to_string)
        .or_else(|| find_program(host, cmd, &BIN_DIRS).map(|_| format!("{cmd} (found by name)")));
    let package = if cmd == "pasta" { "passt" } else { cmd };
    match found {
        Some(path) => Check::ok(ID, format!("{cmd} ({path}) connects rootless pods")),
        None => Check::fail(
            ID,
            format!("podman runs rootless networking through {cmd}, which is not installed: every pod with a network fails to start"),
            format!("apt-get install {package} (dnf install {package})"),
        ),
    }
}

/// The first netavark that may drive nftables instead of iptables (its `firewall_driver`).
const NETAVARK_NFT: Version = Version::new(1, 10, 0);

/// The firewall tool netavark calls to set up NAT and published ports inside the rootless namespace.
pub(crate) fn check_firewall(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "firewall";
    if !info.ran || info.field("network_backend") != "netavark" {
        return Check::skip(ID, "only netavark drives a firewall tool");
    }
    // `netavark 1.14.0`; Podman 4.3's info does not report it.
    let version = info.field("netavark_version");
    let parsed = version.split_whitespace().last().and_then(Version::parse);
    let nft = find_program(host, "nft", &BIN_DIRS);
    let iptables = find_program(host, "iptables", &BIN_DIRS);
    let configured = configured_firewall_driver(host);
    let shown = if version.is_empty() {
        "netavark"
    } else {
        version
    };
    let wants_nft = match configured.as_deref() {
        Some("nftables") => true,
        Some(_) => false,
        // Its build's default: nftables where the distribution chose it (Debian 13, Fedora 41).
        None => parsed.is_some_and(|v| v >= NETAVARK_NFT) && nft.is_some(),
    };
    match (wants_nft, nft, iptables) {
        (true, Some(p), _) => Check::ok(ID, format!("{shown} with nftables ({})", p.display())),
        (false, _, Some(p)) => Check::ok(ID, format!("{shown} with iptables ({})", p.display())),
        (true, None, _) => Check::fail(
            ID,
            format!("firewall_driver is nftables but nft is not installed: {shown} cannot set up networks"),
            "apt-get install nftables (dnf install nftables)",
        ),
        (false, _, None) if parsed.is_some_and(|v| v >= NETAVARK_NFT) => Check::fail(
            ID,
            format!("neither nft nor iptables is installed: {shown} cannot set up networks"),
            "apt-get install nftables (netavark 1.14 as Debian 13 builds it uses nftables)",
        ),
        (false, _, None) => Check::fail(
            ID,
            format!("iptables is not installed: {shown} cannot set up networks"),
            "apt-get install iptables",
        ),
    }
}

/// `firewall_driver` under `[network]` in the user's, then the system's, containers.conf.
fn configured_firewall_driver(host: &dyn Host) -> Option<String> {
    let mut files = Vec::new();
    if let Some(home) = host.env("HOME") {
        files.push(format!("{home}/.config/containers/containers.conf"));
    }
    files.push("/etc/containers/containers.conf".into());
    files.push("/usr/share/containers/containers.conf".into());
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(host.path(f)).ok())
        .find_map(|text| toml_string(&text, "network", "firewall_driver"))
}

/// A string key of one table of a TOML file such as containers.conf (`key = "value"`).
fn toml_string(text: &str, table: &str, key: &str) -> Option<String> {
    let doc: toml::Table = text.parse().ok()?;
    doc.get(table)?
        .get(key)?
        .as_str()
        .map(str::to_string)
        .filter(|v| !v.is_empty())
}

/// Podman's cgroup manager: `systemd` needs the user's session bus, or every command warns and falls
/// back to cgroupfs, and Quadlet's `--cgroups=split` fails.
pub(crate) fn check_cgroup_manager(host: &dyn Host, user: &User, info: &PodmanInfo) -> Check {
    const ID: &str = "cgroup-manager";
    if !info.ran {
        return Check::skip(ID, "podman info failed; cgroup manager unknown");
    }
    match info.field("cgroup_manager") {
        "systemd" if rootless(user) && !has_session_bus(host) => Check::fail(
            ID,
            "cgroup_manager is systemd but there is no session bus: podman warns on every command and falls back to cgroupfs, and units with --cgroups=split fail",
            "log in through a PAM session with dbus-user-session installed, or set cgroup_manager = \"cgroupfs\" under [engine] in ~/.config/containers/containers.conf",
        ),
        "systemd" => Check::ok(ID, "systemd: Podman puts each container and helper in a scope of its own"),
        "cgroupfs" => Check::ok(
            ID,
            "cgroupfs: Podman leaves its helpers (pasta, aardvark-dns, rootlessport) in the caller's cgroup; quadplay play moves them into scopes of their own",
        ),
        "" => Check::warn(ID, "podman did not report its cgroup manager", "check cgroup_manager in containers.conf"),
        other => Check::warn(ID, format!("unknown cgroup manager {other:?}"), "set cgroup_manager to systemd or cgroupfs"),
    }
}

fn has_session_bus(host: &dyn Host) -> bool {
    if host
        .env("DBUS_SESSION_BUS_ADDRESS")
        .is_some_and(|a| !a.is_empty())
    {
        return true;
    }
    host.env("XDG_RUNTIME_DIR")
        .is_some_and(|rt| host.path(&format!("{rt}/bus")).exists())
}

/// Podman 5's unit that holds rootless units until the system's network-online.target is active.
const WAIT_ONLINE: &str = "podman-user-wait-network-online.service";

/// Podman 5's Quadlet (and quadplay's generator for Podman 5) makes every rootless unit want
/// `podman-user-wait-network-online.service`, which polls `systemctl is-active network-online.target`
/// for up to 90 s: where that target never comes, every start is 90 s late.
pub(crate) fn check_wait_online(host: &dyn Host, user: &User, info: &PodmanInfo) -> Check {
    const ID: &str = "wait-online";
    if !rootless(user) {
        return Check::skip(ID, "root's units order after network-online.target itself");
    }
    let Some(unit) = find_user_unit(host, WAIT_ONLINE) else {
        let v = info.field("version");
        return Check::ok(
            ID,
            format!("podman {v} ships no {WAIT_ONLINE}: units do not wait for it"),
        );
    };
    if is_mask(host, &unit) {
        return Check::ok(
            ID,
            format!(
                "{WAIT_ONLINE} is masked ({unit}): units start without waiting for the network"
            ),
        );
    }
    let out = host.run("systemctl", &["is-active", "network-online.target"]);
    let state = out.as_ref().map(|o| first_line(&o.stdout)).unwrap_or("");
    if state == "active" {
        return Check::ok(
            ID,
            format!("network-online.target is active: {WAIT_ONLINE} returns at once"),
        );
    }
    // No system manager (a container, a chroot): systemctl prints nothing and says why on stderr.
    let state = match (state, out.as_ref().map(|o| first_line(&o.stderr))) {
        ("", Some(why)) if !why.is_empty() => format!("unreachable ({why})"),
        ("", _) => "unknown".to_string(),
        (s, _) => s.to_string(),
    };
    Check::warn(
        ID,
        format!("{WAIT_ONLINE} waits up to 90 s for the system's network-online.target, which is {state}: every rootless unit that wants it starts late or times out"),
        format!("enable the system's wait-online service (systemd-networkd-wait-online.service or NetworkManager-wait-online.service); where nothing manages the network, mask it for the user: ln -s /dev/null ~/.config/systemd/user/{WAIT_ONLINE}"),
    )
}

/// The first of the user manager's unit directories (highest precedence first) holding `name`.
fn find_user_unit(host: &dyn Host, name: &str) -> Option<String> {
    let mut dirs = Vec::new();
    if let Some(home) = host.env("HOME") {
        dirs.push(format!("{home}/.config/systemd/user"));
    }
    dirs.extend(
        [
            "/etc/systemd/user",
            "/run/systemd/user",
            "/usr/local/lib/systemd/user",
            "/usr/lib/systemd/user",
            "/lib/systemd/user",
        ]
        .map(String::from),
    );
    dirs.into_iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::fs::symlink_metadata(host.path(p)).is_ok())
}

/// Whether the unit file is a mask: a link to /dev/null (or an empty file, as systemd also takes).
fn is_mask(host: &dyn Host, shown: &str) -> bool {
    let path = host.path(shown);
    std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null"))
        || std::fs::metadata(&path).is_ok_and(|m| m.len() == 0)
}
