//! A bridge left behind in the rootless network namespace.
//!
//! Rootless Podman keeps its bridges (`podman0`, `podman1`, …) inside one network namespace of the
//! user. netavark deletes a network's bridge when its last container is torn down; when that
//! teardown is cut short (a unit's stop SIGKILLs `podman container cleanup`, a power cut), the
//! bridge stays with its old address. A network created later may get the same interface name;
//! netavark then finds "its" bridge already there and attaches the new containers to it without
//! adding the new gateway address, so those containers have no gateway, no DNS (aardvark-dns
//! listens on the gateway) and no published ports. Seen on these machines: a `.container` unit
//! stopped, its network removed, and the next app on `podman-default-kube-network` hung without
//! name resolution until its start timed out.
//!
//! Podman 4 keeps the namespace until the user's runtime dir goes. Podman 5 counts its users (the
//! `ref-count` file next to it) and removes it, bridges and all, when the last container's teardown
//! ends: there a stale bridge outlives a cut-short teardown (whose count is never given back) or
//! lives on while other containers keep the namespace. netavark 1.14 then refuses to start a
//! container on a DNS network with such a bridge (aardvark-dns cannot bind the missing gateway)
//! instead of hanging, and this repair is what lets the start go on.
//!
//! The decision here is pure; `Podman::repair_network` gathers the facts and acts on it.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

/// Whether the user's rootless network namespace exists (looking into one that does not would
/// make one): Podman 4 keeps it as `$XDG_RUNTIME_DIR/netns/rootless-netns-<hash>`, Podman 5 as the
/// file `rootless-netns` in `$XDG_RUNTIME_DIR/containers/networks/rootless-netns/` (with
/// `ref-count`, `info.json`, `rootless-netns-conn.pid`, `run/`), removed with its directory when the
/// last user goes. A directory without that file holds no namespace: Podman would make a new one.
pub fn rootless_netns_exists(runtime_dir: &Path) -> bool {
    let podman4 = std::fs::read_dir(runtime_dir.join("netns"))
        .map(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("rootless-netns")
            })
        })
        .unwrap_or(false);
    podman4
        || runtime_dir
            .join("containers/networks/rootless-netns/rootless-netns")
            .is_file()
}

/// What to do about a network's bridge in the rootless namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeVerdict {
    /// Missing (netavark will create it) or carrying the network's gateways.
    Fine,
    /// Carries other addresses and no container of the network runs: delete it; netavark builds
    /// it anew. (Interfaces still enslaved to it belong to containers whose teardown was cut
    /// short with the removed network's; they are gone.)
    RemoveStale { addresses: Vec<String> },
    /// Carries other addresses and containers of the network run, attached to it without a
    /// gateway: only stopping them lets Podman rebuild it.
    Conflict { addresses: Vec<String> },
}

/// A network as `podman network inspect`/`ls --format json` print it (the fields used here).
#[derive(Debug, Deserialize)]
pub struct Network {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub network_interface: String,
    #[serde(default)]
    subnets: Vec<Subnet>,
}

#[derive(Debug, Deserialize)]
struct Subnet {
    #[serde(default)]
    gateway: String,
}

