//! Health and start order: `healthcheck:` → startup and readiness probes, `depends_on:` → the
//! services a pod starts after, and the services sorted so that the YAML reads in start order.

use std::collections::{BTreeMap, BTreeSet};

use super::super::objects::{ExecAction, Object, Probe};
use super::super::tree::{At, Entry, Item, Node};
use super::super::ComposeError;
use super::ctx::Ctx;
use super::runtime::duration_secs;
use super::service::ServiceDoc;
use super::Shared;

/// A service this one starts after, by its Kubernetes name, and where it was named.
#[derive(Debug, Clone)]
pub(super) struct Dependency {
    pub name: String,
    pub line: At,
    /// `services.<svc>.depends_on.<dep>`: where it was asked for.
    pub key: String,
    /// `condition: service_completed_successfully`: it must have exited with status 0.
    pub completed: bool,
}

/// `depends_on` (a list, or a mapping with `condition`/`required`) → the services this one
/// starts after, by their Kubernetes names. A dependency left out by profiles is an error unless
/// `required: false`.
pub(super) fn depends_on(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
    sh: &Shared,
) -> Result<Vec<Dependency>, ComposeError> {
    let mut out = Vec::new();
    let list: Vec<(String, At, Option<Item>)> = match &v.node {
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| Ok((ctx.string(it, &format!("{key}[{i}]"))?, it.line, None)))
            .collect::<Result<_, ComposeError>>()?,
        Node::Map(entries) => entries
            .iter()
            .map(|e| (e.key.clone(), e.line, Some(e.value.clone())))
            .collect(),
        other => {
            return Err(ctx.invalid(
                v.line,
                key,
                format!("expected a list or a mapping, found {}", other.type_name()),
            ))
        }
    };
    for (dep, line, opts) in list {
        let k = format!("{key}.{dep}");
        let mut required = true;
        let mut completed = false;
        if let Some(o) = &opts {
            for c in ctx.map(o, &k)?.to_vec() {
                let ck = format!("{k}.{}", c.key);
                match c.key.as_str() {
                    "condition" => {
                        let cond = ctx.string(&c.value, &ck)?;
                        match cond.as_str() {
                            "service_started" | "service_healthy" => {}
                            "service_completed_successfully" => completed = true,
                            _ => return Err(ctx.invalid(c.value.line, &ck, format!("unknown condition {cond:?} (service_started, service_healthy, service_completed_successfully)"))),
                        }
                    }
                    "required" => required = ctx.bool(&c.value, &ck)?,
                    "restart" => ctx.note(
                        c.line,
                        &ck,
                        "not kept: a dependency's restart does not restart this service",
                    ),
                    _ => ctx.warn(c.line, &ck, "not supported; ignored"),
                }
            }
        }
        match sh.names.get(&dep) {
            Some(name) => out.push(Dependency {
                name: name.clone(),
                line,
                key: k.clone(),
                completed,
            }),
            None if sh.disabled.contains(&dep) && !required => {}
            None if sh.disabled.contains(&dep) => {
                return Err(ctx.invalid(line, &k, format!("{dep} is not enabled by any active profile (enable its profile with --profile, or set required: false)")))
            }
            None => return Err(ctx.invalid(line, &k, format!("unknown service {dep:?}"))),
        }
    }
    Ok(out)
}

