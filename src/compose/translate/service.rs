//! One compose service → one Pod (or Deployment): reads each service key into [`Parts`] (through
//! the per-service context [`Svc`]), then assembles the typed Kubernetes object. Keys without an
//! equivalent are warnings that say so.

use super::super::objects::{
    Capabilities, Container, ContainerPort, Deployment, DeploymentSpec, DnsConfig, HostAlias,
    Lifecycle, Metadata, NameValue, Object, Pod, PodSecurityContext, PodSpec, Probe, Resources,
    SecurityContext, Selector, Strings, Template, Volume, VolumeMount,
};
use super::super::tree::{At, Entry, Node};
use super::super::ComposeError;
use super::ctx::Ctx;
use super::env::{command_words, env_files, environment, escape_k8s_vars, merge_env};
use super::health::{depends_on, healthcheck, Dependency};
use super::runtime::{self, duration_secs, no_equivalent};
use super::{ports, sanitize_name, secrets, volumes, Shared};
use crate::plan::{
    AFTER_ANNOTATION, AFTER_COMPLETED_ANNOTATION, ALIASES_ANNOTATION, REPLICA_HOST_PORTS,
};

/// One converted service.
pub(super) struct ServiceDoc {
    pub name: String,
    pub doc: Object,
    pub depends_on: Vec<Dependency>,
}

/// Everything a service's container and pod collect while its keys are read.
#[derive(Default)]
pub(super) struct Parts {
    pub image: Option<String>,
    pub build: Option<String>,
    pub pull_policy: Option<&'static str>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub env_file: Vec<(String, String)>,
    pub ports: Vec<ContainerPort>,
    /// Where each published host port was asked for (line, key path, port).
    pub published: Vec<(At, String, u16)>,
    /// Each host binding (IP, port, protocol) with where it was asked for.
    pub host_binds: Vec<(At, String, (String, u16, String))>,
    /// Host ranges over one container port, one host port per replica (`8081-8083:80`).
    pub replica_ports: Vec<ReplicaPorts>,
    pub mounts: Vec<VolumeMount>,
    pub volumes: Vec<Volume>,
    pub restart: Option<&'static str>,
    pub replicas: Option<u64>,
    pub hostname: Option<String>,
    pub working_dir: Option<String>,
    pub security: SecurityContext,
    pub sysctls: Option<Vec<NameValue>>,
    pub host_network: Option<bool>,
    pub host_aliases: Option<Vec<HostAlias>>,
    pub dns: Option<DnsConfig>,
    pub caps_add: Vec<String>,
    pub caps_drop: Vec<String>,
    pub annotations: Strings,
    pub tty: Option<bool>,
    pub probes: Option<(Probe, Probe)>,
    pub depends_on: Vec<Dependency>,
    pub aliases: Vec<String>,
    pub limits: Strings,
    pub requests: Strings,
    pub stop_signal: Option<String>,
    pub grace: Option<u64>,
}

/// A host port range a service's replicas share out, one port each, and where it was written.
#[derive(Debug, Clone)]
pub(super) struct ReplicaPorts {
    pub line: At,
    pub key: String,
    pub container_port: u16,
    pub hosts: Vec<u16>,
}

/// The per-service context: what the project shares, the service's names and where it was
/// written, and the parts collected so far.
pub(super) struct Svc<'a> {
    pub sh: &'a Shared<'a>,
    /// Its DNS-1123 name (the container's name, `<name>-vol-N` volumes).
    pub name: String,
    /// `services.<compose name>`: the key path of its errors.
    pub base: String,
    pub line: At,
    pub p: Parts,
}

/// Largest `deploy.replicas` / `scale` taken: more pods than one machine runs is a mistake.
pub const MAX_REPLICAS: i64 = 1000;

