//! The planner: Kubernetes objects + command-line options → [`Plan`], purely.
//!
//! No I/O happens here: relative host paths are resolved against the directory the loader
//! recorded, and existence checks are left to apply. Every error names the object, the field
//! path and its `file:line:column`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use thiserror::Error;

use super::annotations::{self, owns};
use super::containers::{check_init, container};
use super::ports::{apply_publish, check_host_ports, container_ports, parse_publish};
use super::volumes;
use super::*;
use crate::cli::{DownArgs, PlayArgs};
use crate::kube::model::{
    ConfigMap, IntOrString, ObjectMeta, PersistentVolumeClaim, PodSpec, Secret, Service,
};
use crate::kube::{Documents, Object, Resource};

/// Deployment annotation prefix giving one host port per replica:
/// `io.quadplay.replica-host-ports/<containerPort>: "8081,8082,8083"`. Without it a Deployment
/// with `replicas > 1` and a `hostPort` is refused, because every replica would bind the same
/// host port. It is an annotation so the YAML stays valid Kubernetes.
pub const REPLICA_HOST_PORTS: &str = "io.quadplay.replica-host-ports/";

/// Podman's per-pod user-namespace annotation (as `podman kube play` reads it).
const USERNS_ANNOTATION: &str = "io.podman.annotations.userns";

/// What the command line adds to the YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub unit: Option<String>,
    /// `NAME[:OPTIONS]` values; empty = the shared default bridge.
    pub network: Vec<String>,
    /// `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`.
    pub publish: Vec<String>,
    pub userns: Option<String>,
    pub log_driver: Option<String>,
    pub log_opts: Vec<String>,
    /// `registry|local|disabled` for all containers, or `CONTAINER/POLICY`.
    pub auto_update: Vec<String>,
    pub exit_code_propagation: ExitCodePropagation,
    pub podman_args: Vec<String>,
    pub strict: bool,
    /// Upper bound on any graceful stop, seconds.
    pub stop_timeout: u64,
    /// Where ConfigMap/Secret file sets are written: `$XDG_RUNTIME_DIR/quadplay/<app>` or
    /// `/run/quadplay/<app>`, with `<app>` from [`app_name`] — per app, so two apps with a pod
    /// of the same name do not share files.
    pub runtime_dir: PathBuf,
    /// Planning for `down`: only names matter. Missing ConfigMap/Secret references (the
    /// `--configmap` files are not given to `down`) are treated as optional and host ports are
    /// not checked, so teardown never fails on what `play` accepted.
    pub down: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            unit: None,
            network: Vec::new(),
            publish: Vec::new(),
            userns: None,
            log_driver: None,
            log_opts: Vec::new(),
            auto_update: Vec::new(),
            exit_code_propagation: ExitCodePropagation::None,
            podman_args: Vec::new(),
            strict: false,
            stop_timeout: 80,
            runtime_dir: PathBuf::new(),
            down: false,
        }
    }
}

impl PlanOptions {
    pub fn from_play(args: &PlayArgs, runtime_dir: PathBuf) -> Self {
        PlanOptions {
            unit: args.podman.unit.clone(),
            network: args.network.clone(),
            publish: args.publish.clone(),
            userns: args.userns.clone(),
            log_driver: args.log_driver.clone(),
            log_opts: args.log_opt.clone(),
            auto_update: args.auto_update.clone(),
            exit_code_propagation: args.exit_code_propagation,
            podman_args: args.podman_args.clone(),
            strict: args.strict,
            stop_timeout: args.stop_timeout,
            runtime_dir,
            down: false,
        }
    }

    /// `down` needs the same names as `play`; options that only shape containers do not matter.
    pub fn from_down(args: &DownArgs, runtime_dir: PathBuf) -> Self {
        PlanOptions {
            unit: args.podman.unit.clone(),
            runtime_dir,
            down: true,
            ..PlanOptions::default()
        }
    }
}

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("{location}: {object}: {}{message}", field_prefix(field))]
    Invalid {
        location: String,
        object: String,
        field: String,
        message: String,
    },
    #[error("{}", strict_message(.0))]
    Strict(Vec<Warning>),
    /// A bad command-line value (`--publish`, `--auto-update`, `--network`).
    #[error("{option} {value:?}: {message}")]
    Option {
        option: &'static str,
        value: String,
        message: String,
    },
    #[error("the YAML defines no Pod, Deployment, DaemonSet or Job")]
    NoWorkload,
}

/// `field: ` before a message about that field; nothing for a message about the whole object.
pub(crate) fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

fn strict_message(warnings: &[Warning]) -> String {
    let mut s = format!(
        "--strict: {} unsupported kind(s) or field(s) in the YAML:",
        warnings.len()
    );
    for w in warnings {
        s.push_str(&format!("\n  {w}"));
    }
    s
}

