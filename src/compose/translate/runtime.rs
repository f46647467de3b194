//! Runtime keys of a service: `deploy` (replicas, resources, restart policy, labels), `user`,
//! `restart`, `pull_policy`, `build`, `networks` aliases, `extra_hosts`, `dns*`, sizes and
//! durations in compose's notation, and what to do about keys with no equivalent.

use super::super::objects::{DnsOption, HostAlias};
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;
use super::env::environment;
use super::service::{Parts, MAX_REPLICAS};
use crate::kube::quantity::Quantity;

/// `deploy:` — replicas, resources (limits and reservations), restart_policy.
pub(super) fn deploy(
    ctx: &mut Ctx,
    p: &mut Parts,
    v: &Item,
    key: &str,
) -> Result<(), ComposeError> {
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "replicas" => p.replicas = Some(replicas(ctx, &e.value, &k)?),
            "resources" => resources(ctx, p, &e.value, &k)?,
            "restart_policy" => {
                if let Some(c) = e.value.get("condition") {
                    let cond = ctx.string(c, &format!("{k}.condition"))?;
                    p.restart = Some(match cond.as_str() {
                        "none" => "Never",
                        "on-failure" => "OnFailure",
                        _ => "Always",
                    });
                }
                for x in e.value.entries() {
                    if x.key != "condition" {
                        ctx.warn(
                            x.line,
                            &format!("{k}.{}", x.key),
                            "not kept: Kubernetes restarts with its own back-off",
                        );
                    }
                }
            }
            "labels" => {
                for (lk, lv) in environment(ctx, &e.value, &k)? {
                    p.annotations.insert(lk, lv);
                }
            }
            "mode" | "endpoint_mode" | "placement" | "update_config" | "rollback_config" => {
                ctx.note(e.line, &k, "swarm-only; nothing to do on one machine")
            }
            _ => ctx.warn(e.line, &k, "not supported; ignored"),
        }
    }
    Ok(())
}

fn resources(ctx: &mut Ctx, p: &mut Parts, v: &Item, key: &str) -> Result<(), ComposeError> {
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        let target = match e.key.as_str() {
            "limits" => &mut p.limits,
            "reservations" => &mut p.requests,
            _ => {
                ctx.warn(e.line, &k, "not supported; ignored");
                continue;
            }
        };
        let mut found = Vec::new();
        for r in e.value.entries() {
            let rk = format!("{k}.{}", r.key);
            match r.key.as_str() {
                "cpus" => found.push(("cpu", cpus(ctx, &r.value, &rk)?)),
                "memory" => found.push(("memory", size(ctx, &r.value, &rk)?)),
                "pids" | "devices" | "generic_resources" => ctx.warn(
                    r.line,
                    &rk,
                    "not kept: Kubernetes YAML has no per-container equivalent",
                ),
                _ => ctx.warn(r.line, &rk, "not supported; ignored"),
            }
        }
        for (name, val) in found {
            target.insert(name.into(), val);
        }
    }
    Ok(())
}

pub(super) fn user(
    ctx: &mut Ctx,
    p: &mut Parts,
    v: &Item,
    key: &str,
    line: At,
) -> Result<(), ComposeError> {
    let s = ctx.string(v, key)?;
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u.to_string(), Some(g.to_string())),
        None => (s.clone(), None),
    };
    match u.parse::<i64>() {
        Ok(uid) => {
            p.security.run_as_user = Some(uid);
        }
        Err(_) => {
            ctx.warn(
                line,
                key,
                format!("user {u:?} is a name; Kubernetes takes numeric IDs only: not kept"),
            );
            return Ok(());
        }
    }
    if let Some(g) = g {
        match g.parse::<i64>() {
            Ok(gid) => {
                p.security.run_as_group = Some(gid);
            }
            Err(_) => ctx.warn(line, key, format!("group {g:?} is a name; not kept")),
        }
    }
    Ok(())
}

/// Why a compose key has no equivalent, and what to do instead.
pub(super) fn no_equivalent(key: &str) -> &'static str {
    match key {
        "init" => "not kept: Kubernetes YAML has no init process option; use an image whose entrypoint reaps children (tini, dumb-init)",
        "ulimits" => "not kept: Kubernetes YAML has no ulimits; set DefaultLimitNOFILE= etc. for the user manager, or Podman's default_ulimits in containers.conf",
        "devices" => "not kept: Kubernetes YAML has no device mapping; use a hostPath volume for the device node (privileged for access)",
        "security_opt" => "not kept: set seccomp/apparmor/label options in containers.conf or use securityContext fields in the YAML",
        "logging" => "not kept: containers log to the journal through Podman's default log driver",
        "platform" => "not kept: pull the image for the wanted platform first (podman pull --platform)",
        _ => "not kept: no equivalent in Kubernetes YAML",
    }
}

/// A compose size (`512m`, `1g`, `1.5G`, `1024kb`, bytes) as a Kubernetes quantity (`512Mi`,
/// `1Gi`); a value that makes no quantity is an error where it is written, not at start.
pub(super) fn size(ctx: &mut Ctx, v: &Item, key: &str) -> Result<String, ComposeError> {
    let s = ctx.string(v, key)?;
    let q = quantity(&s);
    match Quantity::parse(&q) {
        Ok(_) => Ok(q),
        Err(_) => Err(ctx.invalid(
            v.line,
            key,
            format!("{s:?} is not a size (e.g. 512m, 1g, 1024k, a number of bytes)"),
        )),
    }
}