/// `healthcheck:` → a startupProbe and a readinessProbe running the same test. Compose's health
/// decides "healthy" (what `depends_on: condition: service_healthy` waits for) and never
/// restarts the container: that is readiness, not liveness. With compose's defaults (interval
/// 30 s, timeout 30 s, retries 3, start_period 0, start_interval 5 s): the startupProbe checks
/// every start_interval and allows start_period + retries × interval before it gives up (compose
/// does not count failures in the start period), so a service is found healthy seconds after it
/// is, not one interval later; then the readinessProbe checks every interval.
pub(super) fn healthcheck(
    ctx: &mut Ctx,
    v: &Item,
    key: &str,
) -> Result<Option<(Probe, Probe)>, ComposeError> {
    let mut command = None;
    let (mut interval, mut timeout, mut retries, mut start_period, mut start_interval) =
        (30u64, 30u64, 3u64, 0u64, 5u64);
    for e in ctx.map(v, key)?.to_vec() {
        let k = format!("{key}.{}", e.key);
        match e.key.as_str() {
            "test" => {
                let words = match &e.value.node {
                    Node::Seq(_) => ctx.strings(&e.value, &k)?,
                    _ => vec!["CMD-SHELL".to_string(), ctx.string(&e.value, &k)?],
                };
                command = match words.split_first() {
                    Some((first, rest)) if first == "CMD" => Some(rest.to_vec()),
                    Some((first, rest)) if first == "CMD-SHELL" => {
                        Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
                    }
                    Some((first, _)) if first == "NONE" => return Ok(None),
                    _ => {
                        return Err(ctx.invalid(
                            e.line,
                            &k,
                            "expected [\"CMD\", ...], [\"CMD-SHELL\", \"...\"] or a string",
                        ))
                    }
                };
            }
            "disable" => {
                if ctx.bool(&e.value, &k)? {
                    return Ok(None);
                }
            }
            "interval" | "timeout" | "start_period" | "start_interval" => {
                let s = ctx.string(&e.value, &k)?;
                let secs = duration_secs(&s).ok_or_else(|| {
                    ctx.invalid(e.line, &k, format!("cannot read duration {s:?}"))
                })?;
                *match e.key.as_str() {
                    "interval" => &mut interval,
                    "timeout" => &mut timeout,
                    "start_period" => &mut start_period,
                    _ => &mut start_interval,
                } = secs;
            }
            "retries" => {
                let n = ctx.int(&e.value, &k)?;
                retries = u64::try_from(n)
                    .map_err(|_| ctx.invalid(e.line, &k, "expected a number ≥ 0"))?;
            }
            other => ctx.warn(e.line, &k, format!("{other} is not supported; ignored")),
        }
    }
    let Some(command) = command else {
        ctx.note(
            v.line,
            key,
            "no test: the image's own HEALTHCHECK is not used; no probe",
        );
        return Ok(None);
    };
    let (interval, timeout, retries, start_interval) = (
        interval.max(1),
        timeout.max(1),
        retries.max(1),
        start_interval.max(1),
    );
    let budget = start_period + retries * interval;
    let startup = Probe {
        exec: ExecAction {
            command: command.clone(),
        },
        failure_threshold: budget.div_ceil(start_interval).max(1),
        period_seconds: start_interval,
        timeout_seconds: timeout,
    };
    let readiness = Probe {
        exec: ExecAction { command },
        failure_threshold: retries,
        period_seconds: interval,
        timeout_seconds: timeout,
    };
    Ok(Some((startup, readiness)))
}

/// The services in an order where each comes after what it depends on, so that the YAML reads in
/// start order (the waiting itself is the `io.quadplay.after` annotation's).
pub(super) fn dependency_order(
    ctx: &mut Ctx,
    entries: &[Entry],
    names: &BTreeMap<String, String>,
    deps: &BTreeMap<String, Vec<Dependency>>,
) -> Result<Vec<String>, ComposeError> {
    let names: Vec<String> = entries
        .iter()
        .map(|e| names.get(&e.key).cloned().unwrap_or_default())
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut visiting = BTreeSet::new();
    fn visit(
        n: &str,
        deps: &BTreeMap<String, Vec<Dependency>>,
        done: &mut Vec<String>,
        visiting: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        if done.iter().any(|d| d == n) {
            return Ok(());
        }
        if !visiting.insert(n.to_string()) {
            return Err(n.to_string());
        }
        for d in deps.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            visit(&d.name, deps, done, visiting)?;
        }
        visiting.remove(n);
        done.push(n.to_string());
        Ok(())
    }
    for (i, n) in names.iter().enumerate() {
        visit(n, deps, &mut done, &mut visiting).map_err(|cycle| {
            ctx.invalid(
                entries[i].line,
                &format!("services.{}.depends_on", entries[i].key),
                format!("dependency cycle through {cycle}"),
            )
        })?;
    }
    Ok(done)
}

/// A service waited for with `service_completed_successfully` must be able to complete: one
/// that restarts always (`restart: always`/`unless-stopped`, or replicas, which make a
/// Deployment) never does, and the app would never start. Said now, where it is written.
pub(super) fn check_completions(
    ctx: &mut Ctx,
    docs: &[ServiceDoc],
    deps: &BTreeMap<String, Vec<Dependency>>,
) -> Result<(), ComposeError> {
    for d in deps.values().flatten().filter(|d| d.completed) {
        let restarts = docs
            .iter()
            .find(|s| s.name == d.name)
            .is_some_and(|s| match &s.doc {
                Object::Pod(p) => p.spec.restart_policy == Some("Always"),
                _ => true,
            });
        if restarts {
            return Err(ctx.invalid(d.line, &d.key, "service_completed_successfully: that service restarts always (restart: always or unless-stopped, or replicas > 1), so it never completes; give it restart: \"no\" or on-failure"));
        }
    }
    Ok(())
}