/// An error about `field` (a YAML path) of `obj`.
pub(super) fn invalid(obj: &Object, field: &str, message: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        location: obj.location(field),
        object: obj.describe(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// Everything the planner looks things up in, and what it accumulates besides pods.
pub(super) struct Ctx<'a> {
    pub opts: &'a PlanOptions,
    pub app: String,
    pub configmaps: BTreeMap<&'a str, (&'a Object, &'a ConfigMap)>,
    pub secrets: BTreeMap<&'a str, (&'a Object, &'a Secret)>,
    pub pvcs: BTreeMap<&'a str, (&'a Object, &'a PersistentVolumeClaim)>,
    pub warnings: Vec<Warning>,
    pub volumes: Vec<VolumePlan>,
    pub files: Vec<FileSetPlan>,
    pub host_paths: Vec<HostPathPlan>,
}

impl Ctx<'_> {
    /// Whether a missing reference is skipped rather than an error.
    pub fn optional(&self, declared: bool) -> bool {
        declared || self.opts.down
    }

    pub fn warn(&mut self, obj: &Object, field: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: obj.location(field),
            object: obj.describe(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The labels every object of this run carries.
    pub fn base_labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        labels.insert(LABEL_APP.to_string(), self.app.clone());
        if let Some(unit) = &self.opts.unit {
            labels.insert(LABEL_UNIT.to_string(), unit.clone());
        }
        labels
    }
}

/// A workload document seen as "metadata + pod template".
pub(super) struct Workload<'a> {
    pub obj: &'a Object,
    /// The object's own metadata (the Pod's, or the controller's).
    pub meta: &'a ObjectMeta,
    /// The pod template's metadata (the Pod's own for a Pod).
    pub template_meta: &'a ObjectMeta,
    pub spec: &'a PodSpec,
    /// YAML path of `spec` (`spec` or `spec.template.spec`).
    pub spec_path: &'static str,
    pub replicas: u32,
    pub job: bool,
}

impl<'a> Workload<'a> {
    fn of(obj: &'a Object) -> Option<Workload<'a>> {
        let controller = |meta, template: &'a crate::kube::model::PodTemplateSpec| Workload {
            obj,
            meta,
            template_meta: &template.metadata,
            spec: &template.spec,
            spec_path: "spec.template.spec",
            replicas: 1,
            job: false,
        };
        Some(match &obj.resource {
            Resource::Pod(p) => Workload {
                obj,
                meta: &p.metadata,
                template_meta: &p.metadata,
                spec: &p.spec,
                spec_path: "spec",
                replicas: 1,
                job: false,
            },
            Resource::Deployment(d) => Workload {
                replicas: d.spec.replicas.unwrap_or(1),
                ..controller(&d.metadata, &d.spec.template)
            },
            Resource::DaemonSet(d) => controller(&d.metadata, &d.spec.template),
            Resource::Job(j) => Workload {
                job: true,
                ..controller(&j.metadata, &j.spec.template)
            },
            _ => return None,
        })
    }

    /// An annotation of the object, else of its pod template (Podman reads only the
    /// controller's, which is its #22801; both are honoured here).
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.meta
            .annotations
            .get(key)
            .or_else(|| self.template_meta.annotations.get(key))
            .map(String::as_str)
    }

    /// Pod names: the Pod's name; `<name>-pod`; `<name>-pod-<i>` for several replicas.
    fn pod_names(&self) -> Vec<String> {
        let name = &self.obj.name;
        match (&self.obj.resource, self.replicas) {
            (Resource::Pod(_), _) => vec![name.clone()],
            (_, 1) => vec![format!("{name}-pod")],
            (_, n) => (0..n).map(|i| format!("{name}-pod-{i}")).collect(),
        }
    }

    pub fn path(&self, rest: &str) -> String {
        format!("{}.{rest}", self.spec_path)
    }
}