/// A compose CPU count (`0.5`, `2`) as a Kubernetes quantity; anything else is an error where
/// it is written.
pub(super) fn cpus(ctx: &mut Ctx, v: &Item, key: &str) -> Result<String, ComposeError> {
    let s = ctx.string(v, key)?;
    match Quantity::parse(&s) {
        Ok(_) => Ok(s.trim().to_string()),
        Err(_) => Err(ctx.invalid(
            v.line,
            key,
            format!("{s:?} is not a number of CPUs (e.g. 0.5, 2)"),
        )),
    }
}

/// Compose sizes (`512m`, `1g`, `1024k`, bytes) as Kubernetes quantities (`512Mi`, `1Gi`).
fn quantity(s: &str) -> String {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    for (suffix, k8s) in [
        ("k", "Ki"),
        ("m", "Mi"),
        ("g", "Gi"),
        ("t", "Ti"),
        ("p", "Pi"),
    ] {
        if let Some(n) = t.strip_suffix(suffix) {
            return format!("{n}{k8s}");
        }
    }
    t.to_string()
}

pub(super) fn build_context(ctx: &mut Ctx, v: &Item, key: &str) -> Result<String, ComposeError> {
    match &v.node {
        Node::Map(_) => Ok(v
            .get("context")
            .map(|c| ctx.string(c, &format!("{key}.context")))
            .transpose()?
            .unwrap_or_else(|| ".".into())),
        _ => ctx.string(v, key),
    }
}

pub(super) fn pull_policy(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
) -> Result<&'static str, ComposeError> {
    let s = ctx.string(v, key)?;
    Ok(match s.as_str() {
        "always" => "Always",
        "never" | "build" => "Never",
        "missing" | "if_not_present" => "IfNotPresent",
        _ => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("unknown pull_policy {s:?} (always, never, missing, build)"),
            ))
        }
    })
}

pub(super) fn restart(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
    line: At,
) -> Result<&'static str, ComposeError> {
    let r = ctx.string(v, key)?;
    Ok(match r.split(':').next().unwrap_or("") {
        "always" | "unless-stopped" => "Always",
        "on-failure" => {
            if r.contains(':') {
                ctx.warn(
                    line,
                    key,
                    "the retry limit of on-failure:N is not kept (Kubernetes has none)",
                );
            }
            "OnFailure"
        }
        "no" | "" => "Never",
        _ => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("unknown restart policy {r:?} (no, always, on-failure, unless-stopped)"),
            ))
        }
    })
}

/// A service's `networks:` aliases become network aliases; the networks themselves are one.
pub(super) fn networks(
    ctx: &mut Ctx,
    p: &mut Parts,
    v: &Item,
    key: &str,
) -> Result<(), ComposeError> {
    if let Node::Map(entries) = &v.node {
        for n in entries {
            if let Some(a) = n.value.get("aliases") {
                p.aliases
                    .extend(ctx.strings(a, &format!("{key}.{}.aliases", n.key))?);
            }
        }
    }
    ctx.note(v.line, key, "every pod joins one shared bridge network");
    Ok(())
}

pub(super) fn extra_hosts(
    ctx: &mut Ctx,
    p: &mut Parts,
    v: &Item,
    key: &str,
) -> Result<(), ComposeError> {
    let pairs: Vec<(String, String)> = match &v.node {
        Node::Map(_) => environment(ctx, v, key)?,
        _ => ctx
            .strings(v, key)?
            .into_iter()
            .filter_map(|s| {
                let (h, ip) = s.split_once('=').or_else(|| s.split_once(':'))?;
                Some((h.to_string(), ip.to_string()))
            })
            .collect(),
    };
    let list = pairs
        .into_iter()
        .map(|(h, ip)| HostAlias {
            hostnames: vec![h],
            ip: ip.trim_matches(['[', ']']).to_string(),
        })
        .collect();
    p.host_aliases = Some(list);
    Ok(())
}

pub(super) fn dns(ctx: &mut Ctx, p: &mut Parts, e: &Entry, key: &str) -> Result<(), ComposeError> {
    let values = ctx.strings(&e.value, key)?;
    let cfg = p.dns.get_or_insert_with(Default::default);
    match e.key.as_str() {
        "dns" => cfg.nameservers = Some(values),
        "dns_search" => cfg.searches = Some(values),
        _ => {
            let options = values
                .iter()
                .map(|o| match o.split_once(':') {
                    Some((n, v)) => DnsOption {
                        name: n.to_string(),
                        value: Some(v.to_string()),
                    },
                    None => DnsOption {
                        name: o.to_string(),
                        value: None,
                    },
                })
                .collect();
            cfg.options = Some(options);
        }
    }
    Ok(())
}

pub(super) fn replicas(ctx: &mut Ctx, v: &Item, key: &str) -> Result<u64, ComposeError> {
    let n = ctx.int(v, key)?;
    if !(0..=MAX_REPLICAS).contains(&n) {
        return Err(ctx.invalid(
            v.line,
            key,
            format!("{n} replicas: expected 0 to {MAX_REPLICAS}"),
        ));
    }
    if n == 0 {
        ctx.warn(v.line, key, "0 replicas is kept as one pod");
    }
    Ok(u64::try_from(n.max(1)).unwrap_or(1))
}
/// Compose durations: `1m30s`, `10s`, `500ms`, `1h`.
pub(crate) fn duration_secs(s: &str) -> Option<u64> {
    let mut total_ms: u64 = 0;
    let mut num = String::new();
    let mut chars = s.trim().chars().peekable();
    if s.trim().is_empty() {
        return None;
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit_ms = match c {
            'h' => 3_600_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            's' => 1000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
    }
    if !num.is_empty() {
        total_ms = total_ms.checked_add(num.parse::<u64>().ok()?.checked_mul(1000)?)?;
    }
    Some(total_ms.div_ceil(1000))
}
