//! `ports:` (short `[[IP:]HOST:]CONTAINER[/PROTO]` with ranges, and the long syntax) → container
//! ports; a port without a host port is not published, and says so.

use super::super::objects::ContainerPort;
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;

/// One `ports:` entry → containerPort entries (a range gives several).
pub(super) fn port(
    ctx: &mut Ctx,
    it: &Item,
    key: &str,
) -> Result<Vec<ContainerPort>, ComposeError> {
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
    if hosts.as_ref().is_some_and(|h| h.len() != containers.len()) {
        return Err(ctx.invalid(
            it.line,
            key,
            "host and container port ranges differ in length",
        ));
    }
    if hosts.is_none() {
        ctx.warn(it.line, key, "a container port without a host port is not published (compose would pick a random host port); give HOST:CONTAINER to publish it");
    }
    Ok(containers
        .iter()
        .enumerate()
        .map(|(i, c)| ContainerPort {
            container_port: *c,
            host_ip: ip.filter(|ip| !ip.is_empty()).map(str::to_string),
            host_port: hosts.as_ref().and_then(|h| h.get(i)).copied(),
            protocol: proto.clone(),
        })
        .collect())
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
) -> Result<Vec<ContainerPort>, ComposeError> {
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
                let p = port_range(&s)
                    .ok()
                    .filter(|v| v.len() == 1)
                    .ok_or_else(|| {
                        ctx.invalid(
                            e.line,
                            &k,
                            "expected one port number (ranges only in the short syntax)",
                        )
                    })?;
                host = Some(p[0]);
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
    Ok(vec![ContainerPort {
        container_port,
        host_ip,
        host_port: host,
        protocol: proto,
    }])
}
