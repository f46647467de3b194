//! Checks of Podman and its network stack, from one `podman info`: the version, the network
//! backend and aardvark-dns, stale bridges in the rootless network namespace, the log driver and
//! the cgroup version.

use std::collections::BTreeMap;
use std::path::Path;

use super::{find_program, first_line, rootless};
use crate::doctor::host::{Host, User};
use crate::doctor::report::Check;
use crate::engine::{netns, Version};

/// The lowest Podman release quadplay supports (Debian 12's).
pub const MIN_PODMAN: Version = Version::new(4, 3, 0);

/// What `podman info` says, by field; empty when podman could not run.
#[derive(Debug, Default)]
pub(crate) struct PodmanInfo {
    pub(crate) ran: bool,
    missing: bool,
    error: String,
    fields: BTreeMap<&'static str, String>,
}

impl PodmanInfo {
    /// One field's value; empty when podman did not report it.
    pub(crate) fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }
}

pub(crate) fn podman_info(host: &dyn Host, podman: &str) -> PodmanInfo {
    // One call for all fields (podman info is slow: it may start the rootless pause process), as
    // JSON because a Go template naming a field an older Podman lacks fails the whole call.
    let failed = |error: String| PodmanInfo {
        ran: false,
        error,
        ..PodmanInfo::default()
    };
    let out = match host.run(podman, &["info", "--format", "json"]) {
        None => {
            return PodmanInfo {
                missing: true,
                ..failed(format!("{podman} not found"))
            }
        }
        Some(out) if !out.success => return failed(first_line(&out.stderr).to_string()),
        Some(out) => out,
    };
    let json: serde_json::Value = match serde_json::from_str(&out.stdout) {
        Ok(v) => v,
        Err(e) => return failed(format!("podman info printed no JSON: {e}")),
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let fields = BTreeMap::from([
        ("version", text(&json["version"]["Version"])),
        ("network_backend", text(&json["host"]["networkBackend"])),
        ("log_driver", text(&json["host"]["logDriver"])),
        ("cgroups", text(&json["host"]["cgroupVersion"])),
        ("cgroup_manager", text(&json["host"]["cgroupManager"])),
        // Podman 5 only: pasta or slirp4netns, and netavark's own version.
        ("rootless_net", text(&json["host"]["rootlessNetworkCmd"])),
        ("pasta_path", text(&json["host"]["pasta"]["executable"])),
        (
            "slirp_path",
            text(&json["host"]["slirp4netns"]["executable"]),
        ),
        (
            "netavark_version",
            text(&json["host"]["networkBackendInfo"]["version"]),
        ),
    ]);
    PodmanInfo {
        ran: true,
        missing: false,
        error: String::new(),
        fields,
    }
}

pub(crate) fn check_podman_version(podman: &str, info: &PodmanInfo) -> Check {
    const ID: &str = "podman";
    if !info.ran {
        let fix = if info.missing {
            "install podman (apt-get install podman / dnf install podman), or set $PODMAN to its path"
        } else {
            "run podman info as this user and fix the error it prints"
        };
        return Check::fail(ID, format!("podman info failed: {}", info.error), fix);
    }
    let v = info.field("version");
    match Version::parse(v) {
        Some(found) if found >= MIN_PODMAN => Check::ok(ID, format!("{podman} {v}")),
        Some(_) => Check::fail(
            ID,
            format!("podman {v} is older than 4.3, the oldest quadplay supports"),
            "upgrade podman to 4.3 or later",
        ),
        None => Check::warn(
            ID,
            format!("cannot read podman's version from {v:?}"),
            "run podman version and report it",
        ),
    }
}

pub(crate) fn check_network_backend(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "network";
    if !info.ran {
        return Check::skip(ID, "podman info failed; backend unknown");
    }
    let backend = info.field("network_backend");
    match backend {
        "netavark" => {
            let dirs = [
                "/usr/libexec/podman",
                "/usr/lib/podman",
                "/usr/local/libexec/podman",
                "/usr/local/lib/podman",
            ];
            match find_program(host, "aardvark-dns", &dirs) {
                Some(p) => check_aardvark_version(host, &p),
                None => Check::fail(
                    ID,
                    "netavark without aardvark-dns: pods cannot resolve each other's names",
                    "apt-get install aardvark-dns (dnf install aardvark-dns)",
                ),
            }
        }
        "cni" => Check::warn(
            ID,
            "CNI network backend: name resolution between pods needs the dnsname plugin, and CNI is deprecated",
            "install netavark and aardvark-dns, set network_backend = \"netavark\" under [network] in containers.conf, then podman system reset (removes containers and images)",
        ),
        other => Check::warn(
            ID,
            format!("unknown network backend {other:?}"),
            "use netavark with aardvark-dns",
        ),
    }
}

/// The first aardvark-dns that keeps answering while it reloads (aardvark-dns#389, PR #449).
const AARDVARK_STEADY: Version = Version::new(1, 11, 0);

/// Older aardvark-dns tears down and rebuilds its servers on every reload, which each container
/// joining or leaving a network triggers: names stop resolving for up to a minute (measured 25-45 s
/// on Debian 12's 1.4.0), so an app that looks up a peer once at start-up can fail.
pub(crate) fn check_aardvark_version(host: &dyn Host, path: &Path) -> Check {
    const ID: &str = "network";
    let found = format!("netavark with aardvark-dns ({})", path.display());
    let out = host.run(&path.to_string_lossy(), &["--version"]);
    // `aardvark-dns 1.4.0`; it may add a syslog complaint on stderr.
    let version = out
        .as_ref()
        .filter(|o| o.success)
        .and_then(|o| o.stdout.split_whitespace().nth(1).map(str::to_string));
    match version.as_deref().and_then(Version::parse) {
        Some(v) if v < AARDVARK_STEADY => Check::warn(
            ID,
            format!(
                "{found} {}: names stop resolving for up to a minute whenever a container starts or stops on the network (aardvark-dns#389)",
                version.as_deref().unwrap_or_default()
            ),
            "upgrade aardvark-dns to 1.11 or later; until then let the apps retry name lookups",
        ),
        Some(_) => Check::ok(
            ID,
            format!("{found} {}: pods find each other by name", version.as_deref().unwrap_or_default()),
        ),
        None => Check::ok(ID, format!("{found}: pods find each other by name")),
    }
}

/// Bridges in the rootless network namespace that no longer match their network: a removed
/// network's cut-short teardown leaves its bridge, and a later network with that interface name
/// gets no gateway (see `engine::netns`). `quadplay play` repairs it when nothing runs on it.
pub(crate) fn check_bridges(
    host: &dyn Host,
    user: &User,
    podman: &str,
    info: &PodmanInfo,
) -> Check {
    const ID: &str = "bridges";
    if !rootless(user) || !info.ran || info.field("network_backend") != "netavark" {
        return Check::skip(
            ID,
            "only rootless netavark keeps bridges in a namespace of its own",
        );
    }
    let runtime = host.env("XDG_RUNTIME_DIR").unwrap_or_default();
    // Looking inside a namespace that does not exist would create it.
    if runtime.is_empty() || !netns::rootless_netns_exists(&host.path(&runtime)) {
        return Check::ok(ID, "no rootless network namespace yet");
    }
    let networks = host
        .run(podman, &["network", "ls", "--format", "json"])
        .filter(|o| o.success)
        .and_then(|o| serde_json::from_str::<Vec<netns::Network>>(&o.stdout).ok());
    let bridges = host
        .run(
            podman,
            &[
                "unshare",
                "--rootless-netns",
                "ip",
                "-j",
                "addr",
                "show",
                "type",
                "bridge",
            ],
        )
        .filter(|o| o.success)
        .and_then(|o| netns::interfaces(&o.stdout));
    let (Some(networks), Some(bridges)) = (networks, bridges) else {
        return Check::skip(ID, "cannot list the networks or the namespace's bridges");
    };
    let mut broken = Vec::new();
    let mut orphans = Vec::new();
    for (ifname, addresses) in &bridges {
        let shown = addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match networks.iter().find(|n| &n.network_interface == ifname) {
            None if !addresses.is_empty() => orphans.push(format!("{ifname} ({shown})")),
            Some(net)
                if netns::verdict(&net.gateways(), addresses, false)
                    != netns::BridgeVerdict::Fine =>
            {
                broken.push(format!(
                    "{ifname} of network {} carries {shown} instead of its gateway",
                    net.name
                ))
            }
            _ => {}
        }
    }
    const FIX: &str = "stop the containers on it (podman stop --all), then podman unshare --rootless-netns ip link del BRIDGE; quadplay play does this itself when none of the network's containers runs";
    if !broken.is_empty() {
        return Check::fail(
            ID,
            format!(
                "{}: pods on it get no gateway, DNS or published ports (a removed network's teardown left the bridge)",
                broken.join("; ")
            ),
            FIX,
        );
    }
    if !orphans.is_empty() {
        return Check::warn(
            ID,
            format!(
                "bridge(s) of removed networks left in the rootless network namespace: {}; a network created later under that name gets no gateway",
                orphans.join(", ")
            ),
            FIX,
        );
    }
    Check::ok(
        ID,
        format!("{} bridge(s) match their networks", bridges.len()),
    )
}

/// With `log_driver = journald` and no journald, `podman logs` has nothing to read.
pub(crate) fn check_log_driver(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "log-driver";
    if !info.ran {
        return Check::skip(ID, "podman info failed; log driver unknown");
    }
    let driver = info.field("log_driver");
    let journald = host.path("/run/systemd/journal/socket").exists();
    match (driver, journald) {
        ("journald", true) => Check::ok(ID, "journald (podman logs and journalctl read the journal)"),
        ("journald", false) => Check::fail(
            ID,
            "log_driver is journald but journald is not running: container output is lost and podman logs fails",
            "set log_driver = \"k8s-file\" under [containers] in ~/.config/containers/containers.conf, or run systemd-journald",
        ),
        ("", _) => Check::warn(ID, "podman did not report its log driver", "check log_driver in containers.conf"),
        (other, _) => Check::ok(ID, format!("{other} (podman logs reads the container's log file)")),
    }
}

/// cgroup v2 is what rootless Podman and systemd delegation are built for; Podman 5 deprecates v1.
pub(crate) fn check_cgroups(host: &dyn Host, info: &PodmanInfo) -> Check {
    const ID: &str = "cgroups";
    if host.path("/sys/fs/cgroup/cgroup.controllers").exists() {
        return Check::ok(ID, "cgroup v2 (unified)");
    }
    // Podman 5 prints a deprecation warning on every command on v1 and hybrid hosts.
    let podman5 = Version::parse(info.field("version")).is_some_and(|v| v.major >= 5);
    let deprecated = if podman5 {
        "; Podman 5 deprecates cgroup v1 and warns on every command (PODMAN_IGNORE_CGROUPSV1_WARNING=1 silences it)"
    } else {
        ""
    };
    if host.path("/sys/fs/cgroup/unified").is_dir() {
        Check::warn(
            ID,
            format!("cgroup v1/v2 hybrid: crun refuses it and rootless resource limits are ignored{deprecated}"),
            "boot with systemd.unified_cgroup_hierarchy=1; until then set runtime = \"runc\" under [engine] in containers.conf",
        )
    } else if host.path("/sys/fs/cgroup").is_dir() {
        Check::warn(
            ID,
            format!("cgroup v1: rootless containers get no resource limits{deprecated}"),
            "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2)",
        )
    } else {
        Check::warn(
            ID,
            "no cgroup file system mounted at /sys/fs/cgroup",
            "mount cgroup2 on /sys/fs/cgroup",
        )
    }
}