impl Network {
    pub fn gateways(&self) -> Vec<IpAddr> {
        self.subnets
            .iter()
            .filter_map(|s| s.gateway.parse().ok())
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct Link {
    #[serde(default)]
    ifname: String,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Deserialize)]
struct AddrInfo {
    #[serde(default)]
    local: String,
    #[serde(default)]
    scope: String,
}

/// Each interface of `ip -j addr show …` output with its global addresses (empty output: none).
/// `None` when the output cannot be read, so that nothing is done on a guess.
pub fn interfaces(ip_json: &str) -> Option<Vec<(String, Vec<IpAddr>)>> {
    if ip_json.trim().is_empty() {
        return Some(Vec::new());
    }
    let links: Vec<Link> = serde_json::from_str(ip_json).ok()?;
    Some(
        links
            .into_iter()
            .map(|l| {
                let addresses = l
                    .addr_info
                    .iter()
                    // Link-local IPv6 addresses come with every interface and say nothing.
                    .filter(|a| a.scope != "link")
                    .filter_map(|a| a.local.parse().ok())
                    .collect();
                (l.ifname, addresses)
            })
            .collect(),
    )
}

/// The global addresses of the one bridge in `ip -j addr show dev IFACE` output.
pub fn bridge_addresses(ip_json: &str) -> Option<Vec<IpAddr>> {
    Some(
        interfaces(ip_json)?
            .into_iter()
            .flat_map(|(_, a)| a)
            .collect(),
    )
}

/// Decides from the network's gateways, the addresses of the bridge under its interface name (the
/// callers handle a missing bridge: nothing to decide) and whether containers of the network run.
pub fn verdict(gateways: &[IpAddr], addresses: &[IpAddr], in_use: bool) -> BridgeVerdict {
    // A bridge netavark has not addressed yet (being set up right now) is not stale.
    // One gateway of several present: netavark is adding the others right now.
    if gateways.is_empty() || addresses.is_empty() || gateways.iter().any(|g| addresses.contains(g))
    {
        return BridgeVerdict::Fine;
    }
    let addresses = addresses.iter().map(ToString::to_string).collect();
    if in_use {
        BridgeVerdict::Conflict { addresses }
    } else {
        BridgeVerdict::RemoveStale { addresses }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const STALE: &str = r#"[{"ifindex":3,"ifname":"podman1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","addr_info":[{"family":"inet","local":"10.89.179.1","prefixlen":24,"broadcast":"10.89.179.255","scope":"global","label":"podman1"},{"family":"inet6","local":"fe80::e080:54ff:fe6c:64e0","prefixlen":64,"scope":"link"}]}]"#;

    fn touch(path: &Path) {
        let dir = path
            .parent()
            .unwrap_or_else(|| panic!("{}", path.display()));
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path, "").unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn finds_a_podman_4_namespace() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(!rootless_netns_exists(dir.path()));
        std::fs::create_dir_all(dir.path().join("netns")).unwrap_or_else(|e| panic!("{e}"));
        assert!(!rootless_netns_exists(dir.path()));
        touch(&dir.path().join("netns/rootless-netns-15db582831e5"));
        assert!(rootless_netns_exists(dir.path()));
    }

    /// The layout Podman 5.4.2 keeps while a container runs (seen on Debian 13), and what is left
    /// when its last user goes: nothing, or a directory without the namespace file.
    #[test]
    fn finds_a_podman_5_namespace_only_while_its_file_is_there() {
        let run = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let nets = run.path().join("containers/networks");
        std::fs::create_dir_all(nets.join("aardvark-dns")).unwrap_or_else(|e| panic!("{e}"));
        assert!(!rootless_netns_exists(run.path()), "no rootless-netns dir");
        let ns = nets.join("rootless-netns");
        for f in [
            "info.json",
            "ref-count",
            "resolv.conf",
            "rootless-netns-conn.pid",
        ] {
            touch(&ns.join(f));
        }
        std::fs::create_dir_all(ns.join("run")).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !rootless_netns_exists(run.path()),
            "dir without the netns file"
        );
        touch(&ns.join("rootless-netns"));
        assert!(rootless_netns_exists(run.path()));
        std::fs::remove_dir_all(&ns).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !rootless_netns_exists(run.path()),
            "removed with the last container"
        );
    }

    #[test]
    fn reads_global_addresses_of_ip_json() {
        assert_eq!(bridge_addresses(STALE), Some(vec![ip("10.89.179.1")]));
        assert_eq!(bridge_addresses(""), Some(vec![]));
        assert_eq!(bridge_addresses("not json"), None);
    }

    #[test]
    fn a_bridge_with_a_removed_networks_address_is_stale() {
        let gw = [ip("10.89.0.1")];
        let addrs = [ip("10.89.179.1")];
        assert_eq!(
            verdict(&gw, &addrs, false),
            BridgeVerdict::RemoveStale {
                addresses: vec!["10.89.179.1".into()]
            }
        );
        assert_eq!(
            verdict(&gw, &addrs, true),
            BridgeVerdict::Conflict {
                addresses: vec!["10.89.179.1".into()]
            }
        );
    }

    #[test]
    fn unaddressed_or_matching_bridges_are_fine() {
        let gw = [ip("10.89.0.1"), ip("fd00::1")];
        assert_eq!(verdict(&gw, &[], false), BridgeVerdict::Fine);
        assert_eq!(
            verdict(&gw, &[ip("10.89.0.1"), ip("fd00::1")], true),
            BridgeVerdict::Fine
        );
        // One of two gateways present: netavark is adding the other right now.
        assert_eq!(verdict(&gw, &[ip("10.89.0.1")], true), BridgeVerdict::Fine);
        // A network without a gateway (internal, no subnet known): nothing to compare.
        assert_eq!(verdict(&[], &[ip("10.1.0.1")], false), BridgeVerdict::Fine);
    }
}