pub(super) fn convert_service(
    ctx: &mut Ctx,
    svc: &Entry,
    sh: &Shared,
) -> Result<ServiceDoc, ComposeError> {
    let mut s = Svc {
        sh,
        name: sh.names.get(&svc.key).cloned().unwrap_or_default(),
        base: format!("services.{}", svc.key),
        line: svc.line,
        p: Parts::default(),
    };
    if s.name != svc.key {
        s.p.aliases.push(svc.key.clone());
    }
    for e in ctx.map(&svc.value, &s.base)?.to_vec() {
        let key = format!("{}.{}", s.base, e.key);
        if !container_key(ctx, &mut s, &e, &key)? {
            pod_key(ctx, &mut s, &e, &key)?;
        }
    }
    refuse_shared_host_port(ctx, &s)?;
    check_replica_ranges(ctx, &s)?;
    refuse_taken_host_port(ctx, &s)?;
    let image = image(ctx, &mut s)?;
    let container = container(&s.name, image, &mut s.p);
    Ok(pod_doc(ctx, s, container))
}

/// Replicas of one service cannot all bind one host port: compose fails to start the second,
/// quadplay's executor refuses the Deployment. Said at conversion, where the port is written.
fn refuse_shared_host_port(ctx: &Ctx, s: &Svc) -> Result<(), ComposeError> {
    let replicas = s.p.replicas.unwrap_or(1);
    match s.p.published.first() {
        Some((line, key, port)) if replicas > 1 => Err(ctx.invalid(
            *line,
            key,
            format!("{replicas} replicas would each bind host port {port} (compose fails to start the second, too); give a host range of one port per replica (8081-8083:80 for 3), or leave out the host port and reach the replicas by service name"),
        )),
        _ => Ok(()),
    }
}

/// A host range over one container port gives each replica one port of it (as compose does,
/// binding a free port of the range per container): it must hold exactly one port per replica,
/// and one container port takes one range. Said where the range is written.
fn check_replica_ranges(ctx: &Ctx, s: &Svc) -> Result<(), ComposeError> {
    let replicas = s.p.replicas.unwrap_or(1).max(1);
    for (i, r) in s.p.replica_ports.iter().enumerate() {
        let (first, last) = (r.hosts[0], r.hosts[r.hosts.len() - 1]);
        if r.hosts.len() as u64 != replicas {
            return Err(ctx.invalid(r.line, &r.key, format!(
                "host ports {first}-{last} are {} ports for {replicas} replica(s): each replica binds one port of the range; give as many ports as replicas (deploy.replicas or scale), or one host port",
                r.hosts.len()
            )));
        }
        let earlier = &s.p.replica_ports[..i];
        if let Some(o) = earlier
            .iter()
            .find(|o| o.container_port == r.container_port && o.hosts != r.hosts)
        {
            return Err(ctx.invalid(r.line, &r.key, format!(
                "container port {} already takes host ports {}-{} per replica ({}); one range per container port",
                r.container_port, o.hosts[0], o.hosts[o.hosts.len() - 1], o.key
            )));
        }
    }
    Ok(())
}

/// Two services (or one service twice) binding one host port: compose fails to start the
/// second, quadplay's executor refuses the YAML (found by the `compose` fuzz target, which
/// checks that what convert accepts plans). Said at conversion, where the port is written.
fn refuse_taken_host_port(ctx: &mut Ctx, s: &Svc) -> Result<(), ComposeError> {
    for (line, key, bind) in &s.p.host_binds {
        if let Some(other) = ctx.host_ports.get(bind) {
            let by = if *other == s.name {
                "this service already publishes it".to_string()
            } else {
                format!("service {other} already publishes it")
            };
            let (_, port, proto) = bind;
            let message = format!("host port {port}/{}: {by}", proto.to_lowercase());
            return Err(ctx.invalid(*line, key, message));
        }
        ctx.host_ports.insert(bind.clone(), s.name.clone());
    }
    Ok(())
}

