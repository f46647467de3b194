//! The planner: Kubernetes objects + command-line options → [`Plan`], purely.
//!
//! No I/O happens here: relative host paths are resolved against the directory the loader
//! recorded, and existence checks are left to apply. Every error names the object, the field
//! path and its `file:line:column`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::annotations;
use super::containers::{check_init, container};
use super::context::{
    check_name, invalid, AutoUpdate, Ctx, PlanError, PlanOptions, PodCtx, Workload,
};
use super::ports::{apply_publish, check_host_ports, container_ports, parse_publish};
use super::{secrets, volumes};
use crate::kube::model::{IntOrString, Service};
use crate::kube::{Documents, Object, Resource};
use crate::plan::*;

/// Podman's per-pod user-namespace annotation (as `podman kube play` reads it).
const USERNS_ANNOTATION: &str = "io.podman.annotations.userns";

/// Turns loaded documents into a plan.
pub fn plan(docs: &Documents, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let mut ctx = Ctx {
        opts,
        app: app_name(opts.unit.as_deref(), &docs.files),
        configmaps: BTreeMap::new(),
        secrets: BTreeMap::new(),
        secret_keys: BTreeMap::new(),
        pvcs: BTreeMap::new(),
        warnings: docs.findings.clone(),
        auto_update: AutoUpdate::parse(&opts.auto_update)?,
        volumes: Vec::new(),
        files: Vec::new(),
        host_paths: Vec::new(),
    };
    let mut services = Vec::new();
    for obj in &docs.objects {
        match &obj.resource {
            Resource::ConfigMap(c) => {
                ctx.configmaps.insert(&obj.name, (obj, c));
            }
            Resource::Secret(s) => {
                ctx.secrets.insert(&obj.name, (obj, s));
            }
            Resource::PersistentVolumeClaim(p) => {
                ctx.pvcs.insert(&obj.name, (obj, p));
            }
            Resource::Service(s) => services.push((obj, s)),
            _ => {}
        }
    }
    let workloads: Vec<Workload> = docs.objects.iter().filter_map(Workload::of).collect();
    if workloads.is_empty() {
        return Err(PlanError::NoWorkload);
    }
    let publish = opts
        .publish
        .iter()
        .map(|p| parse_publish(p))
        .collect::<Result<Vec<_>, _>>()?;
    for p in publish.iter().filter(|p| p.implicit_host_port) {
        ctx.warnings.push(Warning {
            location: "--publish".into(),
            object: p.text.clone(),
            field: String::new(),
            message: format!(
                "no host port given: published on host port {} (the container port), not a random one",
                p.mapping.host_port
            ),
        });
    }

    ctx.secret_keys = secrets::resolve_all(&ctx)?;
    let (secrets, podman_secrets) = secrets::secret_plans(&ctx)?;
    volumes::pvc_volumes(&mut ctx)?;

    let mut pods: Vec<PodPlan> = Vec::new();
    // owners[i]: the index in `workloads` of the workload pods[i] was made from.
    let mut owners: Vec<usize> = Vec::new();
    // Pod name → index in `pods`: a set, so that N pods cost N·log N, not N².
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut pod_origins = BTreeMap::new();
    for (index, w) in workloads.iter().enumerate() {
        annotations::warn_unsupported(&mut ctx, w);
        let field = w.path("containers");
        let origin = Origin {
            location: w.obj.location(&field),
            object: w.obj.describe(),
            field,
        };
        if w.replicas == 0 {
            ctx.warn(w.obj, "spec.replicas", "replicas: 0, no pod is created");
        }
        for (i, name) in w.pod_names().into_iter().enumerate() {
            let replica = (w.replicas > 1).then_some(i);
            if let Some(&other) = by_name.get(&name) {
                return Err(invalid(
                    w.obj,
                    "metadata.name",
                    format!(
                        "its pod would be named {name}, as the pod of {} is",
                        pods[other].workload
                    ),
                ));
            }
            by_name.insert(name.clone(), pods.len());
            pod_origins.insert(name.clone(), origin.clone());
            pods.push(pod_plan(&mut ctx, w, &name, replica)?);
            owners.push(index);
        }
    }
    annotations::order(&mut pods, &owners, &workloads)?;
    apply_publish(&mut pods, &publish)?;
    if !opts.down {
        check_host_ports(&pods, &owners, &workloads)?;
    }
    set_aliases(&mut ctx, &mut pods, &owners, &workloads, &services);

    let networks = networks(opts, &pods);
    for pod in &mut pods {
        if !pod.host_network {
            pod.networks = networks.iter().map(|n| n.1.clone()).collect();
        }
    }
    // Replicas share their template: say each thing once.
    let mut seen = BTreeSet::new();
    ctx.warnings
        .retain(|w| seen.insert((w.location.clone(), w.field.clone(), w.message.clone())));
    if opts.strict && !ctx.warnings.is_empty() {
        return Err(PlanError::Strict(ctx.warnings));
    }
    Ok(Plan {
        app: ctx.app,
        unit: opts.unit.clone(),
        networks: networks.into_iter().filter_map(|(plan, _)| plan).collect(),
        secrets,
        podman_secrets,
        volumes: ctx.volumes,
        files: ctx.files,
        pods,
        exit_code_propagation: opts.exit_code_propagation,
        stop_timeout: opts.stop_timeout,
        warnings: ctx.warnings,
        host_paths: ctx.host_paths,
        pod_origins,
    })
}

