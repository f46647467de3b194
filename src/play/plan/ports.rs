//! Published ports: the YAML's hostPorts, per-replica ports, `--publish`, and conflicts.

use std::collections::BTreeMap;

use super::context::{invalid, PlanError, Workload};
use crate::kube::model::{Container, ContainerPort};
use crate::plan::*;
/// The published ports of one container: entries with a `hostPort` (or, for replicas, a port
/// given by the replica-host-ports annotation).
pub(super) fn container_ports(
    w: &Workload,
    c: &Container,
    path: &str,
    replica: Option<usize>,
    down: bool,
) -> Result<Vec<PortMapping>, PlanError> {
    let mut out = Vec::new();
    for (i, p) in c.ports.iter().enumerate() {
        let field = format!("{path}.ports[{i}]");
        let Some(mapping) = port_mapping(w, p, &field)? else {
            continue;
        };
        let mapping = match replica {
            None => mapping,
            Some(_) if down => continue,
            Some(r) => replica_port(w, mapping, r, &field)?,
        };
        out.push(mapping);
    }
    Ok(out)
}

fn port_mapping(
    w: &Workload,
    p: &ContainerPort,
    field: &str,
) -> Result<Option<PortMapping>, PlanError> {
    let protocol = p
        .protocol
        .clone()
        .unwrap_or_else(|| "tcp".into())
        .to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(invalid(
            w.obj,
            &format!("{field}.protocol"),
            "must be TCP, UDP or SCTP",
        ));
    }
    let container_port = match (p.container_port, p.host_port) {
        (Some(0), _) => {
            return Err(invalid(
                w.obj,
                &format!("{field}.containerPort"),
                "must not be 0",
            ))
        }
        (Some(c), _) => c,
        (None, Some(h)) => h,
        (None, None) => return Err(invalid(w.obj, field, "missing containerPort")),
    };
    let Some(host_port) = p.host_port.filter(|h| *h != 0) else {
        return Ok(None);
    };
    let field = format!("{field}.hostPort");
    Ok(Some(PortMapping {
        host_ip: p.host_ip.clone().filter(|ip| !ip.is_empty()),
        host_port,
        container_port,
        protocol,
        origin: PortOrigin {
            location: w.obj.location(&field),
            field,
        },
    }))
}

/// For replica `r`: the r-th port of `io.quadplay.replica-host-ports/<containerPort>`.
fn replica_port(
    w: &Workload,
    mut m: PortMapping,
    r: usize,
    field: &str,
) -> Result<PortMapping, PlanError> {
    let key = format!("{REPLICA_HOST_PORTS}{}", m.container_port);
    let Some(list) = w.meta.annotations.get(&key) else {
        return Err(invalid(
            w.obj,
            &format!("{field}.hostPort"),
            format!(
                "{} replicas would each bind host port {}; give one host port per replica with the annotation `{key}: \"{}\"` on the {}, or use replicas: 1",
                w.replicas,
                m.host_port,
                (0..w.replicas).map(|i| (u32::from(m.host_port) + i).to_string()).collect::<Vec<_>>().join(","),
                w.obj.kind
            ),
        ));
    };
    let ports: Vec<&str> = list.split(',').map(str::trim).collect();
    if ports.len() != w.replicas as usize {
        return Err(invalid(
            w.obj,
            "metadata.annotations",
            format!(
                "`{key}` lists {} port(s) for {} replicas",
                ports.len(),
                w.replicas
            ),
        ));
    }
    let field = format!("metadata.annotations.{key}");
    m.origin = PortOrigin {
        location: w.obj.location("metadata.annotations"),
        field,
    };
    m.host_port = ports[r]
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            invalid(
                w.obj,
                "metadata.annotations",
                format!("`{key}`: `{}` is not a port", ports[r]),
            )
        })?;
    Ok(m)
}

/// A parsed `--publish` value; `container_port` with `protocol` is what it overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Publish {
    pub text: String,
    pub mapping: PortMapping,
    /// The value named no host port.
    pub implicit_host_port: bool,
}