/// The image to run: `image:`, else the one `build:` would make (with the command to make it).
fn image(ctx: &mut Ctx, s: &mut Svc) -> Result<String, ComposeError> {
    match (s.p.image.take(), &s.p.build) {
        (Some(i), _) => Ok(i),
        (None, Some(context)) => {
            // Compose names a built image `<project>-<service>`.
            let image = format!("localhost/{}-{}", s.sh.app, s.name);
            ctx.warn(s.line, &format!("{}.build", s.base), format!(
                "build it before starting: podman build -t {image} {context} (the pod uses that image and never pulls it)"
            ));
            s.p.pull_policy = Some("Never");
            Ok(image)
        }
        (None, None) => Err(ctx.invalid(
            s.line,
            &s.base,
            "no image: name one with image:, or give build: to build it",
        )),
    }
}

fn container(name: &str, image: String, p: &mut Parts) -> Container {
    let env = merge_env(std::mem::take(&mut p.env_file), std::mem::take(&mut p.env));
    let resources = (!p.limits.is_empty() || !p.requests.is_empty()).then(|| Resources {
        limits: std::mem::take(&mut p.limits),
        requests: std::mem::take(&mut p.requests),
    });
    if !p.caps_add.is_empty() || !p.caps_drop.is_empty() {
        p.security.capabilities = Some(Capabilities {
            add: std::mem::take(&mut p.caps_add),
            drop: std::mem::take(&mut p.caps_drop),
        });
    }
    let security = std::mem::take(&mut p.security);
    let (startup, readiness) = p.probes.take().unzip();
    Container {
        args: p.args.take(),
        command: p.command.take(),
        env: env
            .into_iter()
            .map(|(name, v)| NameValue {
                name,
                value: escape_k8s_vars(&v),
            })
            .collect(),
        image,
        image_pull_policy: p.pull_policy,
        lifecycle: p
            .stop_signal
            .take()
            .map(|stop_signal| Lifecycle { stop_signal }),
        name: name.to_string(),
        ports: std::mem::take(&mut p.ports),
        readiness_probe: readiness,
        resources,
        security_context: (!security.is_empty()).then_some(security),
        startup_probe: startup,
        tty: p.tty,
        volume_mounts: std::mem::take(&mut p.mounts),
        working_dir: p.working_dir.take(),
    }
}

fn pod_spec(p: &mut Parts, container: Container) -> PodSpec {
    PodSpec {
        containers: vec![container],
        dns_config: p.dns.take(),
        host_aliases: p.host_aliases.take(),
        host_network: p.host_network,
        hostname: p.hostname.take(),
        restart_policy: None,
        security_context: p
            .sysctls
            .take()
            .map(|sysctls| PodSecurityContext { sysctls }),
        termination_grace_period_seconds: p.grace,
        volumes: std::mem::take(&mut p.volumes),
    }
}

fn pod_doc(ctx: &mut Ctx, mut s: Svc, container: Container) -> ServiceDoc {
    let app = s.sh.app;
    let mut spec = pod_spec(&mut s.p, container);
    let replicas = s.p.replicas.unwrap_or(1);
    // Compose's default is restart: "no"; a Deployment allows only Always.
    let restart = s.p.restart.unwrap_or("Never");
    if replicas > 1 && restart != "Always" {
        ctx.warn(s.line, &s.base, format!("deploy.replicas > 1 makes a Deployment, which always restarts its containers (restart policy {restart} not kept)"));
    }
    let labels = Strings::from([
        ("app".to_string(), app.to_string()),
        ("io.quadplay.compose/service".to_string(), s.name.clone()),
    ]);
    let metadata = Metadata {
        annotations: annotations(&mut s),
        labels: labels.clone(),
        name: Some(sanitize_name(&format!("{app}-{}", s.name))),
    };
    let doc = if replicas > 1 {
        Object::Deployment(Deployment {
            api_version: "apps/v1",
            kind: "Deployment",
            metadata,
            spec: DeploymentSpec {
                replicas,
                selector: Selector {
                    match_labels: labels.clone(),
                },
                template: Template {
                    metadata: Metadata {
                        labels,
                        ..Metadata::default()
                    },
                    spec,
                },
            },
        })
    } else {
        spec.restart_policy = Some(restart);
        Object::Pod(Pod {
            api_version: "v1",
            kind: "Pod",
            metadata,
            spec,
        })
    };
    ServiceDoc {
        name: s.name,
        doc,
        depends_on: s.p.depends_on,
    }
}