/// The unit name, else `yaml-<12 hex digits>` of a stable hash (FNV-1a) of the absolute
/// YAML paths: stable across runs and Rust versions, so `down` finds what `play` made.
pub fn app_name(unit: Option<&str>, files: &[PathBuf]) -> String {
    if let Some(unit) = unit {
        return unit.to_string();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in files {
        for b in f.as_os_str().as_encoded_bytes().iter().chain(b"\0") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("yaml-{:012x}", h & 0xffff_ffff_ffff)
}

/// Networks pods join: `(what to ensure exists, the pod's network value)`.
fn networks(opts: &PlanOptions, pods: &[PodPlan]) -> Vec<(Option<NetworkPlan>, String)> {
    if !opts.network.is_empty() {
        return opts
            .network
            .iter()
            .map(|value| {
                let name = value.split(':').next().unwrap_or_default();
                // Modes are not networks to ensure; user-named networks belong to their
                // `.network` unit (or the admin), so they are never created here.
                let mode = matches!(
                    name,
                    "host" | "none" | "private" | "slirp4netns" | "pasta" | "bridge"
                ) || name.starts_with("ns")
                    || name.starts_with("container");
                let plan = (!mode).then(|| NetworkPlan {
                    name: name.to_string(),
                    create_if_missing: false,
                });
                (plan, value.clone())
            })
            .collect();
    }
    if pods.iter().all(|p| p.host_network) {
        return Vec::new();
    }
    vec![(
        Some(NetworkPlan {
            name: DEFAULT_NETWORK.to_string(),
            create_if_missing: true,
        }),
        DEFAULT_NETWORK.to_string(),
    )]
}

fn pod_plan(
    ctx: &mut Ctx,
    w: &Workload,
    name: &str,
    replica: Option<usize>,
) -> Result<PodPlan, PlanError> {
    let spec = w.spec;
    check_name(w.obj, "metadata.name", name)?;
    if spec.containers.is_empty() {
        return Err(invalid(w.obj, &w.path("containers"), "no containers"));
    }
    let mut labels = ctx.base_labels();
    labels.extend(w.template_meta.labels.clone());
    let restart_policy = restart_policy(ctx, w)?;
    let pod_volumes = volumes::pod_volumes(ctx, w, name)?;
    let down = ctx.opts.down;
    let pod = PodCtx {
        w,
        name,
        replica,
        labels,
    };
    // Init and app containers share one name space (`seen`) and everything pod-wide.
    let mut seen = BTreeSet::new();
    let mut plan_container = |c, path: &str| container(ctx, &pod, &pod_volumes, c, path, &mut seen);
    // Sized up front: a pod plan is big, and 20,000 pods must plan within 256 MiB.
    let mut init_containers = Vec::with_capacity(spec.init_containers.len());
    for (i, c) in spec.init_containers.iter().enumerate() {
        let path = w.path(&format!("initContainers[{i}]"));
        check_init(w, c, &path)?;
        let mut cp = plan_container(c, &path)?;
        cp.restart_policy = RestartPolicy::Never;
        init_containers.push(cp);
    }
    let mut containers = Vec::with_capacity(spec.containers.len());
    let mut ports = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let path = w.path(&format!("containers[{i}]"));
        let mut cp = plan_container(c, &path)?;
        cp.restart_policy = restart_policy;
        ports.extend(container_ports(w, c, &path, pod.replica, down)?);
        containers.push(cp);
    }
    let sec = spec.security_context.clone().unwrap_or_default();
    let userns = ctx
        .opts
        .userns
        .clone()
        .or_else(|| w.annotation(USERNS_ANNOTATION).map(str::to_string))
        .or_else(|| (spec.host_users == Some(false)).then(|| "auto".to_string()));
    let dns = spec.dns_config.clone().unwrap_or_default();
    let host_network = spec.host_network || ctx.opts.network.iter().any(|n| n == "host");
    if host_network && !ports.is_empty() {
        // The containers bind the host's ports themselves: there is nothing to publish.
        if ports.iter().any(|m| m.host_port != m.container_port) {
            ctx.warn(
                w.obj,
                &w.path("hostNetwork"),
                "with host networking a hostPort other than its containerPort has no effect",
            );
        }
        ports.clear();
    }
    Ok(PodPlan {
        name: name.to_string(),
        workload: match replica {
            Some(i) => format!("{}[{i}]", w.obj.describe()),
            None => w.obj.describe(),
        },
        labels: pod.labels,
        hostname: if host_network {
            None
        } else {
            spec.hostname.clone()
        },
        networks: Vec::new(),
        aliases: Vec::new(),
        ports,
        host_network,
        host_pid: spec.host_pid,
        host_ipc: spec.host_ipc,
        share_process_namespace: spec.share_process_namespace,
        userns,
        dns_servers: dns.nameservers,
        dns_search: dns.searches,
        dns_options: dns
            .options
            .iter()
            .map(|o| match &o.value {
                Some(v) => format!("{}:{v}", o.name),
                None => o.name.clone(),
            })
            .collect(),
        add_hosts: spec
            .host_aliases
            .iter()
            .flat_map(|a| a.hostnames.iter().map(move |h| format!("{h}:{}", a.ip)))
            .collect(),
        sysctls: sec
            .sysctls
            .iter()
            .map(|s| format!("{}={}", s.name, s.value))
            .collect(),
        init_containers,
        containers,
        restart_policy,
        after: Vec::new(),
        after_completed: Vec::new(),
    })
}

fn restart_policy(ctx: &mut Ctx, w: &Workload) -> Result<RestartPolicy, PlanError> {
    let field = w.path("restartPolicy");
    let policy = match w.spec.restart_policy.as_deref() {
        None if w.job => {
            ctx.warn(
                w.obj,
                &field,
                "a Job needs restartPolicy Never or OnFailure; using Never",
            );
            RestartPolicy::Never
        }
        None | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        Some(other) => {
            return Err(invalid(
                w.obj,
                &field,
                format!("`{other}` is not Always, OnFailure or Never"),
            ))
        }
    };
    if w.job && policy == RestartPolicy::Always {
        return Err(invalid(
            w.obj,
            &field,
            "a Job's restartPolicy must be Never or OnFailure",
        ));
    }
    Ok(policy)
}

/// DNS names: the pod, its workload, matching Services, and container names that are unique
/// across the whole run (two pods with a container `app` would otherwise answer the same name).
fn set_aliases(
    ctx: &mut Ctx,
    pods: &mut [PodPlan],
    owners: &[usize],
    workloads: &[Workload],
    services: &[(&Object, &Service)],
) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for pod in pods.iter() {
        for c in &pod.containers {
            *counts.entry(c.short_name.clone()).or_default() += 1;
        }
    }
    let pod_names: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
    // Services by the first pair of their selector: a pod looks up only those one of its labels
    // could satisfy (N pods × N Services would otherwise be quadratic).
    let mut by_first_pair: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, (_, svc)) in services.iter().enumerate() {
        if let Some((k, v)) = svc.spec.selector.iter().next() {
            by_first_pair.entry((k, v)).or_default().push(i);
        }
    }
    let mut selected: BTreeSet<&str> = BTreeSet::new();
    for (pod, &owner) in pods.iter_mut().zip(owners) {
        let mut aliases = vec![pod.name.clone(), workloads[owner].obj.name.clone()];
        if let Some(extra) = workloads[owner].annotation(ALIASES_ANNOTATION) {
            aliases.extend(annotations::extra_aliases(extra));
        }
        if let Some(h) = &pod.hostname {
            aliases.push(h.clone());
        }
        let mut matching: Vec<usize> = pod
            .labels
            .iter()
            .filter_map(|(k, v)| by_first_pair.get(&(k.as_str(), v.as_str())))
            .flatten()
            .copied()
            .filter(|&i| {
                let sel = &services[i].1.spec.selector;
                sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
            })
            .collect();
        // In the order the Services stand in the YAML, as before.
        matching.sort_unstable();
        for i in matching {
            let obj = services[i].0;
            aliases.push(obj.name.clone());
            selected.insert(obj.name.as_str());
        }
        for c in &pod.containers {
            if counts.get(&c.short_name) == Some(&1) && !pod_names.contains(&c.short_name) {
                aliases.push(c.short_name.clone());
            }
        }
        let mut unique = BTreeSet::new();
        aliases.retain(|a| unique.insert(a.clone()));
        pod.aliases = aliases;
    }
    for (obj, svc) in services {
        if svc.spec.selector.is_empty() || !selected.contains(obj.name.as_str()) {
            ctx.warn(
                obj,
                "spec.selector",
                "selects no pod of this YAML; the name resolves to nothing",
            );
        }
        if let Some(t) = svc.spec.type_.as_deref().filter(|t| *t != "ClusterIP") {
            ctx.warn(
                obj,
                "spec.type",
                format!("type {t} publishes nothing on a single host; use a hostPort or --publish"),
            );
        }
        for (i, p) in svc.spec.ports.iter().enumerate() {
            let target = match &p.target_port {
                Some(IntOrString::Int(t)) => Some(*t),
                Some(IntOrString::Str(_)) => None,
                None => p.port,
            };
            if p.port.is_some() && target.is_some() && p.port != target {
                ctx.warn(
                    obj,
                    &format!("spec.ports[{i}]"),
                    format!(
                        "the Service name resolves to the pods themselves: port {} is not forwarded to targetPort {}",
                        p.port.unwrap_or_default(),
                        target.unwrap_or_default()
                    ),
                );
            }
        }
    }
}