/// `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`; IPv6 addresses in brackets.
pub(super) fn parse_publish(text: &str) -> Result<Publish, PlanError> {
    let bad = |message: &str| PlanError::Option {
        option: "--publish",
        value: text.to_string(),
        message: message.to_string(),
    };
    let (rest, protocol) = match text.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("the protocol must be tcp, udp or sctp"));
    }
    let (host_ip, rest) = if let Some(stripped) = rest.strip_prefix('[') {
        let (ip, after) = stripped
            .split_once("]:")
            .ok_or_else(|| bad("unterminated IPv6 address"))?;
        (Some(ip.to_string()), after)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (None, rest),
            3 => (
                Some(parts[0].to_string()).filter(|s| !s.is_empty()),
                &rest[parts[0].len() + 1..],
            ),
            _ => return Err(bad("expected [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]")),
        }
    };
    let port = |s: &str| s.parse::<u16>().map_err(|_| bad("not a port number"));
    // No host port: Podman would pick a random one, which nothing could find behind a unit;
    // the container port is used instead (and said so in a warning).
    let (host_port, container_port) = match rest.split_once(':') {
        Some(("", c)) => (port(c)?, port(c)?),
        Some((h, c)) => (port(h)?, port(c)?),
        None => (port(rest)?, port(rest)?),
    };
    if container_port == 0 || host_port == 0 {
        return Err(bad("port numbers must be 1 to 65535"));
    }
    Ok(Publish {
        text: text.to_string(),
        implicit_host_port: !matches!(rest.split_once(':'), Some((h, _)) if !h.is_empty()),
        mapping: PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol,
            origin: PortOrigin {
                location: format!("--publish {text}"),
                field: String::new(),
            },
        },
    })
}

/// A `--publish` entry replaces the YAML's mapping for the same container port and protocol in
/// every pod that declares that port; a port no pod declares is published on the first pod.
pub(super) fn apply_publish(pods: &mut [PodPlan], publish: &[Publish]) -> Result<(), PlanError> {
    for p in publish {
        let m = &p.mapping;
        let declares = |pod: &PodPlan| {
            pod.ports
                .iter()
                .any(|x| x.container_port == m.container_port && x.protocol == m.protocol)
        };
        let mut targets: Vec<usize> = (0..pods.len()).filter(|i| declares(&pods[*i])).collect();
        if targets.is_empty() {
            targets.push(0);
        }
        if pods.is_empty() {
            return Err(PlanError::Option {
                option: "--publish",
                value: p.text.clone(),
                message: "there is no pod to publish on".into(),
            });
        }
        for i in targets {
            let pod = &mut pods[i];
            pod.ports
                .retain(|x| !(x.container_port == m.container_port && x.protocol == m.protocol));
            pod.ports.push(m.clone());
        }
    }
    Ok(())
}

/// Two pods binding one host port would fail at start with a rootlessport error; say so now.
/// `owners[i]` is the index in `workloads` of the workload `pods[i]` was made from.
pub(super) fn check_host_ports(
    pods: &[PodPlan],
    owners: &[usize],
    workloads: &[Workload],
) -> Result<(), PlanError> {
    let mut seen: BTreeMap<(String, u16, String), &PodPlan> = BTreeMap::new();
    for (pod, &owner) in pods.iter().zip(owners) {
        for m in &pod.ports {
            let key = (
                m.host_ip.clone().unwrap_or_default(),
                m.host_port,
                m.protocol.clone(),
            );
            if let Some(first) = seen.insert(key, pod) {
                let message = if first.name == pod.name {
                    format!(
                        "pod {} publishes host port {}/{} twice",
                        pod.name, m.host_port, m.protocol
                    )
                } else {
                    format!(
                        "pods {} and {} both publish host port {}/{}",
                        first.name, pod.name, m.host_port, m.protocol
                    )
                };
                return Err(invalid(workloads[owner].obj, "", message));
            }
        }
    }
    Ok(())
}