/// Turns loaded documents into a plan.
pub fn plan(docs: &Documents, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let mut ctx = Ctx {
        opts,
        app: app_name(opts.unit.as_deref(), &docs.files),
        configmaps: BTreeMap::new(),
        secrets: BTreeMap::new(),
        pvcs: BTreeMap::new(),
        warnings: docs
            .findings
            .iter()
            .map(|f| Warning {
                location: f.location.clone(),
                object: f.object.clone(),
                field: f.field.clone(),
                message: f.message.clone(),
            })
            .collect(),
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
    let auto_update = AutoUpdate::parse(&opts.auto_update)?;
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

    let secrets = volumes::secret_plans(&ctx)?;
    volumes::pvc_volumes(&mut ctx)?;

    let mut pods: Vec<PodPlan> = Vec::new();
    for w in &workloads {
        annotations::warn_unsupported(&mut ctx, w);
        if w.replicas == 0 {
            ctx.warn(w.obj, "spec.replicas", "replicas: 0, no pod is created");
        }
        for (i, name) in w.pod_names().into_iter().enumerate() {
            let replica = (w.replicas > 1).then_some(i);
            if let Some(other) = pods.iter().find(|p| p.name == name) {
                return Err(invalid(
                    w.obj,
                    "metadata.name",
                    format!(
                        "its pod would be named {name}, as the pod of {} is",
                        other.workload
                    ),
                ));
            }
            pods.push(pod_plan(&mut ctx, w, &name, replica, &auto_update)?);
        }
    }
    annotations::order(&mut pods, &workloads)?;
    apply_publish(&mut pods, &publish)?;
    if !opts.down {
        check_host_ports(&pods, &workloads)?;
    }
    set_aliases(&mut ctx, &mut pods, &workloads, &services);

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
        volumes: ctx.volumes,
        files: ctx.files,
        pods,
        exit_code_propagation: opts.exit_code_propagation,
        stop_timeout: opts.stop_timeout,
        warnings: ctx.warnings,
        host_paths: ctx.host_paths,
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

/// `--auto-update` values: one policy for all, and per-container ones.
#[derive(Debug, Default)]
pub(super) struct AutoUpdate {
    all: Option<String>,
    per_container: BTreeMap<String, String>,
}

pub(super) const AUTO_UPDATE_POLICIES: &[&str] = &["registry", "local", "disabled"];

impl AutoUpdate {
    fn parse(values: &[String]) -> Result<AutoUpdate, PlanError> {
        let mut au = AutoUpdate::default();
        for v in values {
            let (ctr, policy) = match v.rsplit_once('/') {
                Some((c, p)) => (Some(c), p),
                None => (None, v.as_str()),
            };
            if !AUTO_UPDATE_POLICIES.contains(&policy) {
                return Err(PlanError::Option {
                    option: "--auto-update",
                    value: v.clone(),
                    message: "the policy must be registry, local or disabled".into(),
                });
            }
            match ctr {
                Some(c) => {
                    au.per_container.insert(c.to_string(), policy.to_string());
                }
                None => au.all = Some(policy.to_string()),
            }
        }
        Ok(au)
    }

    /// Command line first (it is the unit's `AutoUpdate=`), then the per-container
    /// annotation, then the general one.
    pub(super) fn policy(&self, w: &Workload, ctr: &str) -> Option<String> {
        self.per_container
            .get(ctr)
            .or(self.all.as_ref())
            .cloned()
            .or_else(|| {
                w.annotation(&format!("{LABEL_AUTOUPDATE}/{ctr}"))
                    .or_else(|| w.annotation(LABEL_AUTOUPDATE))
                    .map(str::to_string)
            })
    }
}

fn pod_plan(
    ctx: &mut Ctx,
    w: &Workload,
    name: &str,
    replica: Option<usize>,
    auto_update: &AutoUpdate,
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
    // Init and app containers share one name space (`seen`) and everything pod-wide.
    let mut seen = BTreeSet::new();
    let mut plan_container = |c, path: &str| {
        container(
            ctx,
            w,
            name,
            c,
            path,
            &pod_volumes,
            &labels,
            auto_update,
            &mut seen,
        )
    };
    let mut init_containers = Vec::new();
    for (i, c) in spec.init_containers.iter().enumerate() {
        let path = w.path(&format!("initContainers[{i}]"));
        check_init(w, c, &path)?;
        let mut cp = plan_container(c, &path)?;
        cp.restart_policy = RestartPolicy::Never;
        init_containers.push(cp);
    }
    let mut containers = Vec::new();
    let mut ports = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let path = w.path(&format!("containers[{i}]"));
        let mut cp = plan_container(c, &path)?;
        cp.restart_policy = restart_policy;
        ports.extend(container_ports(w, c, &path, replica, down)?);
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
        labels,
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
    })
}

/// Podman names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn check_name(obj: &Object, field: &str, name: &str) -> Result<(), PlanError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            obj,
            field,
            format!("`{name}` is not a valid name (letters, digits, `_`, `.`, `-`; starting with a letter or digit)"),
        ))
    }
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
    let mut selected: BTreeSet<&str> = BTreeSet::new();
    for pod in pods.iter_mut() {
        let mut aliases = vec![pod.name.clone()];
        if let Some(w) = workloads.iter().find(|w| owns(w, pod)) {
            aliases.push(w.obj.name.clone());
            if let Some(extra) = w.annotation(super::ALIASES_ANNOTATION) {
                aliases.extend(super::annotations::extra_aliases(extra));
            }
        }
        if let Some(h) = &pod.hostname {
            aliases.push(h.clone());
        }
        for (obj, svc) in services {
            let sel = &svc.spec.selector;
            if !sel.is_empty() && sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v)) {
                aliases.push(obj.name.clone());
                selected.insert(obj.name.as_str());
            }
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
