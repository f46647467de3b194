//! One container of a pod: image, command, environment, security, resources, probes.

use std::collections::BTreeSet;

use super::annotations;
use super::context::{check_name, invalid, Ctx, PlanError, PodCtx, Workload, AUTO_UPDATE_POLICIES};
use super::env::{self, EnvValue};
use super::volumes::{self, PodVolumes};
use crate::kube::model::{Container, IntOrString, Probe as KProbe};
use crate::kube::quantity::Quantity;
use crate::plan::*;

/// Kubernetes (and Podman) refuse probes and lifecycle hooks on init containers.
pub(super) fn check_init(w: &Workload, c: &Container, path: &str) -> Result<(), PlanError> {
    for (set, field) in [
        (c.liveness_probe.is_some(), "livenessProbe"),
        (c.readiness_probe.is_some(), "readinessProbe"),
        (c.startup_probe.is_some(), "startupProbe"),
        (c.lifecycle.is_some(), "lifecycle"),
    ] {
        if set {
            return Err(invalid(
                w.obj,
                &format!("{path}.{field}"),
                "not allowed on an init container",
            ));
        }
    }
    Ok(())
}

/// One container of `pod`; `seen` holds the names taken in the pod so far.
pub(super) fn container(
    ctx: &mut Ctx,
    pod: &PodCtx,
    pod_volumes: &PodVolumes,
    c: &Container,
    path: &str,
    seen: &mut BTreeSet<String>,
) -> Result<ContainerPlan, PlanError> {
    let w = pod.w;
    check_name(w.obj, &format!("{path}.name"), &c.name)?;
    if !seen.insert(c.name.clone()) {
        return Err(invalid(
            w.obj,
            &format!("{path}.name"),
            format!("a second container named `{}` in this pod", c.name),
        ));
    }
    let image = match c.image.as_deref().map(str::trim) {
        Some(i) if !i.is_empty() => i.to_string(),
        _ => {
            return Err(invalid(
                w.obj,
                &format!("{path}.image"),
                format!("container `{}` has no image", c.name),
            ))
        }
    };
    let env_list = env::resolve(ctx, w, pod.name, c, path)?;
    let mut env = Vec::new();
    let mut secret_env = Vec::new();
    for (name, value) in env_list {
        match value {
            EnvValue::Plain(v) => env.push((name, v)),
            EnvValue::Secret(secret) => secret_env.push(SecretEnv {
                variable: name,
                secret,
            }),
        }
    }
    let command = c.command.as_ref().map(|v| env::expand_all(v, &env));
    let args = c.args.as_ref().map(|v| env::expand_all(v, &env));
    let volumes::ContainerMounts {
        mounts,
        devices,
        secrets: secret_mounts,
    } = volumes::mounts(ctx, w, pod_volumes, c, path)?;
    let mut labels = pod.labels.clone();
    if let Some(unit) = &ctx.opts.unit {
        labels.insert(LABEL_SYSTEMD_UNIT.to_string(), unit.clone());
    }
    if let Some(policy) = ctx.auto_update.policy(w, &c.name) {
        if !AUTO_UPDATE_POLICIES.contains(&policy.as_str()) {
            return Err(invalid(
                w.obj,
                "metadata.annotations",
                format!(
                    "auto-update policy `{policy}` for `{}` is not registry, local or disabled",
                    c.name
                ),
            ));
        }
        if policy != "disabled" {
            labels.insert(LABEL_AUTOUPDATE.to_string(), policy);
        }
    }
    let mut extra_args = Vec::new();
    annotations::container_extras(w, &c.name, &mut extra_args, &mut labels)?;
    extra_args.extend(ctx.opts.podman_args.iter().cloned());
    // The workload's annotations, as `podman kube play` sets them, minus `io.quadplay.*`:
    // those are instructions to this planner, already carried out.
    let mut annotations = w.template_meta.annotations.clone();
    annotations.extend(w.meta.annotations.clone());
    annotations.retain(|k, _| !k.starts_with("io.quadplay."));
    let mut cp = ContainerPlan {
        name: format!("{}-{}", pod.name, c.name),
        short_name: c.name.clone(),
        image,
        pull_policy: pull_policy(w, c, path)?,
        command,
        args,
        working_dir: c.working_dir.clone(),
        env,
        secret_env,
        secret_mounts,
        mounts,
        devices,
        labels,
        annotations,
        tty: c.tty,
        stop_signal: c.lifecycle.as_ref().and_then(|l| l.stop_signal.clone()),
        stop_timeout: stop_timeout(ctx, w)?,
        log_driver: ctx.opts.log_driver.clone(),
        log_opts: ctx.opts.log_opts.clone(),
        extra_args,
        ..ContainerPlan::default()
    };
    security(w, c, path, &mut cp)?;
    resources(ctx, w, c, path, &mut cp)?;
    let probe = |p: &Option<KProbe>, field: &str| -> Result<Option<Probe>, PlanError> {
        p.as_ref()
            .map(|p| probe(w, c, p, &format!("{path}.{field}")))
            .transpose()
    };
    cp.liveness = probe(&c.liveness_probe, "livenessProbe")?;
    cp.readiness = probe(&c.readiness_probe, "readinessProbe")?;
    cp.startup = probe(&c.startup_probe, "startupProbe")?;
    Ok(cp)
}

