//! `ports:` (short `[[IP:]HOST:]CONTAINER[/PROTO]` with ranges, and the long syntax) → container
//! ports; a port without a host port is not published, and says so. A host range over one
//! container port (`8081-8083:80`) is how compose publishes replicas: each replica binds one
//! port of the range; it becomes one host port per replica (`io.quadplay.replica-host-ports`).

use super::super::objects::ContainerPort;
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;

/// What one `ports:` entry asks for.
pub(super) struct PortEntry {
    /// containerPort entries (a container range gives several); for a per-replica range, one
    /// whose hostPort is the range's first port.
    pub ports: Vec<ContainerPort>,
    /// For a host range over one container port: the range, one host port per replica.
    pub per_replica: Option<Vec<u16>>,
}

impl PortEntry {
    fn plain(ports: Vec<ContainerPort>) -> Self {
        PortEntry {
            ports,
            per_replica: None,
        }
    }

    /// One container port published on each port of `hosts`, one per replica.
    fn per_replica(port: ContainerPort, hosts: Vec<u16>) -> Self {
        let port = ContainerPort {
            host_port: hosts.first().copied(),
            ..port
        };
        PortEntry {
            ports: vec![port],
            per_replica: Some(hosts),
        }
    }
}

/// One `ports:` entry → containerPort entries (a range gives several).
pub(super) fn port(ctx: &mut Ctx, it: &Item, key: &str) -> Result<PortEntry, ComposeError> {
    if let Node::Map(entries) = &it.node {
        return long_port(ctx, entries, it.line, key);
    }
    let spec = ctx.string(it, key)?;
    let (spec, proto) = match spec.rsplit_once('/') {
        Some((s, p)) => (s.to_string(), p.to_uppercase()),
        None => (spec.clone(), "TCP".to_string()),
    };
    if proto != "TCP" && proto != "UDP" && proto != "SCTP" {
        return Err(ctx.invalid(it.line, key, format!("unknown protocol {proto:?}")));
    }
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let (container, host, ip) = match parts.as_slice() {
        [c] => (*c, None, None),
        [c, h] => (*c, Some(*h), None),
        [c, h, ip] => (
            *c,
            Some(*h),
            Some(ip.trim_start_matches('[').trim_end_matches(']')),
        ),
        _ => return Err(ctx.invalid(it.line, key, format!("cannot read port {spec:?}"))),
    };
    let bad = |_| {
        ctx.invalid(
            it.line,
            key,
            format!("cannot read port {spec:?}: [[IP:]HOST:]CONTAINER[/PROTO] expected"),
        )
    };
    let containers = port_range(container).map_err(bad)?;
    let hosts = match host.filter(|h| !h.is_empty()) {
        Some(h) => Some(port_range(h).map_err(bad)?),
        None => None,
    };
    let one = |c: u16, h: Option<u16>| ContainerPort {
        container_port: c,
        host_ip: ip.filter(|ip| !ip.is_empty()).map(str::to_string),
        host_port: h,
        protocol: proto.clone(),
    };
    match hosts {
        Some(h) if containers.len() == 1 && h.len() > 1 => {
            Ok(PortEntry::per_replica(one(containers[0], None), h))
        }
        Some(h) if h.len() != containers.len() => Err(ctx.invalid(
            it.line,
            key,
            "host and container port ranges differ in length",
        )),
        Some(h) => Ok(PortEntry::plain(
            containers
                .iter()
                .zip(h)
                .map(|(c, h)| one(*c, Some(h)))
                .collect(),
        )),
        None => {
            ctx.warn(it.line, key, "a container port without a host port is not published (compose would pick a random host port); give HOST:CONTAINER to publish it");
            Ok(PortEntry::plain(
                containers.iter().map(|c| one(*c, None)).collect(),
            ))
        }
    }
}

fn port_range(s: &str) -> Result<Vec<u16>, ()> {
    let parse = |x: &str| {
        x.trim()
            .parse::<u16>()
            .map_err(|_| ())
            .and_then(|p| if p == 0 { Err(()) } else { Ok(p) })
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a {
                return Err(());
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![parse(s)?]),
    }
}

fn long_port(
    ctx: &mut Ctx,
    entries: &[Entry],
    line: At,
    key: &str,
) -> Result<PortEntry, ComposeError> {
    let (mut container, mut host, mut host_ip) = (None, None, None);
    let mut proto = "TCP".to_string();
    for e in entries {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "target" => {
                let s = ctx.string(&e.value, &k)?;
                let p = port_range(&s)
                    .ok()
                    .filter(|v| v.len() == 1)
                    .ok_or_else(|| ctx.invalid(e.line, &k, "expected a port number"))?;
                container = Some(p[0]);
            }
            "published" => {
                let s = ctx.string(&e.value, &k)?;
                let p = port_range(&s).map_err(|_| {
                    ctx.invalid(e.line, &k, "expected a port number or a range (8081-8083)")
                })?;
                host = Some(p);
            }
            "host_ip" => {
                host_ip = Some(ctx.string(&e.value, &k)?);
            }
            "protocol" => proto = ctx.string(&e.value, &k)?.to_uppercase(),
            "mode" | "name" | "app_protocol" => {}
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let Some(container_port) = container else {
        return Err(ctx.invalid(line, key, "no target port"));
    };
    let port = ContainerPort {
        container_port,
        host_ip,
        host_port: None,
        protocol: proto,
    };
    Ok(match host {
        Some(h) if h.len() > 1 => PortEntry::per_replica(port, h),
        h => PortEntry::plain(vec![ContainerPort {
            host_port: h.and_then(|h| h.first().copied()),
            ..port
        }]),
    })
}