/// The workload's annotations: the compose labels and annotations, then quadplay's own (start
/// order, more DNS names).
fn annotations(s: &mut Svc) -> Strings {
    let mut out = std::mem::take(&mut s.p.annotations);
    // quadplay's executor creates this workload's pods once those are ready, or (completed)
    // once their containers exited with status 0.
    for (annotation, completed) in [
        (AFTER_ANNOTATION, false),
        (AFTER_COMPLETED_ANNOTATION, true),
    ] {
        let names: Vec<String> =
            s.p.depends_on
                .iter()
                .filter(|d| d.completed == completed)
                .map(|d| sanitize_name(&format!("{}-{}", s.sh.app, d.name)))
                .collect();
        if !names.is_empty() {
            out.insert(annotation.into(), names.join(","));
        }
    }
    for r in &s.p.replica_ports {
        let ports: Vec<String> = r.hosts.iter().map(u16::to_string).collect();
        let key = format!("{REPLICA_HOST_PORTS}{}", r.container_port);
        out.insert(key, ports.join(","));
    }
    let aliases = &mut s.p.aliases;
    aliases.retain(|a| *a != s.name);
    aliases.sort();
    aliases.dedup();
    if !aliases.is_empty() {
        out.insert(ALIASES_ANNOTATION.into(), aliases.join(","));
    }
    out
}

