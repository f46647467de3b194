//! Before anything is created: are the host ports the plan publishes free to bind?
//!
//! Podman finds a taken port only when it starts the pod, after the network, the pod, its
//! containers and their DNS names exist; Podman 4.3 then leaves the name in aardvark-dns's table
//! (it never tears down a network set-up whose port forwarding failed), so the next successful
//! start resolves that name to a dead address too. Checking first names the workload and port,
//! creates nothing, and leaves nothing behind. The check binds each port the way Podman's port
//! forwarder will (as this user, on the same address), and lets go at once.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use super::plan::field_prefix;
use crate::plan::{Plan, PortMapping, PortOrigin};

/// Why a port cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {workload}: {}host port {port}: {reason}", origin.location, field_prefix(&origin.field))]
pub struct PortUnavailable {
    /// Where the port was asked for (file:line:column and field, or `--publish …`).
    pub origin: PortOrigin,
    pub workload: String,
    /// `0.0.0.0:8080/tcp`
    pub port: String,
    pub reason: String,
}

/// Checks every published TCP and UDP port of every pod that does not use the host's network
/// (those bind inside their containers, where we cannot look). A port in use is retried until
/// `wait` has passed: the pods of an earlier run, just removed, may still be letting go of it.
pub fn check(plan: &Plan, wait: Duration) -> Result<(), PortUnavailable> {
    let deadline = Instant::now() + wait;
    for pod in plan.pods.iter().filter(|p| !p.host_network) {
        for mapping in &pod.ports {
            let Some(addr) = socket_addr(mapping) else {
                continue;
            };
            if let Err(reason) = bind_until(addr, &mapping.protocol, deadline) {
                return Err(PortUnavailable {
                    origin: mapping.origin.clone(),
                    workload: pod.workload.clone(),
                    port: format!("{addr}/{}", mapping.protocol),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// The address Podman binds: the hostIP, else every IPv4 address. An address that does not parse
/// is left to Podman to refuse in its own words.
fn socket_addr(m: &PortMapping) -> Option<SocketAddr> {
    let ip = match m.host_ip.as_deref().map(|s| s.trim_matches(['[', ']'])) {
        None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(s) => s.parse().ok()?,
    };
    Some(SocketAddr::new(ip, m.host_port))
}

fn bind_until(addr: SocketAddr, protocol: &str, deadline: Instant) -> Result<(), String> {
    loop {
        let result = match protocol {
            "tcp" => TcpListener::bind(addr).map(drop),
            "udp" => UdpSocket::bind(addr).map(drop),
            // SCTP has no socket type in std; Podman reports its own error.
            _ => return Ok(()),
        };
        let err = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if err.kind() == ErrorKind::AddrInUse && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        return Err(explain(&err, addr.port()));
    }
}

fn explain(err: &std::io::Error, port: u16) -> String {
    match err.kind() {
        ErrorKind::AddrInUse => {
            "already in use by another program or app; nothing was created".into()
        }
        ErrorKind::PermissionDenied => format!(
            "permission denied: rootless Podman can publish port {port} only when \
             net.ipv4.ip_unprivileged_port_start is at most {port} (now {}); see quadplay doctor",
            unprivileged_port_start().unwrap_or_else(|| "unknown".into())
        ),
        ErrorKind::AddrNotAvailable => "the hostIP is not an address of this host".into(),
        _ => err.to_string(),
    }
}

fn unprivileged_port_start() -> Option<String> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PodPlan;

    fn plan_with(port: u16, protocol: &str, host_ip: Option<&str>, host_network: bool) -> Plan {
        Plan {
            pods: vec![PodPlan {
                name: "web".into(),
                workload: "Deployment/web".into(),
                ports: vec![PortMapping {
                    host_ip: host_ip.map(str::to_string),
                    host_port: port,
                    container_port: 80,
                    protocol: protocol.into(),
                    origin: PortOrigin {
                        location: "app.yaml:9:21".into(),
                        field: "spec.template.spec.containers[0].ports[0].hostPort".into(),
                    },
                }],
                host_network,
                ..PodPlan::default()
            }],
            ..Plan::default()
        }
    }

    /// A port the kernel just handed out, held by `listener` while it lives.
    fn held_tcp_port() -> (TcpListener, u16) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = l.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        (l, port)
    }

    #[test]
    fn a_taken_tcp_port_names_workload_and_port() {
        let (_held, port) = held_tcp_port();
        let plan = plan_with(port, "tcp", Some("127.0.0.1"), false);
        let err = check(&plan, Duration::ZERO).err();
        let err = err.unwrap_or_else(|| panic!("a held port passed the check"));
        assert_eq!(err.workload, "Deployment/web");
        assert_eq!(err.port, format!("127.0.0.1:{port}/tcp"));
        assert!(err.reason.contains("already in use"), "{}", err.reason);
        assert!(
            err.to_string().starts_with(
                "app.yaml:9:21: Deployment/web: spec.template.spec.containers[0].ports[0].hostPort: host port 127.0.0.1:"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_wildcard_address_conflicts_with_a_loopback_listener() {
        // Podman binds 0.0.0.0 when no hostIP is given; a program on 127.0.0.1 blocks that too.
        let (_held, port) = held_tcp_port();
        let plan = plan_with(port, "tcp", None, false);
        assert!(check(&plan, Duration::ZERO).is_err());
    }

    #[test]
    fn a_port_freed_while_waiting_passes() {
        let (held, port) = held_tcp_port();
        let plan = plan_with(port, "tcp", Some("127.0.0.1"), false);
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let result = check(&plan, Duration::from_secs(5));
        release.join().unwrap_or_else(|_| panic!("release thread"));
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn free_ports_host_network_and_sctp_pass_and_udp_is_checked() {
        let (held, port) = held_tcp_port();
        drop(held);
        assert_eq!(
            check(
                &plan_with(port, "tcp", Some("127.0.0.1"), false),
                Duration::ZERO
            ),
            Ok(())
        );
        let (_held, port) = held_tcp_port();
        // Host networking: the container binds the port itself.
        assert_eq!(
            check(&plan_with(port, "tcp", None, true), Duration::ZERO),
            Ok(())
        );
        assert_eq!(
            check(&plan_with(port, "sctp", None, false), Duration::ZERO),
            Ok(())
        );
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let uport = udp.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        let err = check(
            &plan_with(uport, "udp", Some("127.0.0.1"), false),
            Duration::ZERO,
        );
        assert!(err.is_err(), "a held UDP port passed");
    }

    #[test]
    fn a_host_ip_that_is_not_ours_is_named() {
        // TEST-NET-2 (RFC 5737) is never assigned to this host.
        let plan = plan_with(18080, "tcp", Some("198.51.100.1"), false);
        let err = check(&plan, Duration::ZERO).err();
        let err = err.unwrap_or_else(|| panic!("a foreign hostIP passed"));
        assert!(
            err.reason.contains("not an address of this host"),
            "{}",
            err.reason
        );
    }
}