fn pull_policy(w: &Workload, c: &Container, path: &str) -> Result<PullPolicy, PlanError> {
    // Unset means `missing`: pulling at every start would make a boot without network fail.
    Ok(match c.image_pull_policy.as_deref() {
        None => PullPolicy::Missing,
        Some(p) => match p.to_ascii_lowercase().as_str() {
            "always" => PullPolicy::Always,
            "ifnotpresent" | "missing" => PullPolicy::Missing,
            "never" => PullPolicy::Never,
            "newer" | "ifnewer" => PullPolicy::Newer,
            _ => {
                return Err(invalid(
                    w.obj,
                    &format!("{path}.imagePullPolicy"),
                    format!("`{p}` is not Always, IfNotPresent or Never"),
                ))
            }
        },
    })
}

fn stop_timeout(ctx: &Ctx, w: &Workload) -> Result<Option<u64>, PlanError> {
    match w.spec.termination_grace_period_seconds {
        None => Ok(None),
        Some(s) if s < 0 => Err(invalid(
            w.obj,
            &w.path("terminationGracePeriodSeconds"),
            "must not be negative",
        )),
        Some(s) => Ok(Some((s as u64).min(ctx.opts.stop_timeout))),
    }
}

fn security(
    w: &Workload,
    c: &Container,
    path: &str,
    cp: &mut ContainerPlan,
) -> Result<(), PlanError> {
    let pod = w.spec.security_context.clone().unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let uid = sc.run_as_user.or(pod.run_as_user);
    let gid = sc.run_as_group.or(pod.run_as_group);
    for (v, field) in [(uid, "runAsUser"), (gid, "runAsGroup")] {
        if v.is_some_and(|v| !(0..=i64::from(u32::MAX)).contains(&v)) {
            return Err(invalid(
                w.obj,
                &format!("{path}.securityContext.{field}"),
                "not a valid id",
            ));
        }
    }
    cp.user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    cp.supplemental_groups = pod
        .supplemental_groups
        .iter()
        .filter_map(|g| u32::try_from(*g).ok())
        .collect();
    cp.privileged = sc.privileged.unwrap_or(false);
    cp.no_new_privileges = sc.allow_privilege_escalation == Some(false);
    cp.read_only_root = sc.read_only_root_filesystem.unwrap_or(false);
    if let Some(caps) = &sc.capabilities {
        cp.cap_add = caps.add.clone();
        cp.cap_drop = caps.drop.clone();
    }
    if let Some(se) = sc
        .se_linux_options
        .as_ref()
        .or(pod.se_linux_options.as_ref())
    {
        for (k, v) in [
            ("user", &se.user),
            ("role", &se.role),
            ("type", &se.type_),
            ("level", &se.level),
        ] {
            if let Some(v) = v {
                cp.selinux_opts.push(format!("{k}:{v}"));
            }
        }
    }
    cp.unmask_all = match sc.proc_mount.as_deref() {
        None | Some("Default") => false,
        Some("Unmasked") => true,
        Some(other) => {
            return Err(invalid(
                w.obj,
                &format!("{path}.securityContext.procMount"),
                format!("`{other}` is not Default or Unmasked"),
            ))
        }
    };
    Ok(())
}