/// The keys that shape the container: true when `e` was one of them.
fn container_key(ctx: &mut Ctx, s: &mut Svc, e: &Entry, key: &str) -> Result<bool, ComposeError> {
    let (v, p) = (&e.value, &mut s.p);
    match e.key.as_str() {
        "image" => {
            let image = ctx.string(v, key)?;
            if image.trim().is_empty() {
                return Err(ctx.invalid(v.line, key, "empty image name"));
            }
            p.image = Some(image);
        }
        "build" => p.build = Some(runtime::build_context(ctx, v, key)?),
        "pull_policy" => p.pull_policy = Some(runtime::pull_policy(ctx, v, key)?),
        // Compose's entrypoint replaces the image's ENTRYPOINT (Kubernetes' command); its command
        // replaces CMD (Kubernetes' args).
        "entrypoint" => p.command = Some(command_words(ctx, v, key)?),
        "command" => p.args = Some(command_words(ctx, v, key)?),
        "environment" => p.env.extend(environment(ctx, v, key)?),
        "env_file" => p.env_file.extend(env_files(ctx, v, key)?),
        "ports" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of ports"));
            };
            for (i, it) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                let found = ports::port(ctx, it, &k)?;
                for c in &found.ports {
                    let hosts = match &found.per_replica {
                        Some(hosts) => {
                            p.replica_ports.push(ReplicaPorts {
                                line: it.line,
                                key: k.clone(),
                                container_port: c.container_port,
                                hosts: hosts.clone(),
                            });
                            hosts.clone()
                        }
                        None => {
                            let Some(h) = c.host_port else { continue };
                            p.published.push((it.line, k.clone(), h));
                            vec![h]
                        }
                    };
                    for h in hosts {
                        let bind = (c.host_ip.clone().unwrap_or_default(), h, c.protocol.clone());
                        p.host_binds.push((it.line, k.clone(), bind));
                    }
                }
                p.ports.extend(found.ports);
            }
        }
        "volumes" => {
            let Node::Seq(items) = &v.node else {
                return Err(ctx.invalid(v.line, key, "expected a list of volumes"));
            };
            for (i, it) in items.iter().enumerate() {
                volumes::volume(ctx, s, it, &format!("{key}[{i}]"), i)?;
            }
        }
        "secrets" | "configs" => secrets::mounts(ctx, s, e, key)?,
        "tmpfs" => volumes::tmpfs(ctx, p, v, key)?,
        "shm_size" => volumes::shm(ctx, p, v, key)?,
        "working_dir" => p.working_dir = Some(ctx.string(v, key)?),
        "user" => runtime::user(ctx, p, v, key, e.line)?,
        "privileged" => p.security.privileged = Some(ctx.bool(v, key)?),
        "read_only" => p.security.read_only_root_filesystem = Some(ctx.bool(v, key)?),
        "cap_add" => p.caps_add = ctx.strings(v, key)?,
        "cap_drop" => p.caps_drop = ctx.strings(v, key)?,
        "tty" => p.tty = Some(ctx.bool(v, key)?),
        "healthcheck" => p.probes = healthcheck(ctx, v, key)?,
        "stop_signal" => p.stop_signal = Some(ctx.string(v, key)?),
        "mem_limit" => {
            let s = runtime::size(ctx, v, key)?;
            p.limits.insert("memory".into(), s);
        }
        "mem_reservation" => {
            let s = runtime::size(ctx, v, key)?;
            p.requests.insert("memory".into(), s);
        }
        "cpus" => {
            let s = runtime::cpus(ctx, v, key)?;
            p.limits.insert("cpu".into(), s);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The keys that shape the pod, its names, its order and its metadata.
fn pod_key(ctx: &mut Ctx, s: &mut Svc, e: &Entry, key: &str) -> Result<(), ComposeError> {
    let (v, p, svc) = (&e.value, &mut s.p, s.name.as_str());
    match e.key.as_str() {
        "expose" => ctx.note(
            e.line,
            key,
            "pods on the shared network reach every port of each other",
        ),
        "restart" => p.restart = Some(runtime::restart(ctx, v, key, e.line)?),
        "depends_on" => p.depends_on = depends_on(ctx, v, key, s.sh)?,
        "deploy" => runtime::deploy(ctx, p, v, key)?,
        "scale" => p.replicas = Some(runtime::replicas(ctx, v, key)?),
        "hostname" => p.hostname = Some(ctx.string(v, key)?),
        "container_name" => {
            let n = ctx.string(v, key)?;
            ctx.note(
                e.line,
                key,
                format!("the container is named {svc}; {n:?} stays reachable as a network alias"),
            );
            p.aliases.push(n);
        }
        "links" => {
            for l in ctx.strings(v, key)? {
                if let Some((_, alias)) = l.split_once(':') {
                    ctx.note(e.line, key, format!("link alias {alias:?} is a network alias of {svc} (every pod reaches every other)"));
                }
            }
        }
        "networks" => runtime::networks(ctx, p, v, key)?,
        "network_mode" => {
            let m = ctx.string(v, key)?;
            match m.as_str() {
                "host" => p.host_network = Some(true),
                "bridge" | "default" => {}
                _ => ctx.warn(e.line, key, format!("network_mode {m:?} has no equivalent: the pod joins the shared network (put both containers' work in one service to share a network namespace)")),
            }
        }
        "stdin_open" => ctx.note(
            e.line,
            key,
            "a service's container has no terminal to read from under systemd",
        ),
        // Kubernetes label values are restricted; annotations take any text.
        "labels" | "annotations" => p.annotations.extend(environment(ctx, v, key)?),
        "stop_grace_period" => {
            let text = ctx.string(v, key)?;
            let secs = duration_secs(&text).ok_or_else(|| {
                ctx.invalid(v.line, key, format!("cannot read duration {text:?}"))
            })?;
            p.grace = Some(secs);
        }
        "extra_hosts" => runtime::extra_hosts(ctx, p, v, key)?,
        "dns" | "dns_search" | "dns_opt" => runtime::dns(ctx, p, e, key)?,
        "sysctls" => {
            let list = environment(ctx, v, key)?
                .into_iter()
                .map(|(name, value)| NameValue { name, value })
                .collect();
            p.sysctls = Some(list);
        }
        "profiles" => {} // used when the project was loaded
        "init" | "ulimits" | "devices" | "security_opt" | "logging" | "platform" | "pid"
        | "ipc" => {
            ctx.warn(e.line, key, no_equivalent(&e.key));
        }
        k if k.starts_with("x-") => {}
        other => ctx.warn(e.line, key, format!("{other} is not supported; ignored")),
    }
    Ok(())
}