fn resources(
    ctx: &mut Ctx,
    w: &Workload,
    c: &Container,
    path: &str,
    cp: &mut ContainerPlan,
) -> Result<(), PlanError> {
    let Some(r) = &c.resources else {
        return Ok(());
    };
    let quantity = |section: &str, key: &str, text: &str| {
        Quantity::parse(text)
            .map_err(|m| invalid(w.obj, &format!("{path}.resources.{section}.{key}"), m))
    };
    for (key, text) in &r.limits {
        match key.as_str() {
            "memory" => cp.memory_limit = Some(quantity("limits", key, text)?.ceil_units()),
            "cpu" => cp.cpu_limit_millis = Some(quantity("limits", key, text)?.ceil_millis()),
            _ => ctx.warn(
                w.obj,
                &format!("{path}.resources.limits"),
                format!("resource `{key}` is not supported, ignored"),
            ),
        }
    }
    for (key, text) in &r.requests {
        match key.as_str() {
            "memory" => cp.memory_reservation = Some(quantity("requests", key, text)?.ceil_units()),
            "cpu" => {
                quantity("requests", key, text)?;
                ctx.warn(
                    w.obj,
                    &format!("{path}.resources.requests.cpu"),
                    "ignored on a single host (only limits.cpu is enforced)",
                );
            }
            _ => ctx.warn(
                w.obj,
                &format!("{path}.resources.requests"),
                format!("resource `{key}` is not supported, ignored"),
            ),
        }
    }
    Ok(())
}

/// A probe's port: a number, or the name of one of the container's ports.
fn probe_port(
    w: &Workload,
    c: &Container,
    port: &IntOrString,
    field: &str,
) -> Result<u16, PlanError> {
    let n = match port {
        IntOrString::Int(n) => *n,
        IntOrString::Str(name) => c
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| p.container_port)
            .map(i64::from)
            .ok_or_else(|| {
                invalid(
                    w.obj,
                    field,
                    format!("no port named `{name}` in container `{}`", c.name),
                )
            })?,
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(w.obj, field, format!("{n} is not a port number")))
}

fn probe(w: &Workload, c: &Container, p: &KProbe, path: &str) -> Result<Probe, PlanError> {
    let mut actions = Vec::new();
    if let Some(e) = &p.exec {
        if e.command.is_empty() {
            return Err(invalid(
                w.obj,
                &format!("{path}.exec.command"),
                "empty command",
            ));
        }
        actions.push(ProbeAction::Exec(e.command.clone()));
    }
    if let Some(h) = &p.http_get {
        let scheme = h
            .scheme
            .clone()
            .unwrap_or_else(|| "HTTP".into())
            .to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid(
                w.obj,
                &format!("{path}.httpGet.scheme"),
                "must be HTTP or HTTPS",
            ));
        }
        actions.push(ProbeAction::HttpGet {
            host: h.host.clone(),
            port: probe_port(w, c, &h.port, &format!("{path}.httpGet.port"))?,
            path: h.path.clone().unwrap_or_else(|| "/".into()),
            scheme,
        });
    }
    if let Some(t) = &p.tcp_socket {
        actions.push(ProbeAction::TcpSocket {
            host: t.host.clone(),
            port: probe_port(w, c, &t.port, &format!("{path}.tcpSocket.port"))?,
        });
    }
    if actions.len() != 1 {
        return Err(invalid(
            w.obj,
            path,
            "a probe needs exactly one of exec, httpGet, tcpSocket",
        ));
    }
    let action = actions.remove(0);
    Ok(Probe {
        action,
        initial_delay_seconds: p.initial_delay_seconds.unwrap_or(0),
        period_seconds: p.period_seconds.unwrap_or(10).max(1),
        timeout_seconds: p.timeout_seconds.unwrap_or(1).max(1),
        success_threshold: p.success_threshold.unwrap_or(1).max(1),
        failure_threshold: p.failure_threshold.unwrap_or(3).max(1),
    })
}
